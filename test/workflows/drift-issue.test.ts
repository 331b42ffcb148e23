import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubIssuesStandIn, type RecordedRequest } from '../support/github-issues-api.js';
import { findStep } from './workflow-files.js';

/**
 * The drift workflow's issue step, run as actions/github-script runs it: its `script` becomes the body
 * of an async function of (github, context, core), with `github` an Octokit from @actions/github and
 * `context` built from the runner's environment. Octokit talks to a GitHub stand-in that checks every
 * request against GitHub's OpenAPI description.
 */

const step = findStep('.github/workflows/drift.yml', 'drift', 'issue');
const script = (step.with as { script: string }).script;

const RUN_ID = '4242';
const LABEL = 'bakery-drift';
type AsyncScript = (github: unknown, context: unknown, core: unknown) => Promise<unknown>;
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...parameters: string[]) => AsyncScript;

let api: GitHubIssuesStandIn;
let github: unknown;
let context: unknown;
const savedEnvironment = { ...process.env };

interface Annotations {
  info: string[];
  notice: string[];
  warning: string[];
}

beforeAll(async () => {
  // @actions/github builds its `context` from these when it is first imported, as on a runner.
  Object.assign(process.env, { GITHUB_REPOSITORY: 'octo-org/octo-repo', GITHUB_RUN_ID: RUN_ID, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_NAME: 'schedule' });
  const actionsGithub = await import('@actions/github');
  context = actionsGithub.context;
  api = await new GitHubIssuesStandIn().start();
  github = actionsGithub.getOctokit('ghs_test_token', { baseUrl: api.url });
});

afterAll(async () => {
  await api.stop();
  process.env = savedEnvironment;
});

beforeEach(() => {
  api.issues.length = 0;
  api.labels.clear();
  api.requests.length = 0;
  api.problems.length = 0;
});

afterEach(() => {
  // Every request Octokit sent, and every answer, matched GitHub's description.
  expect(api.problems).toEqual([]);
});

/**
 * Runs the step for one environment with the plan step's outputs; returns its result and annotations.
 * `stack` is drift.yml's stack input (the step's STACK); undefined leaves STACK unset, as a caller of an
 * older drift.yml would.
 */
async function runStep(environment: string, plan: { hasChanges: boolean; add?: number; change?: number; replace?: number; destroy?: number }, stack?: string) {
  if (stack === undefined) delete process.env.STACK;
  else process.env.STACK = stack;
  Object.assign(process.env, {
    ENVIRONMENT: environment,
    DRIFT_LABEL: LABEL,
    HAS_CHANGES: String(plan.hasChanges),
    ADD: String(plan.add ?? 0),
    CHANGE: String(plan.change ?? 0),
    REPLACE: String(plan.replace ?? 0),
    DESTROY: String(plan.destroy ?? 0),
  });
  const annotations: Annotations = { info: [], notice: [], warning: [] };
  const core = {
    info: (message: string) => annotations.info.push(message),
    notice: (message: string) => annotations.notice.push(message),
    warning: (message: string) => annotations.warning.push(message),
  };
  const result = await new AsyncFunction('github', 'context', 'core', script)(github, context, core);
  return { result, annotations };
}

const writes = (): string[] => api.writes().map((request: RecordedRequest) => request.operationId);

