import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { FIXTURES_DIR } from './azure-stand-in.js';
import { closeServer, listenOnLoopback, readRequestText } from './local-server.js';
import { testTlsOptions } from './tls.js';
import { defaultKubernetesBaseJobTemplate } from '../../src/lib/prefect-kubernetes-template.js';

/**
 * A Prefect 3 API stand-in that checks what our client sends against the real schema
 * (../shared/fixtures/prefect/openapi.json, read once per test process, never copied):
 *
 * - every request is matched to its OpenAPI operation; path parameters and the JSON body are validated
 *   against the operation's own schemas (resolved from the document, not hard-coded), and a violation
 *   answers 422 in the shape Prefect's server really uses (`exception_message`, `exception_detail`
 *   with pydantic-style `loc`/`msg`/`type`, `request_body`);
 * - every answer we make is validated against the operation's response schema too; a mismatch (or an
 *   operation the stand-in does not implement) is recorded in `problems` — tests assert it stays empty;
 * - it keeps flows, deployments, work pools and flow runs, and behaves like the server: flow upsert by
 *   name (201 new / 200 existing), deployment upsert by (flow_id, name), 404 `Work pool "x" not found.`,
 *   409 for a duplicate work pool, 403 for pools named prefect*, create_flow_run with idempotency_key,
 *   and flow runs whose state advances one step per GET /flow_runs/{id} through `runScript`;
 * - `failNext()` scripts 429 (with Retry-After) / 503 answers before the real one.
 *
 * Use:
 *   const prefect = await startPrefectApi();                 // self-hosted: http://127.0.0.1:<port>/api
 *   const cloud = await startPrefectApi({ cloud: { apiKey: 'pnu_…' } }); // https://…/api/accounts/<a>/workspaces/<w>
 *   prefect.addWorkPool('bakery');                           // what setup-agent would have made
 *   prefect.failNext({ method: 'POST', path: '/flows/' }, [{ status: 429, retryAfter: '0' }, { status: 503 }]);
 *   prefect.runScript = [{ type: 'RUNNING' }, { type: 'FAILED', message: 'Flow run encountered an exception' }];
 *   …; expect(prefect.problems).toEqual([]); await prefect.stop();
 */

export const PREFECT_OPENAPI_PATH = path.join(FIXTURES_DIR, 'prefect', 'openapi.json');

type StateType = 'SCHEDULED' | 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'CRASHED' | 'PAUSED' | 'CANCELLING';
const TERMINAL: ReadonlySet<StateType> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED']);

export interface ScriptedState {
  type: StateType;
  /** Defaults to the type's display name (Running, Failed, …), as Prefect names them. */
  name?: string;
  message?: string;
}

export interface PrefectRequest {
  method: string;
  /** Path below the API root, e.g. `/deployments/` (what the OpenAPI document calls it). */
  path: string;
  operationId?: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** What the stand-in answered. */
  status: number;
}

export interface ScriptedAnswer {
  status: number;
  retryAfter?: string;
  body?: unknown;
}

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  paramNames: string[];
  operationId: string;
  spec: OpenApiOperation;
}

interface OpenApiOperation {
  operationId: string;
  parameters?: { name: string; in: string; required?: boolean; schema: Record<string, unknown> }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: Record<string, unknown>;
}

/** The schema, its compiled validators and the route table: built once per test process. */
class PrefectSchema {
  private static instance?: PrefectSchema;
  readonly operations: Operation[] = [];
  private readonly ajv: InstanceType<typeof Ajv2020.default>;
  private readonly compiled = new Map<string, ValidateFunction>();

  static load(): PrefectSchema {
    PrefectSchema.instance ??= new PrefectSchema(JSON.parse(readFileSync(PREFECT_OPENAPI_PATH, 'utf8')) as OpenApiDocument);
    return PrefectSchema.instance;
  }

