import * as core from '@actions/core';
import { ConfigurationError, GuidedError } from './errors.js';
import { isLoopbackHost, readString } from './inputs.js';
import { registerSecret } from './mask.js';
import { HttpError, isTransientHttpError, retryAfterOf, withRetry, type RetryOptions } from './retry.js';

/**
 * A small client for the Prefect 3 REST API (the schema is ../shared/fixtures/prefect/openapi.json).
 * It is fetch-based and light, so an action may import it at the top level.
 *
 * Where the API lives (`prefect-api-url`, taken as given; paths are appended to it):
 * - Prefect Cloud: https://api.prefect.cloud/api/accounts/<account-id>/workspaces/<workspace-id>,
 *   with `Authorization: Bearer <api key>`;
 * - a self-hosted server: http(s)://<host>[:port][/prefix]/api, optionally behind the server's basic
 *   auth (PREFECT_SERVER_API_AUTH_STRING, sent as `Authorization: Basic base64(user:password)`).
 *
 * Usage:
 *   const prefect = new PrefectClient(readPrefectConnection({ required: true }));
 *   const pool = (await prefect.readWorkPool('bakery')) ?? (await prefect.createWorkPool({ name: 'bakery', type: 'kubernetes' }));
 *
 * Every call retries throttling (429, honouring Retry-After), 5xx hiccups, timeouts and dropped
 * connections; other refusals become a GuidedError that quotes Prefect's own `detail`.
 */

// ---------------------------------------------------------------------------------------------------
// Types, named after the schema's components (#/components/schemas/<Name>); only the fields we use or
// that help a reader, all optional where the schema makes them optional.

export type StateType = 'SCHEDULED' | 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'CRASHED' | 'PAUSED' | 'CANCELLING';

/** The state types a flow run never leaves. */
export const TERMINAL_STATE_TYPES: ReadonlySet<StateType> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED']);

export interface State {
  id: string;
  type: StateType;
  name?: string | null;
  timestamp?: string;
  message?: string | null;
  state_details?: { flow_run_id?: string | null; scheduled_time?: string | null; [key: string]: unknown };
}

export interface FlowCreate {
  name: string;
  tags?: string[];
  labels?: Record<string, string | number | boolean> | null;
}

export interface Flow extends FlowCreate {
  id: string;
  created: string | null;
  updated: string | null;
}

export interface CronSchedule {
  cron: string;
  timezone?: string | null;
  day_or?: boolean;
}

export interface DeploymentScheduleCreate {
  schedule: CronSchedule;
  active?: boolean;
  max_scheduled_runs?: number | null;
  parameters?: Record<string, unknown>;
  slug?: string | null;
}

export interface DeploymentCreate {
  name: string;
  flow_id: string;
  paused?: boolean;
  schedules?: DeploymentScheduleCreate[];
  enforce_parameter_schema?: boolean;
  parameter_openapi_schema?: Record<string, unknown> | null;
  parameters?: Record<string, unknown>;
  tags?: string[];
  labels?: Record<string, string | number | boolean> | null;
  pull_steps?: Record<string, unknown>[] | null;
  work_queue_name?: string | null;
  work_pool_name?: string | null;
  description?: string | null;
  path?: string | null;
  version?: string | null;
  entrypoint?: string | null;
  job_variables?: Record<string, unknown>;
}

export interface DeploymentResponse extends Omit<DeploymentCreate, 'schedules'> {
  id: string;
  created: string | null;
  updated: string | null;
  schedules?: ({ id: string; schedule: CronSchedule | Record<string, unknown>; active?: boolean } & Record<string, unknown>)[];
  status?: 'READY' | 'NOT_READY' | null;
}

export interface WorkPoolCreate {
  name: string;
  description?: string | null;
  /** `kubernetes` for the Bakery's worker; the server's default is `prefect-agent`. */
  type?: string;
  base_job_template?: Record<string, unknown>;
  is_paused?: boolean;
  concurrency_limit?: number | null;
}

/** WorkPoolUpdate in the schema: only the fields given change. */
export interface WorkPoolUpdate {
  description?: string | null;
  is_paused?: boolean | null;
  base_job_template?: Record<string, unknown> | null;
  concurrency_limit?: number | null;
}

