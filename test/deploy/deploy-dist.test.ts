import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { installFakeTerraform } from '../support/fake-terraform.js';
import { runDist } from '../support/run-dist.js';
import { BAKERY, SECRET_IN_OUTPUT, makeWorkspace, planWithStackOutputs, sample, storeReviewedPlan } from './helpers.js';

// The built action (dist/deploy/index.js; `npm run bundle deploy`) as a runner runs it: inputs as
// INPUT_*, outputs and summary through the runner's files, fake terraform, plans in Azurite.

let azurite: Azurite;

beforeAll(async () => {
  azurite = await startAzurite();
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('tfstate').create();
});

afterAll(async () => {
  await azurite?.stop();
});

function inputs(commit: string, terraformBinary: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    environment: 'dev',
    'working-directory': BAKERY,
    commit,
    auth: 'connection-string',
    'connection-string': azurite.connectionString,
    'subscription-id': '00000000-0000-0000-0000-000000000000',
    'terraform-binary': terraformBinary,
    ...extra,
  };
}

describe('dist/deploy/index.js as a runner runs it', () => {
  it('applies the reviewed plan and sets the outputs; the sensitive value is masked and kept out of the log and summary', async () => {
    const workspace = makeWorkspace([BAKERY]);
    const terraform = installFakeTerraform();
    const commit = randomBytes(20).toString('hex');
    await storeReviewedPlan(azurite, workspace, BAKERY, planWithStackOutputs(), commit);
    const run = await runDist('deploy', { cwd: workspace, inputs: inputs(commit, path.join(terraform.binDir, 'terraform')), env: terraform.env });
    expect(run.stderr).toBe('');
    expect(run.exitCode, run.stdout).toBe(0);
    expect(terraform.calls().map((call) => call.command)).toEqual(['version', 'init', 'show', 'apply', 'output']);
    expect(run.outputs).toMatchObject({ 'resource-group-name': 'bakery-dev-rg', 'cluster-name': 'bakery-dev-aks', 'registry-login-server': 'bakerydevacr.azurecr.io', test: 'bar' });
    // The runner is told to mask it before anything could print it; the log and summary never hold it.
    const maskLines = run.stdout.split('\n').filter((line) => line.startsWith('::add-mask::'));
    expect(maskLines).toContain(`::add-mask::${SECRET_IN_OUTPUT}`);
    const log = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n');
    expect(log).not.toContain(SECRET_IN_OUTPUT);
    expect(run.summary).not.toContain(SECRET_IN_OUTPUT);
    expect(run.summary).toContain('| `metaflow-config` | (sensitive) |');
    expect(run.summary).toContain('https://portal.azure.com/#resource/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/bakery-dev-rg/overview');
  });

  it('fails with re-plan guidance when no plan was stored, without applying', async () => {
    const workspace = makeWorkspace([BAKERY]);
    const terraform = installFakeTerraform();
    const commit = randomBytes(20).toString('hex');
    const run = await runDist('deploy', { cwd: workspace, inputs: inputs(commit, path.join(terraform.binDir, 'terraform')), env: terraform.env });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`::error::deploy: No stored plan "dev/${commit}/terraform-stacks-bakery"`);
    expect(run.stdout).toContain('Re-plan: run the plan action for this commit and environment');
    expect(terraform.calls().map((call) => call.command)).not.toContain('apply');
  });

  it('stops at once on an authorization failure and names the role and scope to grant', async () => {
    const workspace = makeWorkspace([BAKERY]);
    const terraform = installFakeTerraform();
    const commit = randomBytes(20).toString('hex');
    await storeReviewedPlan(azurite, workspace, BAKERY, 'basic-create', commit);
    const run = await runDist('deploy', {
      cwd: workspace,
      inputs: inputs(commit, path.join(terraform.binDir, 'terraform')),
      env: { ...terraform.env, FAKE_TF_FAIL: 'apply:1', FAKE_TF_FAIL_TEXT: sample('authorization-failed.txt') },
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/::error::deploy: The deploying identity \(object id cca26a02-04f6-4d8b-85c1-d55f6dd4cca3\) may not perform Microsoft\.Authorization\/roleAssignments\/write/);
    expect(run.stdout).toContain('Role Based Access Control Administrator');
    expect(terraform.calls().filter((call) => call.command === 'apply')).toHaveLength(1);
  });

  it('a missing required input fails fast, before any work', async () => {
    const run = await runDist('deploy', { inputs: { environment: 'dev', auth: 'connection-string' } });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('::error::deploy: Input "connection-string" is required but empty.');
    expect(run.durationMs).toBeLessThan(3000);
  });
});