  private constructor(document: OpenApiDocument) {
    // OpenAPI 3.1 schemas are JSON Schema 2020-12; `strict: false` lets through OpenAPI's own keywords
    // (discriminator, examples…), which do not constrain values.
    this.ajv = new Ajv2020.default({ strict: false, allErrors: true });
    addFormats.default(this.ajv);
    this.ajv.addSchema({ $id: 'prefect', components: document.components });
    for (const [template, methods] of Object.entries(document.paths)) {
      const paramNames: string[] = [];
      const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, name: string) => {
        paramNames.push(name);
        return '([^/]+)';
      });
      for (const [method, spec] of Object.entries(methods)) {
        this.operations.push({ method: method.toUpperCase(), template, pattern: new RegExp(`^${source}$`), paramNames, operationId: spec.operationId, spec });
      }
    }
    // A literal segment wins over a parameter (`/flows/filter` before `/flows/{id}`), as in FastAPI's
    // routing order for these routes.
    this.operations.sort((a, b) => a.paramNames.length - b.paramNames.length);
  }

  validator(schema: Record<string, unknown>): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      // `#/components/...` refs in the document resolve against the `prefect` schema added above.
      const rebased = JSON.parse(key.replace(/"#\/components\//g, '"prefect#/components/')) as Record<string, unknown>;
      validate = this.ajv.compile(rebased);
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

/** A pydantic v2 style error item, as Prefect's 422 `exception_detail` lists them. */
interface ValidationItem {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
}

function pointerToLoc(pointer: string): (string | number)[] {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

const TYPE_ERRORS: Record<string, [string, string]> = {
  string: ['string_type', 'Input should be a valid string'],
  object: ['dict_type', 'Input should be a valid dictionary'],
  array: ['list_type', 'Input should be a valid list'],
  integer: ['int_type', 'Input should be a valid integer'],
  number: ['float_type', 'Input should be a valid number'],
  boolean: ['bool_type', 'Input should be a valid boolean'],
  null: ['none_required', 'Input should be None'],
};

/** Maps ajv's errors to the pydantic vocabulary Prefect answers with. */
function toValidationItems(errors: ErrorObject[], root: (string | number)[]): ValidationItem[] {
  const items = new Map<string, ValidationItem>();
  for (const error of errors) {
    const loc = [...root, ...pointerToLoc(error.instancePath)];
    let item: ValidationItem;
    switch (error.keyword) {
      case 'required':
        item = { type: 'missing', loc: [...loc, (error.params as { missingProperty: string }).missingProperty], msg: 'Field required' };
        break;
      case 'additionalProperties':
        item = { type: 'extra_forbidden', loc: [...loc, (error.params as { additionalProperty: string }).additionalProperty], msg: 'Extra inputs are not permitted' };
        break;
      case 'type': {
        const [type, msg] = TYPE_ERRORS[String((error.params as { type: string }).type).split(',')[0]!] ?? ['type_error', error.message ?? 'Invalid type'];
        item = { type, loc, msg };
        break;
      }
      case 'format':
        item = (error.params as { format: string }).format === 'uuid'
          ? { type: 'uuid_parsing', loc, msg: 'Input should be a valid UUID' }
          : { type: `${(error.params as { format: string }).format}_parsing`, loc, msg: `Input should be a valid ${(error.params as { format: string }).format}` };
        break;
      case 'pattern':
        item = { type: 'string_pattern_mismatch', loc, msg: `String should match pattern '${(error.params as { pattern: string }).pattern}'` };
        break;
      case 'enum':
        item = { type: 'enum', loc, msg: `Input should be ${((error.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => `'${String(v)}'`).join(', ')}` };
        break;
      case 'anyOf':
      case 'oneOf':
        continue; // the branch errors already say what is wrong
      default:
        item = { type: 'value_error', loc, msg: error.message ?? error.keyword };
    }
    items.set(JSON.stringify([item.type, item.loc]), item);
  }
  return [...items.values()];
}

/**
 * The server's check of a base job template (validate_base_job_template in prefect/server/schemas/
 * core.py): {} is fine; otherwise it needs job_configuration and variables, and every {{ name }}
 * placeholder in job_configuration must be a property of variables (prefect.* placeholders, blocks
 * and variables, are resolved elsewhere). A violation is a 422.
 */
function baseJobTemplateProblem(template: unknown): ScriptedAnswer | undefined {
  if (template === undefined || template === null) return undefined;
  const fields = template as Record<string, unknown>;
  if (Object.keys(fields).length === 0) return undefined;
  const fail = (msg: string): ScriptedAnswer => ({
    status: 422,
    body: { exception_message: 'Invalid request received.', exception_detail: [{ type: 'value_error', loc: ['body', 'base_job_template'], msg: `Value error, ${msg}` }], request_body: null },
  });
  const jobConfiguration = fields.job_configuration as Record<string, unknown> | undefined;
  const variables = fields.variables as { properties?: Record<string, unknown> } | undefined;
  if (!jobConfiguration || !variables) return fail('The `base_job_template` must contain both a `job_configuration` key and a `variables` key.');
  const used = new Set<string>();
  for (const value of Object.values(jobConfiguration)) {
    for (const match of JSON.stringify(value).matchAll(/\{\{\s*([\w.-]+)\s*\}\}/g)) if (!match[1]!.startsWith('prefect.')) used.add(match[1]!);
  }
  const missing = [...used].filter((name) => !(name in (variables.properties ?? {})));
  return missing.length ? fail(`The variables specified in the job configuration template must be present as properties in the variables schema. Your job configuration uses the following undeclared variable(s): ${missing.join(' ,')}.`) : undefined;
}

function stateName(type: StateType): string {
  return type.charAt(0) + type.slice(1).toLowerCase();
}

const ADJECTIVES = ['amber', 'brisk', 'cobalt', 'dapper', 'eager', 'fuzzy', 'gentle', 'hazel'];
const ANIMALS = ['otter', 'heron', 'lynx', 'marmot', 'puffin', 'quokka', 'stoat', 'walrus'];

interface StoredFlowRun {
  run: Record<string, unknown>;
  script: ScriptedState[];
  /** GETs answered so far. */
  reads: number;
}

export interface PrefectStandInOptions {
  /** Serve Prefect Cloud's URL shape over HTTPS and demand `Authorization: Bearer <apiKey>`. */
  cloud?: { apiKey: string; accountId?: string; workspaceId?: string };
  /** A self-hosted server with basic auth (PREFECT_SERVER_API_AUTH_STRING = "user:password"). */
  authString?: string;
}

export class PrefectStandIn {
  readonly requests: PrefectRequest[] = [];
  /** Our own schema violations and unimplemented operations; a test expects this to stay empty. */
  readonly problems: string[] = [];
  readonly flows = new Map<string, Record<string, unknown>>();
  readonly deployments = new Map<string, Record<string, unknown>>();
  readonly workPools = new Map<string, Record<string, unknown>>();
  readonly flowRuns = new Map<string, StoredFlowRun>();
  /** States a flow run created from now on goes through, one per GET after it was SCHEDULED. */
  runScript: ScriptedState[] = [{ type: 'PENDING' }, { type: 'RUNNING' }, { type: 'COMPLETED', message: 'All states completed.' }];
  /** GETs of a flow run per scripted state (more than 1 makes a run linger in each state). */
  readsPerState = 1;
  apiUrl = '';
  readonly accountId: string;
  readonly workspaceId: string;
  private readonly schema = PrefectSchema.load();
  private readonly scripted: { method?: string; path: string | RegExp; answers: ScriptedAnswer[] }[] = [];
  private server?: Server;
  private basePath = '/api';

  constructor(private readonly options: PrefectStandInOptions = {}) {
    this.accountId = options.cloud?.accountId ?? randomUUID();
    this.workspaceId = options.cloud?.workspaceId ?? randomUUID();
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    this.server = this.options.cloud ? createHttpsServer(testTlsOptions(), handler) : createHttpServer(handler);
    const origin = await listenOnLoopback(this.server);
    if (this.options.cloud) this.basePath = `/api/accounts/${this.accountId}/workspaces/${this.workspaceId}`;
    this.apiUrl = `${origin}${this.basePath}`;
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  /** The next requests matching `match` get these answers, in order, before the real behaviour resumes. */
  failNext(match: { method?: string; path: string | RegExp }, answers: ScriptedAnswer[]): this {
    this.scripted.push({ method: match.method?.toUpperCase(), path: match.path, answers: [...answers] });
    return this;
  }

  /** A work pool as `prefect work-pool create --type kubernetes` (or setup-agent) leaves it. */
  addWorkPool(name: string, type = 'kubernetes', baseJobTemplate: Record<string, unknown> = {}): Record<string, unknown> {
    const now = new Date().toISOString();
    const pool = {
      id: randomUUID(), created: now, updated: now, name, description: null, type, base_job_template: baseJobTemplate,
      is_paused: false, concurrency_limit: null, status: 'NOT_READY', default_queue_id: randomUUID(),
      storage_configuration: { bundle_upload_step: null, bundle_execution_step: null, default_result_storage_block_id: null },
    };
    this.workPools.set(name, pool);
    return pool;
  }

  /**
   * What a Prefect worker does on its first start (BaseWorker in prefect/workers/base.py): a pool whose
   * base_job_template is empty gets the worker type's default, for kubernetes the one Prefect publishes
   * (src/lib/prefect-kubernetes-template.ts). The server itself stores a pool created without a
   * template as {} (prefect/server/api/workers.py create_work_pool), as this stand-in does.
   */
  workerStarted(name: string): Record<string, unknown> {
    const pool = this.workPools.get(name);
    if (!pool) throw new Error(`stand-in: no work pool ${name}`);
    const template = pool.base_job_template as Record<string, unknown>;
    if (Object.keys(template).length === 0 && pool.type === 'kubernetes') pool.base_job_template = defaultKubernetesBaseJobTemplate();
    return pool;
  }

  /** Requests for one operation (by operationId fragment or `METHOD /path` template). */
  calls(operation: string): PrefectRequest[] {
    return this.requests.filter((r) => r.operationId?.includes(operation) || `${r.method} ${r.path}` === operation);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readRequestText(req);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const relative = url.pathname.startsWith(this.basePath) ? url.pathname.slice(this.basePath.length) || '/' : undefined;
    const record: PrefectRequest = { method, path: relative ?? url.pathname, headers: req.headers, body: undefined, status: 0 };
    this.requests.push(record);
    const answer = await this.respond(record, rawBody, relative).catch((error: unknown) => {
      this.problems.push(`stand-in failure on ${method} ${url.pathname}: ${String(error)}`);
      return { status: 500, body: { exception_message: 'Internal Server Error' } } as ScriptedAnswer;
    });
    record.status = answer.status;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (answer.retryAfter !== undefined) headers['retry-after'] = answer.retryAfter;
    res.writeHead(answer.status, headers);
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  }

  private async respond(record: PrefectRequest, rawBody: string, relative: string | undefined): Promise<ScriptedAnswer> {
    if (relative === undefined) return { status: 404, body: { detail: 'Not Found' } };
    const denied = this.checkAuth(record.headers.authorization);
    if (denied) return denied;

    const candidates = this.schema.operations.filter((op) => op.pattern.test(relative));
    if (candidates.length === 0) return { status: 404, body: { detail: 'Not Found' } };
    const operation = candidates.find((op) => op.method === record.method);
    if (!operation) return { status: 405, body: { detail: 'Method Not Allowed' } };
    record.operationId = operation.operationId;
    record.path = operation.template;
    const params = Object.fromEntries(operation.paramNames.map((name, i) => [name, decodeURIComponent(operation.pattern.exec(relative)![i + 1]!)]));

    const scripted = this.scripted.find((s) => s.answers.length > 0 && (!s.method || s.method === record.method) && (typeof s.path === 'string' ? s.path === relative || s.path === operation.template : s.path.test(relative)));
    if (scripted) {
      const answer = scripted.answers.shift()!;
      return { body: answer.status === 429 ? { detail: 'Rate limit exceeded' } : { detail: 'Service Unavailable' }, ...answer };
    }

    // Validate path parameters and body against the operation's schemas, as FastAPI would.
    let body: unknown;
    const errors: ValidationItem[] = [];
    for (const parameter of operation.spec.parameters ?? []) {
      if (parameter.in !== 'path') continue;
      const validate = this.schema.validator(parameter.schema);
      if (!validate(params[parameter.name])) errors.push(...toValidationItems(validate.errors ?? [], ['path', parameter.name]));
    }
    const bodySchema = operation.spec.requestBody?.content['application/json']?.schema;
    if (bodySchema) {
      if (!rawBody) {
        if (operation.spec.requestBody?.required) errors.push({ type: 'missing', loc: ['body'], msg: 'Field required', input: null });
      } else if (!String(record.headers['content-type'] ?? '').includes('application/json')) {
        errors.push({ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: rawBody });
      } else {
        try {
          body = JSON.parse(rawBody);
        } catch (error) {
          errors.push({ type: 'json_invalid', loc: ['body', 0], msg: `JSON decode error: ${String(error)}`, input: {} });
        }
        if (body !== undefined) {
          const validate = this.schema.validator(bodySchema);
          if (!validate(body)) errors.push(...toValidationItems(validate.errors ?? [], ['body']));
        }
      }
    }
    record.body = body;
    if (errors.length > 0) {
      return { status: 422, body: { exception_message: 'Invalid request received.', exception_detail: errors, request_body: body ?? null } };
    }

    const answer = this.implement(operation.operationId, params, body as Record<string, unknown>);
    this.checkResponse(operation, answer);
    return answer;
  }

  private checkAuth(authorization: string | undefined): ScriptedAnswer | undefined {
    if (this.options.cloud && authorization !== `Bearer ${this.options.cloud.apiKey}`) {
      return { status: 401, body: { detail: 'Unauthorized' } };
    }
    if (this.options.authString && authorization !== `Basic ${Buffer.from(this.options.authString).toString('base64')}`) {
      return { status: 401, body: { exception_message: 'Unauthorized' } };
    }
    return undefined;
  }

  private checkResponse(operation: Operation, answer: ScriptedAnswer): void {
    if (answer.status >= 300) return;
    // FastAPI documents the route's default status; Prefect's upserts answer 201 for a new object.
    const documented = operation.spec.responses[String(answer.status)] ?? operation.spec.responses['200'] ?? operation.spec.responses['201'];
    const schema = documented?.content?.['application/json']?.schema;
    if (!schema) return;
    const validate = this.schema.validator(schema);
    if (!validate(answer.body)) {
      this.problems.push(`response of ${operation.operationId} breaks the schema: ${this.schemaErrors(validate)}`);
    }
  }

  private schemaErrors(validate: ValidateFunction): string {
    return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
  }

  private implement(operationId: string, params: Record<string, string>, body: Record<string, unknown>): ScriptedAnswer {
    const now = new Date().toISOString();
    switch (operationId) {
      case 'health_check_health_get':
        return { status: 200, body: true };
      case 'create_flow_flows__post': {
        const existing = [...this.flows.values()].find((f) => f.name === body.name);
        if (existing) return { status: 200, body: existing };
        const flow = { id: randomUUID(), created: now, updated: now, name: body.name, tags: body.tags ?? [], labels: body.labels ?? {} };
        this.flows.set(flow.id, flow);
        return { status: 201, body: flow };
      }
      case 'read_flow_flows__id__get': {
        const flow = this.flows.get(params.id!);
        return flow ? { status: 200, body: flow } : { status: 404, body: { detail: 'Flow not found' } };
      }
      case 'create_work_pool_work_pools__post': {
        const name = String(body.name);
        if (name.toLowerCase().startsWith('prefect')) return { status: 403, body: { detail: "Work pools starting with 'Prefect' are reserved for internal use." } };
        if (this.workPools.has(name)) return { status: 409, body: { detail: 'A work pool with this name already exists.' } };
        const invalid = baseJobTemplateProblem(body.base_job_template);
        if (invalid) return invalid;
        const pool = this.addWorkPool(name, String(body.type ?? 'prefect-agent'), (body.base_job_template as Record<string, unknown>) ?? {});
        Object.assign(pool, { description: body.description ?? null, is_paused: body.is_paused ?? false, concurrency_limit: body.concurrency_limit ?? null });
        return { status: 201, body: pool };
      }
      case 'read_work_pool_work_pools__name__get': {
        const pool = this.workPools.get(params.name!);
        return pool ? { status: 200, body: pool } : { status: 404, body: { detail: `Work pool "${params.name}" not found.` } };
      }
      case 'update_work_pool_work_pools__name__patch': {
        const pool = this.workPools.get(params.name!);
        if (!pool) return { status: 404, body: { detail: `Work pool "${params.name}" not found.` } };
        const invalid = baseJobTemplateProblem(body.base_job_template);
        if (invalid) return invalid;
        // WorkPoolUpdate: only the fields sent change (exclude_unset on the server).
        for (const field of ['description', 'is_paused', 'base_job_template', 'concurrency_limit']) if (field in body) pool[field] = body[field];
        pool.updated = now;
        return { status: 204 };
      }
      case 'create_deployment_deployments__post':
        return this.upsertDeployment(body, now);
      case 'read_deployment_deployments__id__get': {
        const deployment = this.deployments.get(params.id!);
        return deployment ? { status: 200, body: deployment } : { status: 404, body: { detail: 'Deployment not found' } };
      }
      case 'create_flow_run_from_deployment_deployments__id__create_flow_run_post':
        return this.createFlowRun(params.id!, body, now);
      case 'read_flow_run_flow_runs__id__get':
        return this.readFlowRun(params.id!);
      default:
        this.problems.push(`the stand-in does not implement ${operationId}`);
        return { status: 501, body: { detail: `stand-in: ${operationId} is not implemented` } };
    }
  }

  private upsertDeployment(body: Record<string, unknown>, now: string): ScriptedAnswer {
    const poolName = body.work_pool_name as string | null | undefined;
    if (poolName && !this.workPools.has(poolName)) return { status: 404, body: { detail: `Work pool "${poolName}" not found.` } };
    if (!this.flows.has(String(body.flow_id))) {
      // The server's foreign key on flow_id, reported by its integrity handler.
      return { status: 409, body: { detail: 'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.' } };
    }
    const existing = [...this.deployments.values()].find((d) => d.flow_id === body.flow_id && d.name === body.name);
    const schedules = ((body.schedules as Record<string, unknown>[] | undefined) ?? []).map((s) => ({
      id: randomUUID(), created: now, updated: now, deployment_id: existing?.id ?? null, active: true, max_scheduled_runs: null, parameters: {}, slug: null, ...s,
    }));
    const pool = poolName ? this.workPools.get(poolName) : undefined;
    const fields = {
      version: null, description: null, paused: false, concurrency_limit: null, global_concurrency_limit: null, concurrency_options: null,
      job_variables: {}, parameters: {}, tags: [], labels: {}, work_queue_name: pool ? 'default' : null, work_queue_id: pool?.default_queue_id ?? null,
      last_polled: null, parameter_openapi_schema: null, path: null, pull_steps: null, entrypoint: null, storage_document_id: null,
      infrastructure_document_id: null, created_by: null, updated_by: null, work_pool_name: poolName ?? null, status: 'NOT_READY', enforce_parameter_schema: true,
      ...body,
    };
    if (existing) {
      Object.assign(existing, fields, { schedules: schedules.map((s) => ({ ...s, deployment_id: existing.id })), updated: now });
      return { status: 200, body: existing };
    }
    const id = randomUUID();
    const deployment = { ...fields, id, created: now, updated: now, schedules: schedules.map((s) => ({ ...s, deployment_id: id })) };
    this.deployments.set(id, deployment);
    return { status: 201, body: deployment };
  }

  private createFlowRun(deploymentId: string, body: Record<string, unknown>, now: string): ScriptedAnswer {
    const deployment = this.deployments.get(deploymentId);
    if (!deployment) return { status: 404, body: { detail: 'Deployment not found' } };
    const key = body.idempotency_key as string | undefined;
    const same = key ? [...this.flowRuns.values()].find((r) => r.run.deployment_id === deploymentId && r.run.idempotency_key === key) : undefined;
    if (same) return { status: 200, body: same.run };
    const id = randomUUID();
    const name = String(body.name ?? `${ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)]}-${ANIMALS[Math.floor(Math.random() * ANIMALS.length)]}`);
    const state = this.state('SCHEDULED', id, now, undefined, undefined);
    const run: Record<string, unknown> = {
      id, created: now, updated: now, name, flow_id: deployment.flow_id, state_id: state.id, deployment_id: deploymentId, deployment_version: deployment.version ?? null,
      work_queue_id: deployment.work_queue_id ?? null, work_queue_name: deployment.work_queue_name ?? null, flow_version: null,
      parameters: { ...(deployment.parameters as object), ...((body.parameters as object) ?? {}) }, idempotency_key: key ?? null, context: {},
      empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retries: null, retry_delay: null, pause_keys: [], resuming: false, retry_type: null },
      tags: [...((deployment.tags as string[]) ?? []), ...((body.tags as string[]) ?? [])], labels: {}, parent_task_run_id: null,
      state_type: 'SCHEDULED', state_name: 'Scheduled', run_count: 0, expected_start_time: now, next_scheduled_start_time: now, start_time: null, end_time: null,
      total_run_time: 0, estimated_run_time: 0, estimated_start_time_delta: 0, auto_scheduled: false, infrastructure_document_id: null, infrastructure_pid: null,
      created_by: null, work_pool_id: null, work_pool_name: deployment.work_pool_name ?? null, state, job_variables: (body.job_variables as object) ?? {},
    };
    this.flowRuns.set(id, { run, script: [...this.runScript], reads: 0 });
    return { status: 201, body: run };
  }

  private readFlowRun(id: string): ScriptedAnswer {
    const stored = this.flowRuns.get(id);
    if (!stored) return { status: 404, body: { detail: 'Flow run not found' } };
    stored.reads++;
    const step = Math.min(Math.ceil(stored.reads / this.readsPerState), stored.script.length);
    const next = stored.script[step - 1];
    const run = stored.run;
    if (next && (run.state as { type: string }).type !== next.type) {
      const now = new Date().toISOString();
      const state = this.state(next.type, id, now, next.name, next.message);
      if (next.type === 'RUNNING' && !run.start_time) run.start_time = now;
      if (TERMINAL.has(next.type)) {
        run.end_time = now;
        run.start_time ??= now;
        run.total_run_time = (Date.parse(now) - Date.parse(String(run.start_time))) / 1000;
      }
      Object.assign(run, { state, state_id: state.id, state_type: state.type, state_name: state.name, updated: now, run_count: next.type === 'RUNNING' ? 1 : run.run_count });
    }
    return { status: 200, body: run };
  }

  private state(type: StateType, flowRunId: string, timestamp: string, name?: string, message?: string): { id: string; type: StateType; name: string; timestamp: string; message: string | null; data: null; state_details: Record<string, unknown> } {
    return {
      id: randomUUID(), type, name: name ?? stateName(type), timestamp, message: message ?? null, data: null,
      state_details: { flow_run_id: flowRunId, task_run_id: null, child_flow_run_id: null, scheduled_time: type === 'SCHEDULED' ? timestamp : null, cache_key: null, cache_expiration: null, deferred: false, untrackable_result: false, pause_timeout: null, pause_reschedule: false, pause_key: null, run_input_keyset: null, refresh_cache: null, retriable: null, transition_id: null, task_parameters_id: null, traceparent: null },
    };
  }
}

export async function startPrefectApi(options: PrefectStandInOptions = {}): Promise<PrefectStandIn> {
  return new PrefectStandIn(options).start();
}
