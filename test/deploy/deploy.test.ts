import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { readInputs } from '../../src/deploy/inputs.js';
import { deploy } from '../../src/deploy/main.js';
import { ConfigurationError, GuidedError } from '../../src/lib/errors.js';
import { STACK_OUTPUTS, toActionOutputName } from '../../src/lib/stack-outputs.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { installFakeTerraform, type FakeTerraform } from '../support/fake-terraform.js';
import { runInProcess } from '../support/in-process.js';
import { BAKERY, METAFLOW_INFRA, METAFLOW_SERVICES, SECRET_IN_OUTPUT, makeWorkspace, planWithStackOutputs, sample, storeReviewedPlan } from './helpers.js';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

// deploy's run() in this process against Azurite (the plan store, auth: connection-string) and the fake
// terraform; the retry waits are recorded instead of slept.

let azurite: Azurite;

beforeAll(async () => {
  azurite = await startAzurite();
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('tfstate').create();
});

afterAll(async () => {
  await azurite?.stop();
});

interface Case {
  workspace: string;
  terraform: FakeTerraform;
  commit: string;
  sleeps: number[];
}

function newCase(directories?: string[]): Case {
  return { workspace: makeWorkspace(directories), terraform: installFakeTerraform(), commit: randomBytes(20).toString('hex'), sleeps: [] };
}

function runDeploy(c: Case, inputs: Record<string, string>, env: Record<string, string> = {}) {
  return runInProcess(() => deploy(readInputs(), { sleep: async (ms) => void c.sleeps.push(ms), random: () => 0 }).then(() => undefined), {
    workDir: c.workspace,
    inputs: {
      environment: 'dev',
      'working-directory': BAKERY,
      commit: c.commit,
      auth: 'connection-string',
      'connection-string': azurite.connectionString,
      'terraform-binary': path.join(c.terraform.binDir, 'terraform'),
      ...inputs,
    },
    env: { ...c.terraform.env, ...env },
  });
}

const commands = (c: Case) => c.terraform.calls().map((call) => call.command);

