import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { fetchPlan } from '../../src/lib/plan-store.js';
import { startAzurite, AZURITE_KEY, type Azurite } from '../support/azurite.js';
import { installFakeTerraform, type FakeTerraform } from '../support/fake-terraform.js';
import { GitHubApiStandIn } from '../support/github-api.js';
import { runDist } from '../support/run-dist.js';

// The built action (dist/plan/index.js, `npm run bundle plan`) run as a runner runs it, end to end:
// fake terraform on PATH, the state account in Azurite (auth: connection-string), the GitHub API stand-in.

const SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
const TOKEN = 'ghs_planDistTestToken0123456789abcdef';
const CLIENT_SECRET_IN_PLAN = 'plan-dist-secret-Vq7!x';

let azurite: Azurite;
let github: GitHubApiStandIn;
let terraform: FakeTerraform;
let workspace: string;

beforeAll(async () => {
  [azurite, github] = await Promise.all([startAzurite(), new GitHubApiStandIn('/api/v3').start()]);
  github.addToken(TOKEN, { kind: 'installation', appSlug: 'github-actions' });
  terraform = installFakeTerraform();
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('tfstate').create();
  workspace = mkdtempSync(path.join(tmpdir(), 'plan-dist-'));
  const stack = path.join(workspace, 'terraform/stacks/bakery');
  mkdirSync(stack, { recursive: true });
  writeFileSync(path.join(stack, 'main.tf'), 'terraform {\n  required_providers {\n    azurerm = { source = "hashicorp/azurerm", version = "~> 4.14" }\n  }\n  backend "azurerm" {}\n}\n');
  writeFileSync(path.join(stack, 'backend-dev.hcl'), 'storage_account_name = "devstoreaccount1"\ncontainer_name       = "tfstate"\nkey                  = "bakery/dev.terraform.tfstate"\nuse_azuread_auth     = true\n');
});

afterAll(async () => {
  await Promise.all([azurite?.stop(), github?.stop()]);
});

describe('dist/plan/index.js as a runner runs it', () => {
  it('plans, stores the plan in Azurite, comments on the pull request and writes the summary, leaking nothing', async () => {
    const result = await runDist('plan', {
      cwd: workspace,
      eventName: 'pull_request',
      event: { number: 7, pull_request: { number: 7, head: { sha: SHA } } },
      inputs: {
        'working-directory': 'terraform/stacks/bakery',
        environment: 'dev',
        auth: 'connection-string',
        'connection-string': azurite.connectionString,
        'github-token': TOKEN,
        'github-api-url': github.url,
        'secret-values': CLIENT_SECRET_IN_PLAN,
      },
      env: { ...terraform.env, FAKE_TF_PLAN: 'requires-replace', FAKE_TF_PLAN_SAY: `provider debug: password=${CLIENT_SECRET_IN_PLAN}` },
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.outputs).toMatchObject({
      'has-changes': 'true',
      add: '1',
      change: '0',
      destroy: '1',
      replace: '1',
      import: '0',
      move: '0',
      forget: '0',
      'plan-id': `dev/${SHA}/terraform-stacks-bakery`,
    });

    // Terraform ran in the root module, in automation mode, with the backend key from the connection string.
    const calls = terraform.calls();
    expect(calls.map((c) => c.command)).toEqual(['version', 'init', 'validate', 'plan', 'show', 'show']);
    const plan = calls.find((c) => c.command === 'plan')!;
    expect(plan.cwd).toBe(path.join(workspace, 'terraform/stacks/bakery'));
    expect(plan.argv).toContain('-detailed-exitcode');
    expect(plan.env).toMatchObject({ TF_IN_AUTOMATION: '1', TF_INPUT: '0', ARM_ACCESS_KEY: AZURITE_KEY });
    expect(calls.find((c) => c.command === 'init')!.argv).toContain(`-backend-config=${path.join(workspace, 'terraform/stacks/bakery/backend-dev.hcl')}`);

    // The stored plan is the plan file this run wrote, byte for byte.
    const fetched = await fetchPlan({ kind: 'connection-string', connectionString: azurite.connectionString, containerName: 'tfstate' }, result.outputs['plan-id']!, path.join(result.workDir, 'fetched.tfplan'));
    expect(fetched.sha256).toBe(result.outputs['plan-sha256']);
    expect(fetched).toMatchObject({ environment: 'dev', commit: SHA, workingDirectory: 'terraform/stacks/bakery', hasChanges: true });

    // One comment by github-actions[bot] on PR 7, with the marker, the summary and the text plan.
    const comments = github.comments.get(7)!;
    expect(comments).toHaveLength(1);
    expect((comments[0]!.user as { login: string }).login).toBe('github-actions[bot]');
    const body = comments[0]!.body as string;
    expect(body).toContain('<!-- azure-bakery-plan:environment=dev&working-directory=terraform%2Fstacks%2Fbakery&label= -->');
    expect(body).toContain('test_instance.test');
    expect(body).toContain('```diff');
    expect(result.outputs['comment-url']).toBe(comments[0]!.html_url);
    expect(result.summary).toContain('test_instance.test');
    expect(github.problems).toEqual([]);

    // The extra secret the plan printed is masked in the log; neither it nor the token nor the key is anywhere.
    for (const secret of [CLIENT_SECRET_IN_PLAN, TOKEN, AZURITE_KEY]) {
      expect(result.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n')).not.toContain(secret);
      expect(result.summary).not.toContain(secret);
      expect(body).not.toContain(secret);
      expect(JSON.stringify(result.outputs)).not.toContain(secret);
    }
    expect(result.stdout).toContain('provider debug: password=***');
  });

  it('fails fast with a ConfigurationError naming the input when "environment" is missing', async () => {
    const result = await runDist('plan', { cwd: workspace, inputs: { 'working-directory': 'terraform/stacks/bakery', comment: 'off', auth: 'connection-string', 'connection-string': azurite.connectionString } });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('::error::plan: Input "environment" is required but empty');
    expect(terraform.calls().filter((c) => c.cwd.startsWith(workspace)).length).toBe(6); // nothing ran this time
    console.log(`plan cold start with a missing input: ${result.durationMs.toFixed(0)} ms`);
  });

  it('refuses lock: false with store-plan at its default (true), before Terraform runs', async () => {
    const before = terraform.calls().length;
    const result = await runDist('plan', { cwd: workspace, inputs: { 'working-directory': 'terraform/stacks/bakery', environment: 'dev', comment: 'off', lock: 'false', auth: 'connection-string', 'connection-string': azurite.connectionString } });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('::error::plan: Input "lock" is false while "store-plan" is true. A plan made without the state lock is for review only');
    expect(terraform.calls()).toHaveLength(before);
  });
});
