import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { ConfigurationError, GuidedError } from '../../src/lib/errors.js';
import { fetchPlan } from '../../src/lib/plan-store.js';
import { GITHUB_COMMENT_LIMIT } from '../../src/lib/plan-summary.js';
import { StateLockError } from '../../src/lib/terraform.js';
import { run } from '../../src/plan/main.js';
import { AzureStandIn } from '../support/azure-stand-in.js';
import { AZURITE_KEY, startAzurite, type Azurite } from '../support/azurite.js';
import { installFakeTerraform, type FakeTerraform } from '../support/fake-terraform.js';
import { GitHubApiStandIn } from '../support/github-api.js';
import { runInProcess, type InProcessRun } from '../support/in-process.js';

// The plan action's run() in this process, with the environment a runner gives it: fake terraform on
// PATH, the state container in Azurite, the GitHub API stand-in. dist is covered by plan-dist.test.ts.

const SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
const TOKEN = 'ghs_planActionTestInstallationToken0123';
const STACK = 'terraform/stacks/bakery';
const RUN_URL = 'https://github.com/octo-org/octo-repo/actions/runs/1658821493';

let azurite: Azurite;
let github: GitHubApiStandIn;
let fake: FakeTerraform;
let workspace: string;

beforeAll(async () => {
  [azurite, github] = await Promise.all([startAzurite(), new GitHubApiStandIn().start()]);
  github.addToken(TOKEN, { kind: 'installation', appSlug: 'github-actions' });
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('tfstate').create();
});
afterAll(async () => {
  await Promise.all([azurite?.stop(), github?.stop()]);
});
beforeEach(() => {
  fake = installFakeTerraform();
  workspace = mkdtempSync(path.join(tmpdir(), 'plan-action-'));
  for (const environment of ['dev', 'prod']) {
    const stack = path.join(workspace, STACK);
    mkdirSync(stack, { recursive: true });
    writeFileSync(path.join(stack, 'main.tf'), 'terraform {\n  backend "azurerm" {}\n}\n');
    writeFileSync(path.join(stack, `backend-${environment}.hcl`), `storage_account_name = "devstoreaccount1"\ncontainer_name = "tfstate"\nkey = "bakery/${environment}.tfstate"\n`);
  }
  github.comments.clear();
  github.pullRequests.length = 0;
  github.requests.length = 0;
});
afterEach(() => {
  expect(github.problems).toEqual([]);
});

interface PlanRun {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  eventName?: string;
  event?: unknown;
}

async function plan(options: PlanRun = {}): Promise<InProcessRun & { comments: () => Record<string, unknown>[] }> {
  const eventPath = path.join(workspace, `event-${Date.now()}.json`);
  writeFileSync(eventPath, JSON.stringify(options.event ?? {}));
  // @actions/core remembers the first summary file it wrote; each run here has its own.
  (core.summary as unknown as { _filePath?: string })._filePath = undefined;
  const result = await runInProcess(run, {
    workDir: workspace,
    inputs: {
      'working-directory': STACK,
      environment: 'dev',
      auth: 'connection-string',
      'connection-string': azurite.connectionString,
      'github-token': TOKEN,
      'github-api-url': github.url,
      ...options.inputs,
    },
    env: {
      ...fake.env,
      RUNNER_TEMP: path.join(workspace, 'runner-temp'),
      GITHUB_SHA: SHA,
      GITHUB_REPOSITORY: 'octo-org/octo-repo',
      GITHUB_EVENT_NAME: options.eventName ?? 'push',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_RUN_ID: '1658821493',
      GITHUB_SERVER_URL: 'https://github.com',
      ...options.env,
    },
  });
  return { ...result, comments: () => [...github.comments.values()].flat() };
}