describe('deploy applies the reviewed plan', () => {
  it('applies the stored plan, publishes every output in kebab-case and masks the sensitive one everywhere', async () => {
    const c = newCase();
    const stored = await storeReviewedPlan(azurite, c.workspace, BAKERY, planWithStackOutputs(), c.commit);
    const result = await runDeploy(c, { 'tenant-id': '72f988bf-86f1-41af-91ab-2d7cd011db47', 'subscription-id': '00000000-0000-0000-0000-000000000000' });
    expect(result.error).toBeUndefined();
    expect(commands(c)).toEqual(['version', 'init', 'show', 'apply', 'output']);
    const apply = c.terraform.calls().find((call) => call.command === 'apply')!;
    expect(apply.cwd).toBe(path.join(c.workspace, BAKERY));

    expect(result.outputs).toMatchObject({
      test: 'bar',
      'resource-group-name': 'bakery-dev-rg',
      'cluster-name': 'bakery-dev-aks',
      'registry-login-server': 'bakerydevacr.azurecr.io',
    });
    // The sensitive output reaches later steps through its own output only, masked in the log.
    expect(JSON.parse(result.outputs['metaflow-config']!)).toEqual({ METAFLOW_SERVICE_AUTH_KEY: SECRET_IN_OUTPUT, METAFLOW_DATASTORE_SYSROOT_AZURE: 'metaflow/data' });
    expect(result.masked).toContain(SECRET_IN_OUTPUT);
    expect(Object.entries(result.outputs).filter(([name, value]) => name !== 'metaflow-config' && value.includes(SECRET_IN_OUTPUT))).toEqual([]);
    expect(result.log).not.toContain(SECRET_IN_OUTPUT);
    expect(result.summary).not.toContain(SECRET_IN_OUTPUT);

    expect(result.summary).toContain('## Deployed dev');
    expect(result.summary).toContain(stored.sha256.slice(0, 12));
    expect(result.summary).toMatch(/\| `metaflow-config` \| \(sensitive\) \|/);
    expect(result.summary).toMatch(/\| `cluster-name` \| `bakery-dev-aks` \|/);
    expect(result.summary).toContain('https://portal.azure.com/#@72f988bf-86f1-41af-91ab-2d7cd011db47/resource/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/bakery-dev-rg/overview');
    expect(result.summary).toContain('/resourceGroups/bakery-dev-rg/providers/Microsoft.ContainerService/managedClusters/bakery-dev-aks/overview');
  });

  it('refuses a stored plan whose bytes no longer match its SHA-256, and applies nothing', async () => {
    const c = newCase();
    const stored = await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    const tampered = 'PK\u0003\u0004 fake terraform plan\n{"fixture":"/tmp/other.json"}\n';
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('tfstate').getBlockBlobClient(`plans/${stored.planId}/tfplan`).upload(tampered, tampered.length);
    const result = await runDeploy(c, {});
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toMatch(/does not match its tfplan\.sha256.*\n.*do not apply it\. Re-plan/);
    expect(commands(c)).not.toContain('apply');
  });

  it('refuses a stored plan that is not the one the plan step reported (plan-sha256)', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    const result = await runDeploy(c, { 'plan-sha256': 'a'.repeat(64) });
    expect((result.error as Error).message).toContain(`does not match the SHA-256 that was reviewed: expected SHA-256 ${'a'.repeat(64)}`);
    expect(commands(c)).not.toContain('apply');
  });

  it('fails with re-plan guidance when no plan was stored for this commit, and applies nothing', async () => {
    const c = newCase();
    const result = await runDeploy(c, {});
    expect(result.error).toBeInstanceOf(GuidedError);
    const message = (result.error as Error).message;
    expect(message).toContain(`No stored plan "dev/${c.commit}/terraform-stacks-bakery"`);
    expect(message).toContain('Re-plan: run the plan action for this commit and environment');
    expect(message).toContain('plan-if-missing: true with require-approved-plan: false');
    expect(commands(c)).toEqual(['version', 'init']);
  });

  it('plans and applies here when plan-if-missing (dev), with the given variables', async () => {
    const c = newCase();
    const result = await runDeploy(c, { 'plan-if-missing': 'true', 'require-approved-plan': 'false', variables: 'location=westeurope' }, { FAKE_TF_PLAN: planWithStackOutputs() });
    expect(result.error).toBeUndefined();
    expect(commands(c)).toEqual(['version', 'init', 'plan', 'show', 'apply', 'output']);
    expect(c.terraform.calls().find((call) => call.command === 'plan')!.argv).toEqual(expect.arrayContaining(['-var', 'location=westeurope']));
    expect(result.log).toContain('Nobody reviewed this plan');
    expect(result.summary).toContain('planned here (plan-if-missing, not reviewed)');
    expect(result.outputs['cluster-name']).toBe('bakery-dev-aks');
  });

  it('refuses plan-if-missing while require-approved-plan is true, before running anything', async () => {
    const c = newCase();
    const result = await runDeploy(c, { 'plan-if-missing': 'true' });
    expect(result.error).toBeInstanceOf(ConfigurationError);
    expect((result.error as ConfigurationError).input).toBe('plan-if-missing');
    expect(c.terraform.calls()).toEqual([]);
  });

  it('applies several root modules in the order given (Metaflow infra, then services)', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, METAFLOW_INFRA, 'basic-create', c.commit);
    await storeReviewedPlan(azurite, c.workspace, METAFLOW_SERVICES, 'modules', c.commit);
    const result = await runDeploy(c, { 'working-directory': '', 'working-directories': `${METAFLOW_INFRA}\n${METAFLOW_SERVICES}` });
    expect(result.error).toBeUndefined();
    const applies = c.terraform.calls().filter((call) => call.command === 'apply' || call.command === 'init');
    expect(applies.map((call) => `${call.command} ${path.relative(c.workspace, call.cwd)}`)).toEqual([
      `init ${METAFLOW_INFRA}`,
      `apply ${METAFLOW_INFRA}`,
      `init ${METAFLOW_SERVICES}`,
      `apply ${METAFLOW_SERVICES}`,
    ]);
    // Each root module with its own backend (state key).
    expect(c.terraform.calls().filter((call) => call.command === 'init').map((call) => call.argv.find((arg) => arg.startsWith('-backend-config=')))).toEqual([
      `-backend-config=${path.join(c.workspace, METAFLOW_INFRA, 'backend-dev.hcl')}`,
      `-backend-config=${path.join(c.workspace, METAFLOW_SERVICES, 'backend-dev.hcl')}`,
    ]);
    // Both outputs named "test": the one applied last wins.
    expect(result.outputs.test).toBe('baz');
  });
  it('when a later root module fails, the summary says which were applied and where it stopped', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, METAFLOW_INFRA, 'basic-create', c.commit);
    const result = await runDeploy(c, { 'working-directory': '', 'working-directories': `${METAFLOW_INFRA}\n${METAFLOW_SERVICES}` });
    expect((result.error as Error).message).toContain(`No stored plan "dev/${c.commit}/terraform-stacks-metaflow-services"`);
    expect(result.summary).toContain('## Deploy of dev stopped at `terraform/stacks/metaflow/services`');
    expect(result.summary).toContain('| `terraform/stacks/metaflow/infra` |');
    expect(result.summary).toContain('Apply complete! Resources: 3 added, 0 changed, 0 destroyed.');
    expect(result.outputs).toEqual({});
  });
});