describe('the drift issue step', () => {
  it('runs only after a successful plan: a failed plan says nothing about drift', () => {
    expect(step.if).toBeUndefined();
    expect(step.uses).toMatch(/^actions\/github-script@[0-9a-f]{40}$/);
  });

  it('does nothing when there is no drift and no issue', async () => {
    const { result, annotations } = await runStep('dev', { hasChanges: false });
    expect(result).toBe('none');
    expect(writes()).toEqual([]);
    expect(annotations.info).toEqual(['No drift in dev.']);
  });

  it('opens one issue, creating the label first, when drift appears', async () => {
    const { result, annotations } = await runStep('dev', { hasChanges: true, add: 1, change: 2 });
    expect(result).toBe('opened');
    expect(writes()).toEqual(['issues/create-label', 'issues/create']);
    expect(api.issues).toHaveLength(1);
    const [issue] = api.issues;
    expect(issue!.title).toBe('Infrastructure drift in dev');
    expect(issue!.labels).toEqual([LABEL]);
    expect(issue!.body).toContain('<!-- azure-bakery-drift:dev -->');
    expect(issue!.body).toContain('| 1 | 2 | 0 | 0 |');
    expect(issue!.body).toContain('`main`');
    expect(issue!.body).toContain(`https://github.com/octo-org/octo-repo/actions/runs/${RUN_ID}`);
    expect(annotations.warning).toEqual([`Drift in dev (1 to add, 2 to change, 0 to replace, 0 to destroy): opened issue #${issue!.number}.`]);
  });

  it('uses an existing label as it is', async () => {
    api.addLabel(LABEL, '000000');
    await runStep('dev', { hasChanges: true, destroy: 1 });
    expect(writes()).toEqual(['issues/create']);
    expect(api.labels.get(LABEL)?.color).toBe('000000');
  });

  it('updates the open issue while the drift lasts, and comments only when the drift changes', async () => {
    await runStep('dev', { hasChanges: true, add: 1 });
    const [issue] = api.issues;
    api.requests.length = 0;

    const same = await runStep('dev', { hasChanges: true, add: 1 });
    expect(same.result).toBe('updated');
    expect(writes()).toEqual(['issues/update']);
    expect(api.issues).toHaveLength(1);
    expect(issue!.comments).toEqual([]);

    api.requests.length = 0;
    const changed = await runStep('dev', { hasChanges: true, add: 1, replace: 3 });
    expect(changed.result).toBe('updated');
    expect(writes()).toEqual(['issues/update', 'issues/create-comment']);
    expect(issue!.body).toContain('| 1 | 0 | 3 | 0 |');
    expect(issue!.comments).toEqual([expect.stringContaining('now 1 to add, 0 to change, 3 to replace, 0 to destroy')]);
    expect(api.issues).toHaveLength(1);
  });

  it('comments and closes the issue when the drift is gone', async () => {
    await runStep('staging', { hasChanges: true, change: 1 });
    const [issue] = api.issues;
    const { result, annotations } = await runStep('staging', { hasChanges: false });
    expect(result).toBe('closed');
    expect(issue!.state).toBe('closed');
    expect(issue!.stateReason).toBe('completed');
    expect(issue!.comments).toEqual([expect.stringContaining('the drift is gone')]);
    expect(annotations.notice).toEqual([`Drift in staging is gone: closed issue #${issue!.number}.`]);

    // Drift that comes back later gets a new issue; the closed one stays closed.
    await runStep('staging', { hasChanges: true, change: 1 });
    expect(api.issues.map((candidate) => candidate.state)).toEqual(['closed', 'open']);
  });

  it("keeps one issue per environment and never touches another environment's", async () => {
    await runStep('dev', { hasChanges: true, add: 1 });
    await runStep('prod', { hasChanges: true, destroy: 2 });
    expect(api.issues.map((issue) => issue.title)).toEqual(['Infrastructure drift in dev', 'Infrastructure drift in prod']);

    await runStep('prod', { hasChanges: false });
    const [dev, prod] = api.issues;
    expect(prod!.state).toBe('closed');
    expect(dev!.state).toBe('open');
    expect(dev!.comments).toEqual([]);
  });

  it('finds its issue by label and marker: ignores pull requests, and issues without the marker', async () => {
    api.addIssue({ title: 'Fix drift', body: 'Closes the drift.\n<!-- azure-bakery-drift:dev -->', labels: [LABEL], pullRequest: true });
    api.addIssue({ title: 'Renamed by someone', body: 'no marker here', labels: [LABEL] });
    // Opened by an earlier run (same drift), then retitled and labelled by a person.
    const theirs = api.addIssue({ title: 'Drift, reworded', body: '<!-- azure-bakery-drift:dev -->\n<!-- azure-bakery-drift-counts:1 to add, 0 to change, 0 to replace, 0 to destroy -->', labels: [LABEL, 'infra'] });

    const { result } = await runStep('dev', { hasChanges: true, add: 1 });
    expect(result).toBe('updated');
    expect(api.writes().map((request) => [request.operationId, request.params.issue_number])).toEqual([['issues/update', theirs.number]]);
    expect(theirs.title).toBe('Drift, reworded');
    expect(api.issues).toHaveLength(3);
  });

  it('still opens its issue when another environment created the label a moment earlier', async () => {
    // The label appears between this job's lookup (404) and its create (422 already_exists).
    api.onServed = (request) => {
      if (request.operationId === 'issues/get-label') api.addLabel(LABEL);
    };
    try {
      const { result } = await runStep('prod', { hasChanges: true, add: 1 });
      expect(result).toBe('opened');
      expect(api.requests.map((request) => request.operationId)).toEqual(['issues/list-for-repo', 'issues/get-label', 'issues/create-label', 'issues/create']);
      expect(api.issues).toHaveLength(1);
    } finally {
      api.onServed = undefined;
    }
  });
});