describe('plan on push and workflow_dispatch', () => {
  it('finds the pull request of the commit, comments once per environment, and edits each in place on re-runs', async () => {
    github.addPullRequest({ number: 21, headSha: SHA });
    const first = await plan({ env: { FAKE_TF_PLAN: 'basic-create' } });
    expect(first.error).toBeUndefined();
    expect(first.outputs).toMatchObject({ 'has-changes': 'true', add: '3', change: '0', destroy: '0', replace: '0', 'plan-id': `dev/${SHA}/terraform-stacks-bakery` });
    expect(github.comments.get(21)).toHaveLength(1);
    const devComment = github.comments.get(21)![0]!;
    expect(first.outputs['comment-url']).toBe(devComment.html_url);
    expect(devComment.body).toContain('Plan: 3 to add, 0 to change, 0 to destroy.');

    const rerun = await plan({ env: { FAKE_TF_PLAN: 'basic-delete' } });
    expect(rerun.outputs['comment-url']).toBe(devComment.html_url);
    expect(github.comments.get(21)).toHaveLength(1);
    expect(devComment.body).toContain('to destroy');
    expect(devComment.body).not.toContain('Plan: 3 to add');

    const prod = await plan({ inputs: { environment: 'prod' }, env: { FAKE_TF_PLAN: 'basic-create' } });
    expect(prod.outputs['plan-id']).toBe(`prod/${SHA}/terraform-stacks-bakery`);
    expect(github.comments.get(21)).toHaveLength(2);
    expect(github.comments.get(21)![1]!.body).toContain('environment=prod');
    expect(github.requestsFor('createComment')).toHaveLength(2);
    expect(github.requestsFor('updateComment')).toHaveLength(1);
  });

  it('skips the comment with a notice when no pull request contains the commit, and still stores and summarises', async () => {
    const result = await plan({ eventName: 'workflow_dispatch' });
    expect(result.error).toBeUndefined();
    expect(result.log).toContain(`::notice::No pull request found for this workflow_dispatch (commit ${SHA.slice(0, 7)}), so no comment was made`);
    expect(result.outputs['comment-url']).toBe('');
    expect(result.summary).toContain('Plan: 3 to add');
    expect(github.requestsFor('createComment')).toHaveLength(0);
    await expect(fetchPlan({ kind: 'connection-string', connectionString: azurite.connectionString, containerName: 'tfstate' }, result.outputs['plan-id']!, path.join(workspace, 'check'))).resolves.toMatchObject({ sha256: result.outputs['plan-sha256'] });
  });

  it('with comment: on-change and no changes, creates no comment and reports has-changes false', async () => {
    github.addPullRequest({ number: 22, headSha: SHA });
    const result = await plan({ inputs: { comment: 'on-change' }, env: { FAKE_TF_PLAN: 'basic-update' } });
    expect(result.error).toBeUndefined();
    expect(result.outputs).toMatchObject({ 'has-changes': 'false', add: '0', change: '0', destroy: '0', 'comment-url': '' });
    expect(github.requestsFor('createComment')).toHaveLength(0);
  });

  it('plans a destroy when asked', async () => {
    const result = await plan({ inputs: { destroy: 'true', comment: 'off' } });
    expect(result.error).toBeUndefined();
    expect(fake.calls().find((c) => c.command === 'plan')!.argv).toContain('-destroy');
  });
});