describe('deploy retries what Azure recovers from, and only within the review', () => {
  it('throttled apply: waits, re-plans, applies the new plan when it stays inside the reviewed changes', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    // The retry plan finds test[0] already created: only test[1] is left (a subset of the review).
    const result = await runDeploy(c, {}, { FAKE_TF_FAIL: 'apply:1', FAKE_TF_FAIL_TEXT: sample('throttled-retry-after.txt'), FAKE_TF_PLAN: 'multi-resource-update' });
    expect(result.error).toBeUndefined();
    expect(commands(c)).toEqual(['version', 'init', 'show', 'apply', 'plan', 'show', 'apply', 'output']);
    const [first, second] = c.terraform.calls().filter((call) => call.command === 'apply');
    expect(first!.argv.at(-1)).toMatch(/reviewed\.tfplan$/);
    expect(second!.argv.at(-1)).toMatch(/retry-2\.tfplan$/);
    // Backoff base 30 s (jitter floor: a quarter), never below the 5 s the service asked for.
    expect(c.sleeps).toEqual([7500]);
    expect(result.log).toContain('apply of terraform/stacks/bakery failed (attempt 1 of 3): Azure Resource Manager throttled the requests');
    expect(result.summary).toContain('2 (retried: throttled)');
  });

  it('when the retry plan finds every reviewed change already made, it applies nothing more', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    const result = await runDeploy(c, {}, { FAKE_TF_FAIL: 'apply:1', FAKE_TF_FAIL_TEXT: sample('network-connection-reset.txt'), FAKE_TF_PLAN: 'basic-update' });
    expect(result.error).toBeUndefined();
    expect(commands(c)).toEqual(['version', 'init', 'show', 'apply', 'plan', 'show', 'output']);
    expect(result.log).toContain('Nothing left to apply in terraform/stacks/bakery');
    expect(result.summary).toContain('Nothing left to apply after the retry.');
  });

  it('refuses to retry when the new plan changes resources the reviewed plan did not', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    const result = await runDeploy(c, {}, { FAKE_TF_FAIL: 'apply:1', FAKE_TF_FAIL_TEXT: sample('another-operation-in-progress.txt'), FAKE_TF_PLAN: 'basic-delete' });
    expect(result.error).toBeInstanceOf(GuidedError);
    const message = (result.error as Error).message;
    expect(message).toContain('Not retrying terraform/stacks/bakery: the new plan would change what the reviewed plan did not (2 resources)');
    expect(message).toContain('test_instance.test-delete (delete): the reviewed plan did not change it');
    expect(message).toContain('Plan again, review the new plan');
    expect(commands(c).filter((command) => command === 'apply')).toHaveLength(1);
  });

  it('stops after max-attempts and says how often it tried', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    const result = await runDeploy(c, { 'max-attempts': '2' }, { FAKE_TF_FAIL: 'apply:5', FAKE_TF_FAIL_TEXT: sample('network-tls-handshake-timeout.txt'), FAKE_TF_PLAN: 'basic-create' });
    expect((result.error as Error).message).toMatch(/The connection to Azure dropped.*The apply of terraform\/stacks\/bakery failed 2 times\./);
    expect(commands(c).filter((command) => command === 'apply')).toHaveLength(2);
    expect(c.sleeps).toHaveLength(1);
  });

  it('does not retry a quota failure: stops at once with the quota, the region and where to ask', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    const result = await runDeploy(c, {}, { FAKE_TF_FAIL: 'apply:1', FAKE_TF_FAIL_TEXT: sample('quota-exceeded.txt') });
    expect(result.error).toBeInstanceOf(GuidedError);
    const message = (result.error as Error).message;
    expect(message).toContain("the subscription's Total Regional Cores quota in westus2 is too small (limit 10, in use 6, this change needs 6 more)");
    expect(message).toContain('https://portal.azure.com/#view/Microsoft_Azure_Capacity/QuotaMenuBlade/~/myQuotas');
    expect(commands(c).filter((command) => command === 'apply')).toHaveLength(1);
    expect(c.sleeps).toEqual([]);
  });

  it('names the planned VM size and the stack variable when Azure has no capacity for it', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    const result = await runDeploy(c, {}, { FAKE_TF_FAIL: 'apply:1', FAKE_TF_FAIL_TEXT: sample('sku-not-available-capacity.txt') });
    const message = (result.error as Error).message;
    expect(message).toContain('Azure does not offer Standard_D4ads_v5 in eastus');
    expect(message).toContain('Pick another VM size with the variable worker_pool.vm_size');
  });

  it('a stale saved plan is refused with re-plan guidance, not retried', async () => {
    const c = newCase();
    await storeReviewedPlan(azurite, c.workspace, BAKERY, 'basic-create', c.commit);
    const result = await runDeploy(c, {}, { FAKE_TF_FAIL: 'apply:1', FAKE_TF_FAIL_TEXT: sample('stale-plan.txt') });
    expect((result.error as Error).message).toMatch(/Terraform refused the saved plan: the state changed after the plan was made[\s\S]*Plan again for this commit/);
    expect(commands(c).filter((command) => command === 'plan' || command === 'apply')).toEqual(['apply']);
  });
});