export interface WorkPoolResponse {
  id: string;
  created: string | null;
  updated: string | null;
  name: string;
  type: string;
  description?: string | null;
  base_job_template?: Record<string, unknown>;
  is_paused?: boolean;
  concurrency_limit?: number | null;
  status?: 'READY' | 'NOT_READY' | 'PAUSED' | null;
  default_queue_id?: string | null;
}

export interface DeploymentFlowRunCreate {
  name?: string;
  parameters?: Record<string, unknown>;
  tags?: string[];
  /** The server returns the existing run for a key it has seen: makes a retried POST safe. */
  idempotency_key?: string | null;
  job_variables?: Record<string, unknown> | null;
}

export interface FlowRunResponse {
  id: string;
  created: string | null;
  updated: string | null;
  name?: string;
  flow_id: string;
  deployment_id?: string | null;
  parameters?: Record<string, unknown>;
  idempotency_key?: string | null;
  tags?: string[];
  state_type?: StateType | null;
  state_name?: string | null;
  state?: State | null;
  start_time?: string | null;
  end_time?: string | null;
  total_run_time?: number;
  work_pool_name?: string | null;
  infrastructure_pid?: string | null;
}

/** A refusal body: FastAPI's `{detail}` or Prefect's validation handler `{exception_message, exception_detail}`. */
interface PrefectErrorBody {
  detail?: unknown;
  exception_message?: string;
  exception_detail?: { loc?: (string | number)[]; msg?: string; type?: string }[];
}

// ---------------------------------------------------------------------------------------------------
// Where the API is and how to reach it.

export interface PrefectConnection {
  /** The API URL as given, without a trailing slash. */
  apiUrl: string;
  /** Prefect Cloud (`/api/accounts/<a>/workspaces/<w>`) or a self-hosted server (`…/api`). */
  kind: 'cloud' | 'server';
  accountId?: string;
  workspaceId?: string;
  /** Base of the web UI links (deployment and flow-run pages). */
  uiUrl: string;
  /** Prefect Cloud API key: sent as a Bearer token. */
  apiKey?: string;
  /** Self-hosted server basic auth `user:password` (PREFECT_SERVER_API_AUTH_STRING). */
  authString?: string;
}

const CLOUD_PATH = /^(.*)\/api\/accounts\/([0-9a-f-]{36})\/workspaces\/([0-9a-f-]{36})$/i;
const CLOUD_EXAMPLE = 'https://api.prefect.cloud/api/accounts/<account-id>/workspaces/<workspace-id>';
const SERVER_EXAMPLE = 'http://prefect-server.prefect.svc.cluster.local:4200/api';

/**
 * Parses and checks a Prefect API URL (and optional UI URL), and where the UI of that API is. Throws a
 * ConfigurationError naming `input` for anything that would make every later call fail.
 */
