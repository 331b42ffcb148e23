import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuidedError } from '../../src/lib/errors.js';
import {
  commentMarker,
  createGitHubClient,
  findPullRequest,
  normaliseWorkingDirectory,
  resolveCommentAuthor,
  upsertStickyComment,
  type GitHubClient,
  type RunContext,
} from '../../src/lib/github-comment.js';
import { GitHubApiStandIn, type GitHubIdentity } from '../support/github-api.js';

const GITHUB_TOKEN = 'ghs_stickyCommentTestInstallationToken01';
const PAT = 'github_pat_11ABCDEFG0123456789_stickycommenttest';
const BOT: GitHubIdentity = { kind: 'installation', appSlug: 'github-actions' };
const REVIEWER: GitHubIdentity = { kind: 'user', login: 'octo-reviewer' };
const HEAD = 'e5bd3914e2e596debea16f433f57875b5b90bcd6';

let github: GitHubApiStandIn;
let client: GitHubClient;

function run(overrides: Partial<RunContext> = {}): RunContext {
  return { eventName: 'push', sha: HEAD, owner: 'octo-org', repo: 'octo-repo', payload: {}, ...overrides };
}

function marker(environment: string, workingDirectory = 'terraform/stacks/bakery', label = ''): string {
  return commentMarker('plan', { environment, 'working-directory': normaliseWorkingDirectory(workingDirectory), label });
}

function upsert(issueNumber: number, environment: string, body: string, create = true) {
  return upsertStickyComment(client, { owner: 'octo-org', repo: 'octo-repo', issueNumber, marker: marker(environment), body, author: 'github-actions[bot]', create });
}

beforeEach(async () => {
  github = await new GitHubApiStandIn().start();
  github.addToken(GITHUB_TOKEN, BOT).addToken(PAT, REVIEWER);
  client = await createGitHubClient(GITHUB_TOKEN, github.url);
});
afterEach(async () => {
  expect(github.problems).toEqual([]);
  await github.stop();
});

describe('sticky plan comments', () => {
  it('creates the comment once, then edits it in place; an identical body is left untouched', async () => {
    const first = await upsert(12, 'dev', 'Plan: 1 to add');
    expect(first.action).toBe('created');
    const second = await upsert(12, 'dev', 'Plan: 2 to add');
    expect(second).toMatchObject({ action: 'updated', id: first.id, url: first.url });
    const third = await upsert(12, 'dev', 'Plan: 2 to add');
    expect(third.action).toBe('unchanged');
    expect(github.comments.get(12)).toHaveLength(1);
    expect(github.comments.get(12)![0]!.body).toBe(`${marker('dev')}\nPlan: 2 to add`);
    expect(github.requestsFor('updateComment')).toHaveLength(1);
  });

  it('finds its comment past the first 100 by following the Link header', async () => {
    for (let i = 0; i < 130; i++) github.addComment(12, REVIEWER, `review comment ${i}`);
    const old = github.addComment(12, BOT, `${marker('dev')}\nPlan from an earlier run`);
    for (let i = 0; i < 25; i++) github.addComment(12, REVIEWER, `later comment ${i}`);
    const result = await upsert(12, 'dev', 'Plan: fresh');
    expect(result).toMatchObject({ action: 'updated', id: old.id });
    expect(github.comments.get(12)).toHaveLength(156);
    const pages = github.requestsFor('listComments').map((r) => r.query.get('page') ?? '1');
    expect(pages).toEqual(['1', '2']);
    expect(github.requestsFor('listComments').every((r) => r.query.get('per_page') === '100')).toBe(true);
  });

  it('leaves another user\'s comment with the same marker alone and writes its own', async () => {
    const impostor = github.addComment(12, REVIEWER, `${marker('dev')}\nI copied the marker`);
    const result = await upsert(12, 'dev', 'Plan: real');
    expect(result.action).toBe('created');
    expect(result.id).not.toBe(impostor.id);
    expect(impostor.body).toBe(`${marker('dev')}\nI copied the marker`);
    expect(github.requestsFor('updateComment')).toHaveLength(0);
  });

  it('keeps one comment per environment, working directory and label (a matrix does not overwrite itself)', async () => {
    await upsert(12, 'dev', 'dev plan');
    await upsert(12, 'prod', 'prod plan');
    await upsertStickyComment(client, { owner: 'octo-org', repo: 'octo-repo', issueNumber: 12, marker: marker('dev', './terraform/stacks/metaflow/infra/'), body: 'metaflow plan', author: 'github-actions[bot]', create: true });
    await upsertStickyComment(client, { owner: 'octo-org', repo: 'octo-repo', issueNumber: 12, marker: marker('dev', 'terraform/stacks/bakery', 'eastus'), body: 'eastus plan', author: 'github-actions[bot]', create: true });
    await upsert(12, 'dev', 'dev plan v2');
    const bodies = github.comments.get(12)!.map((c) => c.body as string);
    expect(bodies).toHaveLength(4);
    expect(bodies[0]).toContain('dev plan v2');
    expect(bodies[1]).toContain('prod plan');
    expect(bodies[2]).toContain('working-directory=terraform%2Fstacks%2Fmetaflow%2Finfra');
    expect(bodies[3]).toContain('label=eastus');
  });

  it('creates nothing when asked only to update (comment: on-change without changes)', async () => {
    expect((await upsert(12, 'dev', 'No changes.', false)).action).toBe('skipped');
    expect(github.requestsFor('createComment')).toHaveLength(0);
  });

  it('puts values that could close the HTML comment out of reach of the marker', () => {
    expect(commentMarker('plan', { environment: 'dev', 'working-directory': 'a-->b', label: '<x>' })).toBe('<!-- azure-bakery-plan:environment=dev&working-directory=a--%3Eb&label=%3Cx%3E -->');
  });

  it('works against GitHub Enterprise Server\'s /api/v3 base URL', async () => {
    const ghes = await new GitHubApiStandIn('/api/v3').start();
    try {
      ghes.addToken(GITHUB_TOKEN, BOT);
      for (let i = 0; i < 101; i++) ghes.addComment(3, REVIEWER, `comment ${i}`);
      const ghesClient = await createGitHubClient(GITHUB_TOKEN, `${ghes.url}/`);
      const result = await upsertStickyComment(ghesClient, { owner: 'octo-org', repo: 'octo-repo', issueNumber: 3, marker: marker('dev'), body: 'x', author: 'github-actions[bot]', create: true });
      expect(result.action).toBe('created');
      expect(ghes.requestsFor('listComments')).toHaveLength(2);
      expect(ghes.problems).toEqual([]);
    } finally {
      await ghes.stop();
    }
  });
});