describe('deploy inputs and metadata', () => {
  it('action.yml declares every stack output in kebab-case and every input deploy reads', () => {
    const action = YAML.parse(readFileSync(path.resolve(import.meta.dirname, '../../actions/deploy/action.yml'), 'utf8')) as { outputs: Record<string, { description: string }>; inputs: Record<string, { description: string }>; runs: { using: string; main: string } };
    const expected = [...new Set(Object.values(STACK_OUTPUTS).flat())].map(toActionOutputName);
    expect(Object.keys(action.outputs).sort()).toEqual(expected.sort());
    expect(action.runs).toEqual({ using: 'node24', main: '../../dist/deploy/index.js' });
    for (const name of ['environment', 'working-directory', 'working-directories', 'backend-config-file', 'plan-id', 'require-approved-plan', 'plan-if-missing', 'var-files', 'variables', 'max-attempts', 'secret-values', 'terraform-binary', 'terraform-version', 'auth', 'subscription-id', 'tenant-id', 'client-id', 'client-secret', 'connection-string', 'arm-endpoint', 'authority-host']) {
      expect(action.inputs[name]?.description, name).toBeTruthy();
    }
  });

  it('refuses two root modules on one state before running anything', async () => {
    const c = newCase();
    const result = await runDeploy(c, { 'working-directory': '', 'working-directories': `${METAFLOW_INFRA}\n${METAFLOW_SERVICES}`, 'backend-config-file': `${METAFLOW_INFRA}/backend-dev.hcl\n${METAFLOW_INFRA}/backend-dev.hcl` });
    expect(result.error).toBeInstanceOf(ConfigurationError);
    expect((result.error as Error).message).toContain(`points ${METAFLOW_INFRA} and ${METAFLOW_SERVICES} at the same state`);
    expect(c.terraform.calls()).toEqual([]);
  });

  it('refuses a plan-id of another environment', async () => {
    const c = newCase();
    const result = await runDeploy(c, { 'plan-id': `prod/${c.commit}/terraform-stacks-bakery` });
    expect((result.error as ConfigurationError).input).toBe('plan-id');
    expect(c.terraform.calls()).toEqual([]);
  });
});
