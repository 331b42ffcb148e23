import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { closeServer, listenOnLoopback, readRequestText } from './local-server.js';
import { compileOperations, componentExamples, matchRequest, requestProblems, responseProblems, type CompiledOperation } from './openapi-operations.js';

/**
 * A local GitHub REST API for issues and labels (list, create, update, comment; get and create a
 * label), as the drift workflow's script uses them through Octokit. Every request and every response
 * is checked against GitHub's published OpenAPI description (@octokit/openapi, api.github.com.json);
 * mismatches land in `problems`, which tests assert stay empty, and a bad request gets GitHub's 422.
 * Response bodies start from the description's own examples (issue, label, issue-comment) with this
 * repository's numbers, titles, bodies, states and labels filled in.
 *
 * Like GitHub, the issues list returns pull requests too (with a `pull_request` key) and filters by
 * state and by labels (all of them must be present).
 */

const OPERATIONS = [
  { method: 'GET', path: '/repos/{owner}/{repo}/issues' },
  { method: 'POST', path: '/repos/{owner}/{repo}/issues' },
  { method: 'PATCH', path: '/repos/{owner}/{repo}/issues/{issue_number}' },
  { method: 'POST', path: '/repos/{owner}/{repo}/issues/{issue_number}/comments' },
  { method: 'GET', path: '/repos/{owner}/{repo}/labels/{name}' },
  { method: 'POST', path: '/repos/{owner}/{repo}/labels' },
] as const;

type Json = Record<string, unknown>;

export interface IssueRecord {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  stateReason: string | null;
  labels: string[];
  pullRequest: boolean;
  comments: string[];
}

export interface RecordedRequest {
  operationId: string;
  method: string;
  path: string;
  params: Record<string, string | number>;
  body: unknown;
}

const require = createRequire(import.meta.url);
let cached: { operations: CompiledOperation[]; examples: Record<string, Json> } | undefined;

function loadDescription() {
  if (!cached) {
    const spec = require('@octokit/openapi/generated/api.github.com.json') as Json;
    cached = { operations: compileOperations(spec, OPERATIONS), examples: componentExamples(spec, ['issue', 'label', 'issue-comment']) };
  }
  return cached;
}

export class GitHubIssuesStandIn {
  readonly owner = 'octo-org';
  readonly repo = 'octo-repo';
  readonly issues: IssueRecord[] = [];
  readonly labels = new Map<string, { color: string; description: string | null }>();
  readonly requests: RecordedRequest[] = [];
  /** Requests or responses that do not match GitHub's description. */
  readonly problems: string[] = [];
  url = '';
  /** Called after each answer is sent: lets a test change the repository between two requests. */
  onServed?: (request: RecordedRequest) => void;
  private server?: Server;
  private readonly operations: CompiledOperation[];
  private readonly examples: Record<string, Json>;
  private nextNumber = 1;
  private nextCommentId = 900_000_000;

