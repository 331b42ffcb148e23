import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { closeServer, listenOnLoopback, readRequestText } from './local-server.js';
import { testTlsOptions } from './tls.js';

/**
 * One HTTPS stand-in for the Azure control plane as the actions meet it:
 * - Entra ID: OpenID metadata and the v2.0 token endpoint (client secret or a federated client assertion);
 * - GitHub's OIDC token service (ACTIONS_ID_TOKEN_REQUEST_URL), whose token the Entra part then accepts;
 * - Azure Resource Manager: routes that resource-provider stand-ins register (test/support/arm-*.ts),
 *   answering with the official REST API examples in ../shared/fixtures/azure-rest, long-running
 *   operations included (202 + Location, polled until done).
 * Every ARM call must carry a token this server issued, so the auth path is exercised for real.
 */

export const FIXTURES_DIR = path.resolve(process.env.AZURE_BAKERY_SHARED_DIR ?? '../shared', 'fixtures');

export interface ArmFixture {
  parameters: Record<string, unknown>;
  responses: Record<string, { body?: unknown; headers?: Record<string, string> }>;
}

/** An official example: `loadArmFixture('Microsoft.Storage/2026-09-01/StorageAccountCreate.json')`. */
export function loadArmFixture(relativePath: string): ArmFixture {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'azure-rest', relativePath), 'utf8')) as ArmFixture;
}

/** The example's response body for `status`, deep-copied so a test may change it. */
export function fixtureBody<T = Record<string, unknown>>(relativePath: string, status = '200'): T {
  const body = loadArmFixture(relativePath).responses[status]?.body;
  if (body === undefined) throw new Error(`${relativePath} has no ${status} body`);
  return structuredClone(body) as T;
}

export interface ArmRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  rawBody: string;
}

export interface ArmResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type ArmHandler = (request: ArmRequest, match: RegExpExecArray) => ArmResponse | Promise<ArmResponse>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: ArmHandler;
}

