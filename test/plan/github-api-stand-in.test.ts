import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubApiStandIn } from '../support/github-api.js';

// The GitHub API stand-in must refuse what GitHub would refuse, or the comment tests prove nothing:
// these send it requests (and make it send responses) that do not match GitHub's description.

const TOKEN = 'ghs_standInCheckInstallationToken000001';
const COMMENTS = '/repos/octo-org/octo-repo/issues/5/comments';

let github: GitHubApiStandIn;

beforeAll(async () => {
  github = await new GitHubApiStandIn('/api/v3').start();
  github.addToken(TOKEN, { kind: 'installation', appSlug: 'github-actions' });
});
afterAll(async () => {
  await github?.stop();
});
beforeEach(() => {
  github.problems.length = 0;
  github.comments.clear();
});

async function call(method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${github.url}${pathAndQuery}`, {
    method,
    headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('GitHub API stand-in checks', () => {
  it('answers a request that matches the description, with no problem', async () => {
    const created = await call('POST', COMMENTS, { body: 'Plan: 1 to add' });
    expect(created.status).toBe(201);
    const listed = await call('GET', `${COMMENTS}?per_page=100&page=1`);
    expect(listed.status).toBe(200);
    expect(github.problems).toEqual([]);
  });

  it.each([
    ['a per_page above 100', 'GET', `${COMMENTS}?per_page=101`, undefined, /per_page 101 is outside 1\.\.100/],
    ['a query parameter the operation does not take', 'GET', `${COMMENTS}?sort=created`, undefined, /unknown query parameter 'sort'/],
    ['a path parameter of the wrong type', 'GET', '/repos/octo-org/octo-repo/issues/five/comments', undefined, /parameters .*must be integer/],
    ['a body of the wrong type', 'POST', COMMENTS, { body: 42 }, /body .*must be string/],
    ['a body without a required property', 'POST', COMMENTS, { text: 'x' }, /must have required property 'body'/],
    ['a misspelt body property', 'PATCH', '/repos/octo-org/octo-repo/issues/comments/1', { body: 'x', bdoy: 'y' }, /body property 'bdoy' is not in the description/],
  ])('refuses %s with 422 and records it', async (_what, method, pathAndQuery, body, problem) => {
    const answer = await call(method, pathAndQuery, body);
    expect(answer.status).toBe(422);
    expect(answer.json.message).toBe('Validation Failed');
    expect(github.problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('records a call of an operation it does not serve', async () => {
    const answer = await call('DELETE', '/repos/octo-org/octo-repo/issues/comments/1');
    expect(answer.status).toBe(404);
    expect(github.problems).toEqual(['request to an operation this stand-in does not serve: DELETE /repos/octo-org/octo-repo/issues/comments/1']);
  });

  it('records a response of its own that does not match the description', async () => {
    // A comment without the fields GitHub always sends, as a broken stand-in might store it.
    github.comments.set(5, [{ id: 1, body: 'no user, no url' }]);
    const answer = await call('GET', COMMENTS);
    expect(answer.status).toBe(200);
    expect(github.problems).toEqual([expect.stringMatching(/^response does not match GitHub's description: GET \/repos\/\{owner\}\/\{repo\}\/issues\/\{issue_number\}\/comments: 200 response .*must have required property/)]);
  });

  it('lets an error status GitHub sends on every operation (401) through, though the description does not list it there', async () => {
    const response = await fetch(`${github.url}/repos/octo-org/octo-repo/commits/6dcb09b5b57875f334f61aebed695e2e4193db5e/pulls`, { headers: { authorization: 'token ghs_unknown' } });
    expect(response.status).toBe(401);
    expect(github.problems).toEqual([]);
  });
});