export function parsePrefectApiUrl(value: string, input = 'prefect-api-url', uiOverride?: string): Omit<PrefectConnection, 'apiKey' | 'authString'> {
  const shapes = `Set "${input}" to Prefect Cloud's ${CLOUD_EXAMPLE} (Prefect Cloud → your profile → API keys shows both ids) or a self-hosted server's URL ending in /api, e.g. ${SERVER_EXAMPLE}.`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(input, `is ${JSON.stringify(value)}, which is not a URL`, shapes);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigurationError(input, `uses ${url.protocol}, which is neither https: nor http:`, shapes);
  }
  if (url.username || url.password) {
    throw new ConfigurationError(input, 'holds a user name or password', `Remove them from the URL; pass a Prefect Cloud key in "prefect-api-key" or a server's basic auth in "prefect-api-auth-string", from secrets.`);
  }
  if (url.search || url.hash) {
    throw new ConfigurationError(input, `is ${JSON.stringify(value)}, which has a query or fragment`, shapes);
  }
  const path = url.pathname.replace(/\/+$/, '');
  const apiUrl = `${url.origin}${path}`;
  const cloud = CLOUD_PATH.exec(path);
  let result: Omit<PrefectConnection, 'apiKey' | 'authString'>;
  if (cloud) {
    // Prefect Cloud serves the UI from app.<domain> for api.<domain> (api.prefect.cloud → app.prefect.cloud).
    const uiHost = url.host.replace(/^api\./, 'app.');
    result = {
      apiUrl,
      kind: 'cloud',
      accountId: cloud[2]!.toLowerCase(),
      workspaceId: cloud[3]!.toLowerCase(),
      uiUrl: `${url.protocol}//${uiHost}${cloud[1]}/account/${cloud[2]!.toLowerCase()}/workspace/${cloud[3]!.toLowerCase()}`,
    };
  } else if (url.hostname === 'api.prefect.cloud') {
    throw new ConfigurationError(input, `is ${JSON.stringify(value)}: a Prefect Cloud URL must name the account and workspace`, shapes);
  } else if (path.endsWith('/api')) {
    result = { apiUrl, kind: 'server', uiUrl: `${url.origin}${path.slice(0, -'/api'.length)}` };
  } else {
    throw new ConfigurationError(input, `is ${JSON.stringify(value)}, whose path ends neither in /api nor in /api/accounts/<id>/workspaces/<id>`, shapes);
  }
  if (uiOverride) {
    try {
      const ui = new URL(uiOverride);
      if (ui.protocol !== 'https:' && ui.protocol !== 'http:') throw new Error('scheme');
    } catch {
      throw new ConfigurationError('prefect-ui-url', `is ${JSON.stringify(uiOverride)}, which is not an http(s) URL`, 'Set "prefect-ui-url" to the address you open the Prefect UI at, e.g. https://prefect.example.org, or leave it empty.');
    }
    result.uiUrl = uiOverride.replace(/\/+$/, '');
  }
  return result;
}

/**
 * Reads `prefect-api-url`, `prefect-api-key`, `prefect-api-auth-string` and `prefect-ui-url` (the
 * shared contract of setup-agent and register-flow). The key and auth string are masked on read.
 */
export function readPrefectConnection(rule: { required: boolean }): PrefectConnection | undefined {
  const apiUrlValue = readString('prefect-api-url', {
    required: rule.required,
    expected: 'the Prefect API URL (Prefect Cloud or a self-hosted server ending in /api)',
    example: CLOUD_EXAMPLE,
  });
  const apiKey = readString('prefect-api-key', { secret: true, expected: 'a Prefect Cloud API key (pnu_… or pnb_…) from a secret' });
  const authString = readString('prefect-api-auth-string', { secret: true, expected: 'the server\'s basic auth "user:password" from a secret' });
  const uiOverride = readString('prefect-ui-url');
  if (!apiUrlValue) return undefined;
  const parsed = parsePrefectApiUrl(apiUrlValue, 'prefect-api-url', uiOverride);
  if (apiKey && authString) {
    throw new ConfigurationError('prefect-api-auth-string', 'is set together with "prefect-api-key"; Prefect accepts one Authorization header', 'Keep "prefect-api-key" for Prefect Cloud or "prefect-api-auth-string" for a self-hosted server with basic auth.');
  }
  if (parsed.kind === 'cloud' && !apiKey) {
    throw new ConfigurationError('prefect-api-key', 'is empty, but Prefect Cloud refuses calls without an API key', 'Create a service account key in Prefect Cloud, store it as a secret, and pass it as "prefect-api-key".');
  }
  if (authString && !authString.includes(':')) {
    throw new ConfigurationError('prefect-api-auth-string', 'holds no ":"; the server expects "user:password"', 'Set it to the same value as the server\'s PREFECT_SERVER_API_AUTH_STRING.');
  }
  const url = new URL(parsed.apiUrl);
  if ((apiKey || authString) && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigurationError('prefect-api-url', `is plain http:// to ${url.hostname}, which would send the credential unencrypted`, 'Serve the Prefect API over https:// (or reach it through a loopback port-forward).');
  }
  return { ...parsed, apiKey, authString };
}

/** Prefect's rule for flow, work pool and deployment names (FlowCreate.name, WorkPoolCreate.name in the schema). */
export const PREFECT_NAME_PATTERN = /^[^/%&><]+$/;

/** `work-pool`: setup-agent's (which creates it) and register-flow's (which deploys to it). */
export function readWorkPool(rule: { required: true } | { default: string }): string {
  const name = { pattern: PREFECT_NAME_PATTERN, maxLength: 100, expected: 'a Prefect work pool name (no / % & > <)', example: 'bakery' };
  return 'default' in rule ? readString('work-pool', { ...name, default: rule.default }) : readString('work-pool', { ...name, required: true });
}

