import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { testTlsOptions } from './tls.js';

/**
 * A local GitHub REST API for the calls the actions make about pull-request comments, checked both ways
 * against GitHub's published OpenAPI description (@octokit/openapi, api.github.com.json): each request's
 * path, query parameters and body, and each response this server sends, must match the operation's
 * schema; any mismatch is recorded in `problems` (tests assert it stays empty) and a bad request gets
 * GitHub's 422. Only the operations below are extracted from the 13 MB description at start; nothing of
 * it is committed.
 *
 * Response bodies start from the description's own examples (issue-comment, pull-request-simple,
 * private-user, integration) with ids, users and bodies filled in.
 *
 * Tokens: each test registers the tokens it uses with the identity behind them. A user token (a PAT)
 * can read GET /user; an installation token (GITHUB_TOKEN is one, its app slug is `github-actions`)
 * gets GitHub's 403 "Resource not accessible by integration" there, and GET /app wants an app JWT, so
 * it gets 401. Like GitHub, any token with write access may edit any comment: keeping away from other
 * people's comments is the client's job, and `requests` shows whether it did.
 */

const OPERATIONS = {
  getAuthenticatedUser: { method: 'GET', path: '/user' },
  getAuthenticatedApp: { method: 'GET', path: '/app' },
  listComments: { method: 'GET', path: '/repos/{owner}/{repo}/issues/{issue_number}/comments' },
  createComment: { method: 'POST', path: '/repos/{owner}/{repo}/issues/{issue_number}/comments' },
  updateComment: { method: 'PATCH', path: '/repos/{owner}/{repo}/issues/comments/{comment_id}' },
  listPullsForCommit: { method: 'GET', path: '/repos/{owner}/{repo}/commits/{commit_sha}/pulls' },
} as const;
type OperationName = keyof typeof OPERATIONS;

type Json = Record<string, unknown>;

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Json;
}

interface CompiledOperation {
  name: OperationName;
  method: string;
  pattern: RegExp;
  paramNames: string[];
  parameters: OpenApiParameter[];
  validateParameters: ValidateFunction;
  validateBody?: ValidateFunction;
  validateResponse: Map<number, ValidateFunction>;
}

export type GitHubIdentity = { kind: 'user'; login: string } | { kind: 'installation'; appSlug: string };

export interface RecordedRequest {
  operation: OperationName | 'unknown';
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  token: string;
}

const require = createRequire(import.meta.url);

/** The transitive closure of `#/components/...` references reachable from `roots`. */
function collectComponents(spec: Json, roots: unknown[]): Json {
  const components: Record<string, Record<string, unknown>> = {};
  const pending = [...roots];
  const seen = new Set<string>();
  while (pending.length) {
    const node = pending.pop();
    if (Array.isArray(node)) pending.push(...node);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && !seen.has(value)) {
          seen.add(value);
          const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(value) ?? [];
          const target = ((spec.components as Json)[kind!] as Json)[name!];
          (components[kind!] ??= {})[name!] = target;
          pending.push(target);
        } else pending.push(value);
      }
    }
  }
  return components;
}

/** Loaded and compiled once per process: parsing the description takes a moment. */
let loaded: { operations: CompiledOperation[]; examples: Json } | undefined;

function loadOperations(): { operations: CompiledOperation[]; examples: Json } {
  loaded ??= compileOperations();
  return loaded;
}