describe('whose comments are ours', () => {
  it('is github-actions[bot] for GITHUB_TOKEN, which cannot read /user or /app', async () => {
    expect(await resolveCommentAuthor(client)).toBe('github-actions[bot]');
    expect(github.requestsFor('getAuthenticatedUser')).toHaveLength(1);
    expect(github.requestsFor('getAuthenticatedApp')).toHaveLength(1);
  });

  it('is the user behind a personal access token', async () => {
    expect(await resolveCommentAuthor(await createGitHubClient(PAT, github.url))).toBe('octo-reviewer');
  });

  it('is the given login when one is set (a GitHub App token), without asking', async () => {
    expect(await resolveCommentAuthor(client, 'bakery-bot[bot]')).toBe('bakery-bot[bot]');
    expect(github.requestsFor('getAuthenticatedUser')).toHaveLength(0);
  });

  it('a token GitHub does not accept is a GuidedError', async () => {
    const error = await resolveCommentAuthor(await createGitHubClient('ghp_revoked', github.url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuidedError);
    expect((error as Error).message).toContain('401 Bad credentials');
  });
});

describe('which pull request', () => {
  it('is the event\'s own on pull_request events, without an API call', async () => {
    expect(await findPullRequest(client, run({ eventName: 'pull_request', payload: { number: 5, pull_request: { number: 5 } } }))).toEqual({ number: 5, source: 'the pull_request event' });
    expect(await findPullRequest(client, run({ eventName: 'issue_comment', payload: { issue: { number: 8, pull_request: { url: 'x' } } } }))).toMatchObject({ number: 8 });
    expect(github.requests).toHaveLength(0);
  });

  it('on push is the open pull request whose head is the commit, through commits/{sha}/pulls', async () => {
    github.addPullRequest({ number: 40, headSha: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', commits: [HEAD] });
    github.addPullRequest({ number: 41, headSha: HEAD });
    expect(await findPullRequest(client, run())).toEqual({ number: 41, source: 'commit e5bd391' });
    expect(github.requestsFor('listPullsForCommit')[0]!.path).toBe(`/repos/octo-org/octo-repo/commits/${HEAD}/pulls`);
  });

  it('after a merge is the merged pull request the commit came from', async () => {
    github.addPullRequest({ number: 49, headSha: 'cccccccccccccccccccccccccccccccccccccccc', state: 'closed', merged: false, commits: [HEAD] });
    github.addPullRequest({ number: 50, headSha: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', state: 'closed', merged: true, commits: [HEAD] });
    expect(await findPullRequest(client, run({ eventName: 'workflow_dispatch' }))).toMatchObject({ number: 50 });
  });

  it('is none when no pull request contains the commit', async () => {
    expect(await findPullRequest(client, run())).toBeUndefined();
  });
});