  constructor() {
    ({ operations: this.operations, examples: this.examples } = loadDescription());
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  addLabel(name: string, color = 'ededed'): this {
    this.labels.set(name, { color, description: null });
    return this;
  }

  addIssue(issue: Partial<Omit<IssueRecord, 'number' | 'comments'>> & { title: string }): IssueRecord {
    for (const label of issue.labels ?? []) if (!this.labels.has(label)) this.addLabel(label);
    const record: IssueRecord = { body: '', state: 'open', stateReason: null, labels: [], pullRequest: false, ...issue, number: this.nextNumber++, comments: [] };
    this.issues.push(record);
    return record;
  }

  /** Requests that changed something (everything but GET). */
  writes(): RecordedRequest[] {
    return this.requests.filter((request) => request.method !== 'GET');
  }

  private issueBody(issue: IssueRecord): Json {
    const repoPath = `${this.owner}/${this.repo}`;
    const example = JSON.parse(JSON.stringify(this.examples.issue).replaceAll('octocat/Hello-World', repoPath).replaceAll('/1347', `/${issue.number}`)) as Json;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const body: Json = {
      ...example,
      id: 1_000_000 + issue.number,
      node_id: Buffer.from(`I_${issue.number}`).toString('base64'),
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      state_reason: issue.stateReason,
      labels: issue.labels.map((name) => this.labelBody(name)),
      comments: issue.comments.length,
      closed_at: issue.state === 'closed' ? now : null,
      closed_by: issue.state === 'closed' ? example.closed_by : null,
    };
    if (!issue.pullRequest) delete body.pull_request;
    return body;
  }

  private labelBody(name: string): Json {
    const label = this.labels.get(name)!;
    return { ...this.examples.label, id: 200_000_000 + [...this.labels.keys()].indexOf(name), name, color: label.color, description: label.description, default: false, url: `https://api.github.com/repos/${this.owner}/${this.repo}/labels/${encodeURIComponent(name)}` };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readRequestText(req);
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      this.problems.push(`${method} ${url.pathname}: the body is not JSON`);
      this.send(res, undefined, 400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest' });
      return;
    }
    const matched = matchRequest(this.operations, method, url);
    if (!matched) {
      this.problems.push(`${method} ${url.pathname}: not an operation this stand-in serves`);
      this.send(res, undefined, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      return;
    }
    const { operation, params } = matched;
    const recorded: RecordedRequest = { operationId: operation.operationId, method, path: url.pathname, params, body };
    this.requests.push(recorded);
    const invalid = requestProblems(matched, body);
    if (invalid.length) {
      this.problems.push(...invalid);
      this.send(res, operation, 422, { message: 'Validation Failed', documentation_url: 'https://docs.github.com/rest', errors: invalid.map((message) => ({ code: 'invalid', message })) });
      return;
    }
    if (params.owner !== this.owner || params.repo !== this.repo) {
      this.send(res, operation, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
      return;
    }
    const answer = this.route(operation.operationId, params, (body ?? {}) as Json);
    this.send(res, operation, answer.status, answer.body);
    this.onServed?.(recorded);
  }

  private route(operationId: string, params: Record<string, string | number>, body: Json): { status: number; body: unknown } {
    const notFound = { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' } };
    const issue = typeof params.issue_number === 'number' ? this.issues.find((candidate) => candidate.number === params.issue_number) : undefined;
    switch (operationId) {
      case 'issues/list-for-repo': {
        const state = (params.state as string | undefined) ?? 'open';
        const wanted = typeof params.labels === 'string' ? params.labels.split(',').map((label) => label.trim()).filter(Boolean) : [];
        const perPage = (params.per_page as number | undefined) ?? 30;
        const page = (params.page as number | undefined) ?? 1;
        const matching = this.issues
          .filter((candidate) => state === 'all' || candidate.state === state)
          .filter((candidate) => wanted.every((label) => candidate.labels.includes(label)))
          .sort((a, b) => b.number - a.number);
        return { status: 200, body: matching.slice((page - 1) * perPage, page * perPage).map((candidate) => this.issueBody(candidate)) };
      }
      case 'issues/create': {
        for (const label of (body.labels as string[] | undefined) ?? []) if (!this.labels.has(label)) this.addLabel(label);
        const created = this.addIssue({ title: String(body.title), body: (body.body as string | undefined) ?? '', labels: (body.labels as string[] | undefined) ?? [] });
        return { status: 201, body: this.issueBody(created) };
      }
      case 'issues/update': {
        if (!issue) return notFound;
        if (typeof body.title === 'string') issue.title = body.title;
        if (typeof body.body === 'string') issue.body = body.body;
        if (body.state === 'open' || body.state === 'closed') {
          issue.state = body.state;
          issue.stateReason = body.state === 'closed' ? ((body.state_reason as string | undefined) ?? 'completed') : 'reopened';
        }
        return { status: 200, body: this.issueBody(issue) };
      }
      case 'issues/create-comment': {
        if (!issue) return notFound;
        issue.comments.push(String(body.body));
        const id = this.nextCommentId++;
        const issueUrl = `https://api.github.com/repos/${this.owner}/${this.repo}/issues/${issue.number}`;
        return { status: 201, body: { ...this.examples['issue-comment'], id, body: body.body, issue_url: issueUrl, url: `https://api.github.com/repos/${this.owner}/${this.repo}/issues/comments/${id}`, html_url: `https://github.com/${this.owner}/${this.repo}/issues/${issue.number}#issuecomment-${id}` } };
      }
      case 'issues/get-label':
        return this.labels.has(String(params.name)) ? { status: 200, body: this.labelBody(String(params.name)) } : notFound;
      case 'issues/create-label': {
        const name = String(body.name);
        if (this.labels.has(name)) {
          return { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }], documentation_url: 'https://docs.github.com/rest/issues/labels#create-a-label' } };
        }
        this.labels.set(name, { color: String(body.color ?? 'ededed'), description: (body.description as string | undefined) ?? null });
        return { status: 201, body: this.labelBody(name) };
      }
      default:
        throw new Error(`no route for ${operationId}`);
    }
  }

  private send(res: ServerResponse, operation: CompiledOperation | undefined, status: number, payload: unknown): void {
    if (operation) this.problems.push(...responseProblems(operation, status, payload));
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json' });
    res.end(JSON.stringify(payload));
  }
}