function compileOperations(): { operations: CompiledOperation[]; examples: Json } {
  const spec = require('@octokit/openapi/generated/api.github.com.json') as Json;
  const paths = spec.paths as Record<string, Record<string, Json>>;
  const picked = Object.entries(OPERATIONS).map(([name, { method, path }]) => ({ name: name as OperationName, method, path, operation: paths[path]![method.toLowerCase()]! }));
  const components = collectComponents(spec, picked.map((p) => p.operation));
  const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: false, validateSchema: false });
  (addFormatsModule as unknown as (ajv: Ajv) => void)(ajv);
  ajv.addSchema({ $id: 'github', components }, 'github');
  const resolveRef = <T>(node: unknown): T => {
    const ref = (node as { $ref?: string }).$ref;
    if (!ref) return node as T;
    const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(ref)!;
    return resolveRef<T>((components[kind!] as Json)[name!]);
  };
  /** Rewrites local refs so they resolve inside the `github` schema added above. */
  const rebase = (schema: unknown): Json => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"github#/components/')) as Json;

  const operations = picked.map(({ name, method, path, operation }): CompiledOperation => {
    const parameters = ((operation.parameters as unknown[]) ?? []).map((p) => resolveRef<OpenApiParameter>(p));
    const paramNames: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/\{(\w+)\}/g, (_m, param: string) => {
        paramNames.push(param);
        return parameters.find((p) => p.name === param && (p as unknown as Json)['x-multi-segment']) ? '(.+)' : '([^/]+)';
      })}$`,
    );
    const parameterSchema = {
      type: 'object',
      properties: Object.fromEntries(parameters.filter((p) => p.in !== 'header').map((p) => [p.name, rebase(p.schema)])),
      required: parameters.filter((p) => p.required && p.in !== 'header').map((p) => p.name),
    };
    const body = resolveRef<Json | undefined>(operation.requestBody ?? {}) as { content?: Record<string, { schema: Json }> } | undefined;
    const bodySchema = body?.content?.['application/json']?.schema;
    const validateResponse = new Map<number, ValidateFunction>();
    for (const [status, response] of Object.entries(operation.responses as Json)) {
      const schema = resolveRef<{ content?: Record<string, { schema: Json }> }>(response).content?.['application/json']?.schema;
      if (schema) validateResponse.set(Number(status), ajv.compile(rebase(schema)));
    }
    return {
      name,
      method,
      pattern,
      paramNames,
      parameters,
      validateParameters: ajv.compile(parameterSchema),
      validateBody: bodySchema ? ajv.compile(rebase(bodySchema)) : undefined,
      validateResponse,
    };
  });
  const allExamples = (spec.components as Json).examples as Record<string, { value: unknown }>;
  const examples: Json = {};
  for (const name of ['issue-comment', 'pull-request-simple', 'private-user', 'integration']) examples[name] = allExamples[name]!.value;
  return { operations, examples };
}

interface PullRequestRecord {
  number: number;
  headSha: string;
  state: 'open' | 'closed';
  /** A closed pull request that was merged (not just closed). */
  merged: boolean;
  /** Commits this pull request is associated with (its head, a merge commit, ...). */
  commits: string[];
}

export class GitHubApiStandIn {
  readonly requests: RecordedRequest[] = [];
  /** Every request or response that did not match GitHub's description. */
  readonly problems: string[] = [];
  /** Comments per issue / pull request number, in creation order. */
  readonly comments = new Map<number, Json[]>();
  readonly pullRequests: PullRequestRecord[] = [];
  readonly owner = 'octo-org';
  readonly repo = 'octo-repo';
  private readonly tokens = new Map<string, GitHubIdentity>();
  private readonly operations: CompiledOperation[];
  private readonly examples: Json;
  private nextCommentId = 1_000_000_000;
  private server?: Server;
  /** The API's base URL (with GHES's /api/v3 prefix when asked for). */
  url = '';
  private origin = '';

  constructor(private readonly prefix = '') {
    const { operations, examples } = loadOperations();
    this.operations = operations;
    this.examples = examples;
  }

  async start(): Promise<this> {
    this.server = createServer(testTlsOptions(), (req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.url = `${this.origin}${this.prefix}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  addToken(token: string, identity: GitHubIdentity): this {
    this.tokens.set(token, identity);
    return this;
  }

  addPullRequest(pr: { number: number; headSha: string; state?: 'open' | 'closed'; merged?: boolean; commits?: string[] }): this {
    this.pullRequests.push({ number: pr.number, headSha: pr.headSha, state: pr.state ?? 'open', merged: pr.merged ?? false, commits: pr.commits ?? [pr.headSha] });
    return this;
  }

  /** The login GitHub shows for an identity: `<slug>[bot]` for an app installation. */
  static loginOf(identity: GitHubIdentity): string {
    return identity.kind === 'user' ? identity.login : `${identity.appSlug}[bot]`;
  }

  /** A comment written by someone else (or by us in an earlier run), as GitHub stores it. */
  addComment(issueNumber: number, author: GitHubIdentity, body: string): Json {
    const comment = this.makeComment(issueNumber, author, body);
    const list = this.comments.get(issueNumber) ?? [];
    list.push(comment);
    this.comments.set(issueNumber, list);
    return comment;
  }

  requestsFor(operation: OperationName): RecordedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  private simpleUser(identity: GitHubIdentity): Json {
    const login = GitHubApiStandIn.loginOf(identity);
    const base = structuredClone((this.examples['issue-comment'] as Json).user) as Json;
    const id = 41898282 + [...login].reduce((sum, char) => sum + char.charCodeAt(0), 0);
    // In URLs a bot's login is percent-encoded (users/github-actions%5Bbot%5D), as GitHub writes it.
    const replaced = JSON.parse(JSON.stringify(base).replaceAll('octocat', encodeURIComponent(login))) as Json;
    const bot = identity.kind === 'installation' ? { html_url: `https://github.com/apps/${identity.appSlug}` } : {};
    return { ...replaced, ...bot, login, id, node_id: Buffer.from(`04:User${id}`).toString('base64'), type: identity.kind === 'user' ? 'User' : 'Bot' };
  }

  private makeComment(issueNumber: number, author: GitHubIdentity, body: string): Json {
    const id = this.nextCommentId++;
    const example = structuredClone(this.examples['issue-comment']) as Json;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const repoPath = `${this.owner}/${this.repo}`;
    return {
      ...example,
      id,
      node_id: Buffer.from(`IC_${id}`).toString('base64'),
      url: `https://api.github.com/repos/${repoPath}/issues/comments/${id}`,
      html_url: `https://github.com/${repoPath}/pull/${issueNumber}#issuecomment-${id}`,
      issue_url: `https://api.github.com/repos/${repoPath}/issues/${issueNumber}`,
      body,
      user: this.simpleUser(author),
      author_association: author.kind === 'user' ? 'MEMBER' : 'NONE',
      created_at: now,
      updated_at: now,
    };
  }

  private pullRequestSimple(pr: PullRequestRecord): Json {
    const example = structuredClone(this.examples['pull-request-simple']) as Json;
    const text = JSON.stringify(example).replaceAll('octocat/Hello-World', `${this.owner}/${this.repo}`).replaceAll('/1347', `/${pr.number}`);
    const result = JSON.parse(text) as Json;
    result.number = pr.number;
    result.state = pr.state;
    (result.head as Json).sha = pr.headSha;
    // The published example's requested_teams entries lack the `type` its own schema requires.
    result.requested_teams = [];
    if (!pr.merged) result.merged_at = null;
    if (pr.state === 'open') result.closed_at = null;
    return result;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    const apiPath = url.pathname.startsWith(this.prefix) ? url.pathname.slice(this.prefix.length) : url.pathname;
    const token = (req.headers.authorization ?? '').replace(/^(token|bearer)\s+/i, '');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      this.send(res, undefined, 400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest' });
      return;
    }
    const operation = this.operations.find((op) => op.method === method && op.pattern.test(apiPath));
    this.requests.push({ operation: operation?.name ?? 'unknown', method, path: apiPath, query: url.searchParams, body, token });
    if (!operation) {
      this.problems.push(`request to an operation this stand-in does not serve: ${method} ${apiPath}`);
      this.send(res, undefined, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      return;
    }
    const match = operation.pattern.exec(apiPath)!;
    const params: Record<string, unknown> = {};
    operation.paramNames.forEach((name, i) => (params[name] = match[i + 1]));
    for (const [name, value] of url.searchParams) params[name] = value;
    // Path and query values arrive as text; the description types some as integers.
    for (const parameter of operation.parameters) {
      if (parameter.schema.type === 'integer' && typeof params[parameter.name] === 'string' && /^-?\d+$/.test(params[parameter.name] as string)) {
        params[parameter.name] = Number(params[parameter.name]);
      }
    }
    const invalid: string[] = [];
    if (!operation.validateParameters(params)) invalid.push(`parameters: ${JSON.stringify(operation.validateParameters.errors)}`);
    if (operation.validateBody && !operation.validateBody(body)) invalid.push(`body: ${JSON.stringify(operation.validateBody.errors)}`);
    const perPage = params.per_page as number | undefined;
    if (perPage !== undefined && (perPage < 1 || perPage > 100)) invalid.push(`per_page ${perPage} is outside 1..100`);
    if (invalid.length) {
      this.problems.push(`${operation.name} request does not match GitHub's description: ${invalid.join('; ')}`);
      this.send(res, operation, 422, { message: 'Validation Failed', documentation_url: 'https://docs.github.com/rest', status: '422' });
      return;
    }
    const identity = this.tokens.get(token);
    if (!identity && operation.name !== 'getAuthenticatedApp') {
      this.send(res, operation, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      return;
    }
    this.route(operation, params, body as Json | undefined, identity, url, res);
  }

  private route(operation: CompiledOperation, params: Record<string, unknown>, body: Json | undefined, identity: GitHubIdentity | undefined, url: URL, res: ServerResponse): void {
    const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' };
    if ((params.owner !== undefined && params.owner !== this.owner) || (params.repo !== undefined && params.repo !== this.repo)) {
      this.send(res, operation, 404, notFound);
      return;
    }
    switch (operation.name) {
      case 'getAuthenticatedUser': {
        if (identity!.kind !== 'user') {
          this.send(res, operation, 403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user', status: '403' });
          return;
        }
        const example = structuredClone(this.examples['private-user']) as Json;
        const user = this.simpleUser(identity!);
        this.send(res, operation, 200, { ...example, ...user, user_view_type: 'private' });
        return;
      }
      case 'getAuthenticatedApp':
        // Only an app's JWT may call it; none of our callers hold one.
        this.send(res, operation, 401, { message: 'A JSON web token could not be decoded', documentation_url: 'https://docs.github.com/rest', status: '401' });
        return;
      case 'listComments': {
        const all = this.comments.get(params.issue_number as number) ?? [];
        const perPage = (params.per_page as number | undefined) ?? 30;
        const page = (params.page as number | undefined) ?? 1;
        const lastPage = Math.max(1, Math.ceil(all.length / perPage));
        const headers: Record<string, string> = {};
        const link = (p: number) => {
          const query = new URLSearchParams(url.searchParams);
          query.set('per_page', String(perPage));
          query.set('page', String(p));
          return `<${this.origin}${url.pathname}?${query}>`;
        };
        const links: string[] = [];
        if (page < lastPage) links.push(`${link(page + 1)}; rel="next"`, `${link(lastPage)}; rel="last"`);
        if (page > 1) links.push(`${link(1)}; rel="first"`, `${link(page - 1)}; rel="prev"`);
        if (links.length) headers.link = links.join(', ');
        this.send(res, operation, 200, all.slice((page - 1) * perPage, page * perPage), headers);
        return;
      }
      case 'createComment': {
        const comment = this.addComment(params.issue_number as number, identity!, body!.body as string);
        this.send(res, operation, 201, comment, { location: comment.url as string });
        return;
      }
      case 'updateComment': {
        const comment = [...this.comments.values()].flat().find((c) => c.id === params.comment_id);
        if (!comment) {
          this.send(res, operation, 404, notFound);
          return;
        }
        comment.body = body!.body;
        comment.updated_at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        this.send(res, operation, 200, comment);
        return;
      }
      case 'listPullsForCommit': {
        const pulls = this.pullRequests.filter((pr) => pr.commits.includes(params.commit_sha as string)).map((pr) => this.pullRequestSimple(pr));
        this.send(res, operation, 200, pulls);
        return;
      }
    }
  }

  private send(res: ServerResponse, operation: CompiledOperation | undefined, status: number, payload: unknown, headers: Record<string, string> = {}): void {
    const validate = operation?.validateResponse.get(status);
    if (operation && status < 400 && !validate) this.problems.push(`${operation.name} answered ${status}, a status GitHub's description does not list`);
    if (validate && !validate(payload)) this.problems.push(`${operation!.name} ${status} response does not match GitHub's description: ${JSON.stringify(validate.errors).slice(0, 1000)}`);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json', 'x-ratelimit-remaining': '4999', ...headers });
    res.end(JSON.stringify(payload));
  }
}