/** ARM's common error envelope (azure-rest-api-specs common-types ErrorResponse). */
export function armError(status: number, code: string, message: string): ArmResponse {
  return { status, body: { error: { code, message } } };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned JWT with the claims the consumers (MSAL, Azurite's OAuth check) read. */
export function makeJwt(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  return `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ iat: now, nbf: now - 60, exp: now + 3600, ...claims })}.c2lnbmF0dXJl`;
}

export class AzureStandIn {
  readonly requests: ArmRequest[] = [];
  readonly issuedTokens = new Map<string, { scope: string; clientId: string; method: 'secret' | 'assertion' }>();
  /** The GitHub OIDC tokens handed out, with the audience asked for. */
  readonly githubTokens = new Map<string, string>();
  /** Secrets the Entra part accepts per client id (client-secret auth). */
  readonly clientSecrets = new Map<string, string>();
  readonly githubRequestToken = `gh-request-${randomUUID()}`;
  private readonly routes: Route[] = [];
  private readonly operations = new Map<string, { remainingPolls: number; final: () => ArmResponse }>();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer(testTlsOptions(), (req, res) => void this.handle(req, res));
    this.url = await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  route(method: string, pattern: RegExp, handler: ArmHandler): this {
    this.routes.push({ method: method.toUpperCase(), pattern, handler });
    return this;
  }

  /**
   * A long-running operation as ARM runs it: answers 202 with a Location to poll (and Retry-After 0 so
   * tests do not wait); each poll answers 202 until `polls` have been made, then `final()`.
   */
  accepted(final: () => ArmResponse, polls = 1): ArmResponse {
    const id = randomUUID();
    this.operations.set(id, { remainingPolls: polls, final });
    return { status: 202, headers: { location: `${this.url}/__operations/${id}?api-version=2025-01-01`, 'retry-after': '0' } };
  }

  /** Environment a child process needs to authenticate here as `auth: client-secret` or `oidc`. */
  authEnv(method: 'client-secret' | 'oidc', ids = TEST_IDS): Record<string, string> {
    this.clientSecrets.set(ids.clientId, ids.clientSecret);
    const env: Record<string, string> = {
      INPUT_AUTH: method,
      'INPUT_TENANT-ID': ids.tenantId,
      'INPUT_CLIENT-ID': ids.clientId,
      'INPUT_SUBSCRIPTION-ID': ids.subscriptionId,
      'INPUT_ARM-ENDPOINT': this.url,
      'INPUT_AUTHORITY-HOST': this.url,
    };
    if (method === 'client-secret') env['INPUT_CLIENT-SECRET'] = ids.clientSecret;
    else {
      env.ACTIONS_ID_TOKEN_REQUEST_URL = `${this.url}/_github/oidc/token?api-version=2.0`;
      env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = this.githubRequestToken;
    }
    return env;
  }

  /** ARM requests only (not token traffic), optionally filtered by method and path fragment. */
  armRequests(method?: string, pathIncludes?: string): ArmRequest[] {
    return this.requests.filter(
      (r) => r.path.startsWith('/subscriptions') && (!method || r.method === method) && (!pathIncludes || r.path.includes(pathIncludes)),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readRequestText(req);
    const url = new URL(req.url ?? '/', this.url);
    let body: unknown = undefined;
    if (rawBody && (req.headers['content-type'] ?? '').includes('json')) body = JSON.parse(rawBody);
    const request: ArmRequest = { method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), query: url.searchParams, headers: req.headers, body, rawBody };
    this.requests.push(request);
    const response = await this.respond(request).catch((error: unknown) => armError(500, 'StandInFailure', String(error)));
    const payload = response.body === undefined ? '' : typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
    res.writeHead(response.status, {
      'content-type': 'application/json; charset=utf-8',
      'x-ms-request-id': randomUUID(),
      ...response.headers,
    });
    res.end(payload);
  }

  private async respond(request: ArmRequest): Promise<ArmResponse> {
    const { path: p, method } = request;
    const tenantMatch = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(p);
    if (tenantMatch) return { status: 200, body: this.openIdConfiguration(tenantMatch[1]!) };
    const tokenMatch = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(p);
    if (tokenMatch && method === 'POST') return this.issueToken(tokenMatch[1]!, new URLSearchParams(request.rawBody));
    if (p === '/_github/oidc/token') return this.issueGithubToken(request);
    if (p.startsWith('/__operations/')) return this.poll(p.slice('/__operations/'.length));

    const auth = request.headers.authorization ?? '';
    const token = auth.replace(/^Bearer\s+/i, '');
    if (!this.issuedTokens.has(token)) {
      return armError(401, 'InvalidAuthenticationToken', 'The access token is missing or was not issued by this tenant.');
    }
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(p);
      if (match) return route.handler(request, match);
    }
    return armError(404, 'NoRegisteredProviderFound', `No stand-in route for ${method} ${p}`);
  }

  private openIdConfiguration(tenant: string): Record<string, unknown> {
    return {
      token_endpoint: `${this.url}/${tenant}/oauth2/v2.0/token`,
      authorization_endpoint: `${this.url}/${tenant}/oauth2/v2.0/authorize`,
      issuer: `${this.url}/${tenant}/v2.0`,
      jwks_uri: `${this.url}/${tenant}/discovery/v2.0/keys`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    };
  }

  private issueToken(tenant: string, form: URLSearchParams): ArmResponse {
    const clientId = form.get('client_id') ?? '';
    const scope = form.get('scope') ?? '';
    const assertion = form.get('client_assertion');
    let method: 'secret' | 'assertion';
    if (assertion) {
      const audience = this.githubTokens.get(assertion);
      if (audience !== 'api://AzureADTokenExchange') {
        return { status: 400, body: { error: 'invalid_client', error_description: 'AADSTS700211: No matching federated identity record found for presented assertion issuer.' } };
      }
      method = 'assertion';
    } else {
      if (!this.clientSecrets.has(clientId) || this.clientSecrets.get(clientId) !== form.get('client_secret')) {
        return { status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' } };
      }
      method = 'secret';
    }
    const resource = scope.replace(/\/?\.default$/, '').split(' ')[0] ?? '';
    const token = makeJwt({ aud: resource, iss: `https://sts.windows.net/${tenant}/`, tid: tenant, appid: clientId, oid: randomUUID() });
    this.issuedTokens.set(token, { scope, clientId, method });
    return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token } };
  }

  private issueGithubToken(request: ArmRequest): ArmResponse {
    if (request.headers.authorization !== `Bearer ${this.githubRequestToken}`) {
      return { status: 401, body: { message: 'Bad credentials' } };
    }
    const audience = request.query.get('audience') ?? '';
    const value = makeJwt({ aud: audience, iss: 'https://token.actions.githubusercontent.com', sub: 'repo:octo-org/octo-repo:environment:dev' });
    this.githubTokens.set(value, audience);
    return { status: 200, body: { count: value.length, value } };
  }

  private poll(id: string): ArmResponse {
    const operation = this.operations.get(id.split('?')[0]!);
    if (!operation) return armError(404, 'OperationNotFound', id);
    if (operation.remainingPolls > 0) {
      operation.remainingPolls--;
      return { status: 202, headers: { location: `${this.url}/__operations/${id}`, 'retry-after': '0' } };
    }
    return operation.final();
  }
}

/** The ids the official examples use, so fixture bodies and requests agree. */
export const TEST_IDS = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'test-client-secret-Zq8~r4',
  subscriptionId: '00000000-0000-0000-0000-000000000000',
};
