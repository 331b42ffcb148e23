import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { closeServer, listenOnLoopback, readRequestText } from './local-server.js';
import { compileOperations, componentExamples, matchRequest, requestProblems, responseProblems, type CompiledOperation } from './openapi-operations.js';
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
 * private-user) with ids, users and bodies filled in. The checks themselves are openapi-operations.ts's,
 * shared with the issues stand-in; on top, `per_page` must be 1..100, a limit GitHub's description
 * does not state.
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

/** Loaded and compiled once per process: parsing the description takes a moment. */
let loaded: { operations: CompiledOperation[]; names: Map<CompiledOperation, OperationName>; examples: Record<string, Json> } | undefined;

function loadDescription(): NonNullable<typeof loaded> {
  if (!loaded) {
    const spec = require('@octokit/openapi/generated/api.github.com.json') as Json;
    const entries = Object.entries(OPERATIONS) as [OperationName, (typeof OPERATIONS)[OperationName]][];
    // compileOperations keeps the order it is given, so each compiled operation pairs with its name.
    const operations = compileOperations(spec, entries.map(([, operation]) => operation));
    loaded = {
      operations,
      names: new Map(operations.map((operation, index) => [operation, entries[index]![0]])),
      examples: componentExamples(spec, ['issue-comment', 'pull-request-simple', 'private-user']),
    };
  }
  return loaded;
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
  private readonly description = loadDescription();
  private nextCommentId = 1_000_000_000;
  private server?: Server;
  /** The API's base URL (with GHES's /api/v3 prefix when asked for). */
  url = '';
  private origin = '';

  constructor(private readonly prefix = '') {}

  async start(): Promise<this> {
    this.server = createServer(testTlsOptions(), (req, res) => void this.handle(req, res));
    this.origin = await listenOnLoopback(this.server);
    this.url = `${this.origin}${this.prefix}`;
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
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
    const base = structuredClone((this.description.examples['issue-comment'] as Json).user) as Json;
    const id = 41898282 + [...login].reduce((sum, char) => sum + char.charCodeAt(0), 0);
    // In URLs a bot's login is percent-encoded (users/github-actions%5Bbot%5D), as GitHub writes it.
    const replaced = JSON.parse(JSON.stringify(base).replaceAll('octocat', encodeURIComponent(login))) as Json;
    const bot = identity.kind === 'installation' ? { html_url: `https://github.com/apps/${identity.appSlug}` } : {};
    return { ...replaced, ...bot, login, id, node_id: Buffer.from(`04:User${id}`).toString('base64'), type: identity.kind === 'user' ? 'User' : 'Bot' };
  }

  private makeComment(issueNumber: number, author: GitHubIdentity, body: string): Json {
    const id = this.nextCommentId++;
    const example = structuredClone(this.description.examples['issue-comment']) as Json;
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
    const example = structuredClone(this.description.examples['pull-request-simple']) as Json;
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
    const raw = await readRequestText(req);
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    const apiPath = url.pathname.startsWith(this.prefix) ? url.pathname.slice(this.prefix.length) : url.pathname;
    const token = (req.headers.authorization ?? '').replace(/^(token|bearer)\s+/i, '');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      this.problems.push(`${method} ${apiPath}: the body is not JSON`);
      this.send(res, undefined, 400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest' });
      return;
    }
    const apiUrl = new URL(url);
    apiUrl.pathname = apiPath;
    const matched = matchRequest(this.description.operations, method, apiUrl);
    const name = matched ? this.description.names.get(matched.operation) : undefined;
    this.requests.push({ operation: name ?? 'unknown', method, path: apiPath, query: url.searchParams, body, token });
    if (!matched || !name) {
      this.problems.push(`request to an operation this stand-in does not serve: ${method} ${apiPath}`);
      this.send(res, undefined, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      return;
    }
    const { operation, params } = matched;
    const invalid = requestProblems(matched, body);
    const perPage = params.per_page;
    if (typeof perPage === 'number' && (perPage < 1 || perPage > 100)) invalid.push(`${method} ${operation.path}: per_page ${perPage} is outside 1..100`);
    if (invalid.length) {
      this.problems.push(...invalid.map((problem) => `request does not match GitHub's description: ${problem}`));
      this.send(res, operation, 422, { message: 'Validation Failed', documentation_url: 'https://docs.github.com/rest', status: '422' });
      return;
    }
    const identity = this.tokens.get(token);
    if (!identity && name !== 'getAuthenticatedApp') {
      this.send(res, operation, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      return;
    }
    this.route(name, operation, params, body as Json | undefined, identity, url, res);
  }

  private route(name: OperationName, operation: CompiledOperation, params: Record<string, string | number>, body: Json | undefined, identity: GitHubIdentity | undefined, url: URL, res: ServerResponse): void {
    const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' };
    if ((params.owner !== undefined && params.owner !== this.owner) || (params.repo !== undefined && params.repo !== this.repo)) {
      this.send(res, operation, 404, notFound);
      return;
    }
    switch (name) {
      case 'getAuthenticatedUser': {
        if (identity!.kind !== 'user') {
          this.send(res, operation, 403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user', status: '403' });
          return;
        }
        const example = structuredClone(this.description.examples['private-user']) as Json;
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
    if (operation) this.problems.push(...responseProblems(operation, status, payload, { allowUnlistedErrors: true }).map((problem) => `response does not match GitHub's description: ${problem}`));
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json', 'x-ratelimit-remaining': '4999', ...headers });
    res.end(JSON.stringify(payload));
  }
}