/** The UI page of a deployment / flow run. */
export function deploymentUrl(connection: Pick<PrefectConnection, 'uiUrl'>, deploymentId: string): string {
  return `${connection.uiUrl}/deployments/deployment/${deploymentId}`;
}

export function flowRunUrl(connection: Pick<PrefectConnection, 'uiUrl'>, flowRunId: string): string {
  return `${connection.uiUrl}/runs/flow-run/${flowRunId}`;
}

// ---------------------------------------------------------------------------------------------------
// The client.

export interface PrefectClientOptions {
  /** Total attempts per call (first included). Default 6 — about a minute of backoff. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-request timeout. Default 30 s. */
  requestTimeoutMs?: number;
  sleep?: RetryOptions['sleep'];
}

interface Answer<T> {
  status: number;
  body: T;
}

/** A timed-out fetch (AbortSignal.timeout) is as worth retrying as a dropped connection. */
function isRetryable(error: unknown): boolean {
  return isTransientHttpError(error) || (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'));
}

export class PrefectClient {
  private readonly authorization?: string;

  constructor(
    readonly connection: PrefectConnection,
    private readonly options: PrefectClientOptions = {},
  ) {
    registerSecret(connection.apiKey);
    registerSecret(connection.authString);
    if (connection.apiKey) this.authorization = `Bearer ${connection.apiKey}`;
    else if (connection.authString) {
      const basic = Buffer.from(connection.authString).toString('base64');
      registerSecret(basic);
      this.authorization = `Basic ${basic}`;
    }
  }

  /** GET /work_pools/{name}; `undefined` when there is no such pool (404). */
  async readWorkPool(name: string): Promise<WorkPoolResponse | undefined> {
    const answer = await this.call<WorkPoolResponse>('GET', `/work_pools/${encodeURIComponent(name)}`, undefined, { notFound: 'undefined' });
    return answer?.body;
  }

  /**
   * POST /work_pools/ (201). Throws a GuidedError when the pool exists (409) — read it first — or the
   * name starts with "prefect" (403, reserved).
   */
  async createWorkPool(pool: WorkPoolCreate): Promise<WorkPoolResponse> {
    return (await this.call<WorkPoolResponse>('POST', '/work_pools/', pool))!.body;
  }

  /** PATCH /work_pools/{name} (204): changes the fields given; 404 when there is no such pool. */
  async updateWorkPool(name: string, update: WorkPoolUpdate): Promise<void> {
    await this.call<undefined>('PATCH', `/work_pools/${encodeURIComponent(name)}`, update);
  }

  /** POST /flows/: creates the flow, or returns the existing one of the same name. */
  async createFlow(flow: FlowCreate): Promise<Flow & { wasCreated: boolean }> {
    const answer = (await this.call<Flow>('POST', '/flows/', flow))!;
    return { ...answer.body, wasCreated: answer.status === 201 };
  }

  /** POST /deployments/: creates it, or updates the deployment of the same flow_id and name. */
  async createDeployment(deployment: DeploymentCreate): Promise<DeploymentResponse & { wasCreated: boolean }> {
    const answer = (await this.call<DeploymentResponse>('POST', '/deployments/', deployment))!;
    return { ...answer.body, wasCreated: answer.status === 201 };
  }

  async readDeployment(id: string): Promise<DeploymentResponse | undefined> {
    return (await this.call<DeploymentResponse>('GET', `/deployments/${encodeURIComponent(id)}`, undefined, { notFound: 'undefined' }))?.body;
  }

  /** POST /deployments/{id}/create_flow_run. Pass an idempotency_key so a retried call makes one run. */
  async createFlowRunFromDeployment(deploymentId: string, flowRun: DeploymentFlowRunCreate): Promise<FlowRunResponse> {
    return (await this.call<FlowRunResponse>('POST', `/deployments/${encodeURIComponent(deploymentId)}/create_flow_run`, flowRun))!.body;
  }

  async readFlowRun(id: string): Promise<FlowRunResponse> {
    return (await this.call<FlowRunResponse>('GET', `/flow_runs/${encodeURIComponent(id)}`))!.body;
  }

  private async call<T>(method: string, path: string, body?: unknown, rule: { notFound?: 'undefined' } = {}): Promise<Answer<T> | undefined> {
    const url = `${this.connection.apiUrl}${path}`;
    try {
      return await withRetry(() => this.send<T>(method, url, body), {
        attempts: this.options.attempts ?? 6,
        baseDelayMs: this.options.baseDelayMs ?? 1000,
        maxDelayMs: this.options.maxDelayMs ?? 30_000,
        sleep: this.options.sleep,
        isRetryable,
        retryAfterMs: retryAfterOf,
        onRetry: ({ attempt, delayMs, error }) => {
          const why = error instanceof HttpError ? `answered ${error.status}` : `failed (${error instanceof Error ? error.message : String(error)})`;
          core.info(`Prefect ${why} to ${method} ${path}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${this.options.attempts ?? 6}).`);
        },
      });
    } catch (error) {
      if (error instanceof HttpError && error.status === 404 && rule.notFound === 'undefined') return undefined;
      throw this.explain(method, path, error);
    }
  }

  private async send<T>(method: string, url: string, body: unknown): Promise<Answer<T>> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'azure-bakery-actions' };
    if (this.authorization) headers.authorization = this.authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
    });
    const text = await response.text();
    if (!response.ok) throw new HttpError(method, url, response.status, text, response.headers.get('retry-after'));
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // An HTML page with 200 is a UI or a proxy, not the API: the URL is missing /api or points elsewhere.
      throw new GuidedError(
        `${method} ${url} answered ${response.status} with something that is not JSON (${text.slice(0, 80).replace(/\s+/g, ' ')}…)`,
        'Check "prefect-api-url": it must be the API (ending in /api, or Prefect Cloud\'s /api/accounts/<id>/workspaces/<id>), not the UI.',
      );
    }
    return { status: response.status, body: parsed as T };
  }

  /** Turns a final failure into a message that says what Prefect said and what to do. */
  private explain(method: string, path: string, error: unknown): unknown {
    if (!(error instanceof HttpError)) {
      if (error instanceof GuidedError) return error;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return new GuidedError(
        `Could not reach the Prefect API for ${method} ${path} (${cause ?? (error instanceof Error ? error.message : String(error))})`,
        `Check that "prefect-api-url" (${this.connection.apiUrl}) is reachable from this runner.`,
      );
    }
    const said = prefectDetail(error.body);
    const what = `Prefect answered ${error.status} to ${method} ${path}${said ? `: ${said}` : ''}`;
    switch (error.status) {
      case 401:
        return new GuidedError(what, this.connection.kind === 'cloud'
          ? 'Prefect Cloud did not accept "prefect-api-key": check that the key is current and not expired.'
          : 'The server wants credentials: pass its basic auth "user:password" in "prefect-api-auth-string".');
      case 403:
        return new GuidedError(what, 'The credential is valid but not allowed this: give the key\'s service account the Developer (or higher) role in this workspace.');
      case 404:
        return new GuidedError(what, `Check "prefect-api-url" (${this.connection.apiUrl}) and that the object named exists in this workspace.`);
      case 409:
        return new GuidedError(what, 'The object exists or conflicts with another; read it or change the name.');
      case 422:
        return new GuidedError(what, 'Prefect refused the request\'s shape: this points to a Prefect server version this action does not know; please report it with the message above.');
      default:
        return new GuidedError(what, 'Prefect kept failing after retries; see https://status.prefect.io for Prefect Cloud, or the server\'s logs.');
    }
  }
}

/** Prefect's words from an error body, compact enough for one log line. */
export function prefectDetail(text: string): string {
  let body: PrefectErrorBody;
  try {
    body = JSON.parse(text) as PrefectErrorBody;
  } catch {
    return text.slice(0, 300);
  }
  if (body.exception_detail?.length) {
    const problems = body.exception_detail.map((d) => `${(d.loc ?? []).join('.')}: ${d.msg ?? d.type ?? ''}`);
    return `${body.exception_message ?? 'Invalid request'} ${problems.join('; ')}`;
  }
  if (typeof body.detail === 'string') return body.detail;
  return body.detail !== undefined ? JSON.stringify(body.detail).slice(0, 300) : text.slice(0, 300);
}