describe('the drift issue step, per stack', () => {
  it('gets the stack from the workflow input that picks what is planned', () => {
    expect((step.env as Record<string, string>).STACK).toBe('${{ inputs.stack }}');
  });

  it('keeps the Bakery\'s marker and title for stack bakery, so issues opened before stacks were told apart are found', async () => {
    const earlier = api.addIssue({ title: 'Infrastructure drift in dev', body: '<!-- azure-bakery-drift:dev -->\n<!-- azure-bakery-drift-counts:1 to add, 0 to change, 0 to replace, 0 to destroy -->', labels: [LABEL] });
    const { result } = await runStep('dev', { hasChanges: true, add: 1 }, 'bakery');
    expect(result).toBe('updated');
    expect(api.writes().map((request) => [request.operationId, request.params.issue_number])).toEqual([['issues/update', earlier.number]]);
    expect(earlier.body).toContain('<!-- azure-bakery-drift:dev -->');
    expect(earlier.body).toContain('The live infrastructure of **dev** differs');
  });

  it('opens an issue of its own for another stack, named and marked with the stack', async () => {
    const { result, annotations } = await runStep('dev', { hasChanges: true, change: 2 }, 'metaflow/services');
    expect(result).toBe('opened');
    const [issue] = api.issues;
    expect(issue!.title).toBe('Infrastructure drift in dev (metaflow/services)');
    expect(issue!.body).toContain('<!-- azure-bakery-drift:metaflow/services:dev -->');
    expect(issue!.body).not.toContain('<!-- azure-bakery-drift:dev -->');
    expect(issue!.body).toContain('The live infrastructure of **dev (metaflow/services)** differs');
    expect(annotations.warning).toEqual([`Drift in dev (metaflow/services) (0 to add, 2 to change, 0 to replace, 0 to destroy): opened issue #${issue!.number}.`]);
  });

  it("never updates or closes another stack's issue of the same environment and label", async () => {
    await runStep('dev', { hasChanges: true, add: 1 }, 'bakery');
    await runStep('dev', { hasChanges: true, add: 3 }, 'metaflow/infra');
    expect(api.issues.map((issue) => issue.title)).toEqual(['Infrastructure drift in dev', 'Infrastructure drift in dev (metaflow/infra)']);
    const [bakery, infra] = api.issues;

    // metaflow/services has no issue and no drift: nothing to do, even though two dev issues are open.
    api.requests.length = 0;
    expect((await runStep('dev', { hasChanges: false }, 'metaflow/services')).result).toBe('none');
    expect(writes()).toEqual([]);

    // metaflow/infra's drift is gone: its issue closes, the Bakery's stays open and unchanged.
    const { result, annotations } = await runStep('dev', { hasChanges: false }, 'metaflow/infra');
    expect(result).toBe('closed');
    expect(infra!.state).toBe('closed');
    expect(infra!.comments).toEqual([expect.stringContaining('The scheduled plan of **dev (metaflow/infra)** has no changes any more')]);
    expect(annotations.notice).toEqual([`Drift in dev (metaflow/infra) is gone: closed issue #${infra!.number}.`]);
    expect(bakery!.state).toBe('open');
    expect(bakery!.comments).toEqual([]);
    expect(bakery!.body).toContain('| 1 | 0 | 0 | 0 |');
  });
});

describe('the GitHub stand-in the step talks to', () => {
  it('records a request that does not match GitHub’s description, and answers it with 422', async () => {
    const issue = api.addIssue({ title: 'Infrastructure drift in dev', labels: [LABEL] });
    const octokit = github as { request: (route: string, parameters: Record<string, unknown>) => Promise<unknown> };
    await expect(octokit.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', { owner: api.owner, repo: api.repo, issue_number: issue.number, state: 'shut', state_reson: 'completed' })).rejects.toMatchObject({ status: 422 });
    expect(api.problems).toEqual([expect.stringContaining('must be equal to one of the allowed values'), expect.stringContaining("body property 'state_reson' is not in the description")]);
    expect(issue.state).toBe('open');
    api.problems.length = 0;
  });
});