describe('plan on pull_request', () => {
  const prEvent = { number: 7, pull_request: { number: 7, head: { sha: SHA } } };

  it('keeps a 5 MB text plan under the comment limit, saying where the full plan is', async () => {
    const result = await plan({ eventName: 'pull_request', event: prEvent, env: { FAKE_TF_PLAN: 'basic-create', FAKE_TF_TEXT_BYTES: String(5 * 1024 * 1024) } });
    expect(result.error).toBeUndefined();
    const body = github.comments.get(7)![0]!.body as string;
    expect(body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(body.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT - 8_000); // the text plan fills what is left
    expect(body).toContain('Plan: 3 to add, 0 to change, 0 to destroy.'); // the summary is never cut
    expect(body).toContain(RUN_URL);
    expect(body).toMatch(/The plan text was shortened to fit GitHub's limit: showing \d+ of \d+ lines; the full plan is in <https:\/\/github\.com\/octo-org\/octo-repo\/actions\/runs\/1658821493>/);
    expect(Buffer.byteLength(result.summary)).toBeLessThan(1024 * 1024);
    expect(result.summary).toContain('Plan: 3 to add');
  });

  it('never shows a sensitive value or a secret-values string in the comment, summary, outputs or log', async () => {
    const secret = 'db-password-Xq9#2024';
    const result = await plan({
      eventName: 'pull_request',
      event: prEvent,
      inputs: { 'secret-values': secret, variables: `admin_password=${secret}` },
      env: { FAKE_TF_PLAN: 'sensitive-values', FAKE_TF_PLAN_SAY: `connecting with ${secret}` },
    });
    expect(result.error).toBeUndefined();
    const body = github.comments.get(7)![0]!.body as string;
    expect(body).toContain('test_instance.test');
    for (const text of [body, result.summary, JSON.stringify(result.outputs), result.log]) {
      expect(text).not.toContain('boop'); // the fixture's sensitive attribute, output and variable value
      expect(text).not.toContain(secret);
    }
    expect(result.masked).toContain(secret);
    expect(result.log).toContain('connecting with ***');
    // Terraform still got the real value.
    expect(fake.calls().find((c) => c.command === 'plan')!.argv).toContain(`admin_password=${secret}`);
  });

  it('annotates validate errors on their lines, reports them in the comment and summary, and does not plan', async () => {
    const diagnostics = [{ severity: 'error', summary: 'Unsupported argument', detail: 'An argument named "node_count" is not expected here.', range: { filename: 'main.tf', start: { line: 14, column: 5, byte: 301 }, end: { line: 14, column: 15, byte: 311 } } }];
    const result = await plan({ eventName: 'pull_request', event: prEvent, env: { FAKE_TF_VALIDATE: JSON.stringify(diagnostics) } });
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toContain('terraform validate found 1 error');
    expect(result.log).toMatch(/::error title=terraform validate%3A Unsupported argument,file=terraform\/stacks\/bakery\/main\.tf,line=14,endLine=14,col=5,endColumn=15::/);
    expect(fake.calls().map((c) => c.command)).not.toContain('plan');
    const body = github.comments.get(7)![0]!.body as string;
    expect(body).toContain('An argument named "node_count" is not expected here.');
    expect(result.summary).toContain('Unsupported argument');
  });

  it('reports a held state lock with the lock id, holder and the force-unlock command', async () => {
    const result = await plan({ eventName: 'pull_request', event: prEvent, env: { FAKE_TF_LOCK: '1' } });
    expect(result.error).toBeInstanceOf(StateLockError);
    expect((result.error as Error).message).toContain('terraform force-unlock -force b5e5d1a4-6f1e-2c3b-9d8e-7f6a5b4c3d2e');
    expect((result.error as Error).message).toContain('Held by:   runner@fv-az1234-567 running apply');
    const body = github.comments.get(7)![0]!.body as string;
    expect(body).toContain('Error acquiring the state lock');
    expect(body).toContain('**What to do:**');
    expect(body).toContain('terraform force-unlock -force b5e5d1a4-6f1e-2c3b-9d8e-7f6a5b4c3d2e');
    expect(result.summary).toContain('terraform force-unlock -force b5e5d1a4-6f1e-2c3b-9d8e-7f6a5b4c3d2e');
    expect(result.outputs['plan-id']).toBeUndefined();
    expect(fake.calls().find((c) => c.command === 'plan')!.argv).not.toContain('-lock=false');
  });

  it('with lock: false, plans past a held lock and says in the log, summary and comment that the plan is for review only', async () => {
    const result = await plan({ eventName: 'pull_request', event: prEvent, inputs: { lock: 'false', 'store-plan': 'false' }, env: { FAKE_TF_LOCK: '1' } });
    expect(result.error).toBeUndefined();
    expect(fake.calls().find((c) => c.command === 'plan')!.argv).toContain('-lock=false');
    expect(result.log).toContain('Planned without the state lock (lock: false)');
    const body = github.comments.get(7)![0]!.body as string;
    for (const text of [result.summary, body]) {
      expect(text).toContain('Plan: 3 to add');
      expect(text).toContain('planned without the state lock (lock: false): for review only');
    }
    expect(result.outputs).toMatchObject({ 'has-changes': 'true', 'plan-id': '', 'plan-sha256': '' });
  });

  it('turns a comment GitHub refuses into a warning; the plan still succeeds', async () => {
    const result = await plan({ eventName: 'pull_request', event: prEvent, inputs: { 'github-token': 'ghs_revokedToken000000000000000000000' } });
    expect(result.error).toBeUndefined();
    expect(result.log).toContain('::warning::GitHub refused "github-token" (401 Bad credentials)');
    expect(result.outputs).toMatchObject({ 'has-changes': 'true', 'comment-url': '' });
  });
});

describe('OIDC', () => {
  it('gives Terraform ARM_USE_OIDC and stores the plan with an Entra ID token from the GitHub OIDC token', async () => {
    const standIn = await new AzureStandIn().start();
    const https = await startAzurite({ oauth: true });
    try {
      await BlobServiceClient.fromConnectionString(https.connectionString).getContainerClient('tfstate').create();
      const { INPUT_AUTH: _auth, ...authEnv } = standIn.authEnv('oidc');
      const result = await plan({ inputs: { auth: 'oidc', 'connection-string': '', comment: 'off', 'blob-endpoint': https.blobEndpoint }, env: authEnv });
      expect(result.error).toBeUndefined();
      expect(fake.calls().find((c) => c.command === 'plan')!.env).toMatchObject({ ARM_USE_OIDC: 'true', ARM_CLIENT_ID: '11111111-2222-3333-4444-555555555555', ARM_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47' });
      expect([...standIn.githubTokens.values()]).toContain('api://AzureADTokenExchange');
      expect([...standIn.issuedTokens.values()].some((t) => t.method === 'assertion' && t.scope === 'https://storage.azure.com/.default')).toBe(true);
      expect(result.outputs['plan-sha256']).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await Promise.all([standIn.stop(), https.stop()]);
    }
  });
});

describe('inputs', () => {
  it.each([
    [{ environment: 'Dev' }, 'environment', /lowercase environment name/],
    [{ comment: 'sometimes' }, 'comment', /always, on-change, off/],
    [{ 'var-files': 'missing.tfvars' }, 'var-files', /missing\.tfvars/],
    [{ 'terraform-version': 'latest' }, 'terraform-version', /release version/],
    [{ 'github-token': '', comment: 'always' }, 'github-token', /comment/],
    [{ 'working-directory': 'terraform/nope' }, 'working-directory', /not a directory/],
    [{ 'backend-config-file': 'backend-staging.hcl' }, 'backend-config-file', /does not exist/],
    [{ lock: 'false' }, 'lock', /is false while "store-plan" is true\. A plan made without the state lock is for review only/],
    [{ lock: 'false', 'store-plan': 'true' }, 'lock', /Set "store-plan" to false/],
    [{ lock: 'no-thanks', 'store-plan': 'false' }, 'lock', /not a boolean/],
  ])('%j is a ConfigurationError naming %s, before any Terraform call', async (inputs, name, problem) => {
    const result = await plan({ inputs });
    expect(result.error).toBeInstanceOf(ConfigurationError);
    expect((result.error as ConfigurationError).input).toBe(name);
    expect((result.error as Error).message).toMatch(problem);
    expect(fake.calls()).toEqual([]);
  });

  it('masks the connection string and its key', async () => {
    const result = await plan({ inputs: { comment: 'off' } });
    expect(result.masked).toEqual(expect.arrayContaining([AZURITE_KEY]));
    expect(result.log).not.toContain(AZURITE_KEY);
  });
});
