import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { defaultResourceGroupName, defaultStateKey, defaultStorageAccountName } from '../../src/lib/remote-state-names.js';
import { runShellStep, type ShellStepRun } from '../support/run-shell-step.js';
import { METAFLOW_EXAMPLE_WORKFLOWS, METAFLOW_REUSABLE_WORKFLOWS, REPO_ROOT, findStep, readRepoFile, workflowFiles } from './workflow-files.js';

/**
 * metaflow-deploy.yml and metaflow-destroy.yml: the job graph (each applied plan reviewed under the
 * GitHub Environment), the wiring of metaflow/infra's state into metaflow/services, the order of the
 * root modules, kubelogin before anything reaches the cluster, and the shell the jobs run. The shell
 * steps run with bash as a runner runs them; their `env:` is evaluated from the workflow text by a
 * small evaluator of the expressions these steps use, and the outputs of this repository's actions are
 * stand-ins named as setup-remote-state names things (src/lib/remote-state-names.ts).
 * lint.test.ts and references.test.ts check these files too (actionlint, action-validator, references).
 */

const DEPLOY = '.github/workflows/metaflow-deploy.yml';
const DESTROY = '.github/workflows/metaflow-destroy.yml';
const INFRA_DIR = '.azure-bakery-actions/terraform/stacks/metaflow/infra';
const SERVICES_DIR = '.azure-bakery-actions/terraform/stacks/metaflow/services';
const INFRA_STATE_VARIABLES = ['infra_state_resource_group_name', 'infra_state_storage_account_name', 'infra_state_container_name', 'infra_state_key'];

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, unknown>;
  with?: Record<string, unknown>;
}

interface Job {
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string; url?: string };
  permissions?: Record<string, string>;
  outputs?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  on: { workflow_call: { inputs: Record<string, { default?: unknown; type?: string; required?: boolean }> } };
  concurrency: { group: string; 'cancel-in-progress': boolean };
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = (file: string): Workflow => parseDocument(readRepoFile(file)).toJS() as Workflow;
const stepOf = (file: string, job: string, idOrName: string): Step => findStep(file, job, idOrName) as Step;

function stepIndex(job: Job, idOrName: string): number {
  const index = job.steps.findIndex((step) => step.id === idOrName || step.name === idOrName);
  if (index < 0) throw new Error(`no step ${idOrName}`);
  return index;
}

const lines = (value: unknown): string[] =>
  String(value ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/** name=value lines → a record, as the plan action reads its `variables` input. */
function keyValues(text: string): Record<string, string> {
  return Object.fromEntries(lines(text).map((line) => [line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim()]));
}

/** The variables a root module declares (every .tf file of it). */
function declaredVariables(stack: 'infra' | 'services'): Set<string> {
  const directory = path.join(REPO_ROOT, 'terraform/stacks/metaflow', stack);
  const names = readdirSync(directory)
    .filter((file) => file.endsWith('.tf'))
    .flatMap((file) => [...readFileSync(path.join(directory, file), 'utf8').matchAll(/^variable "([^"]+)"/gm)].map((match) => match[1]!));
  return new Set(names);
}

// --- a small evaluator of the expressions in these steps ------------------------------------------

interface Context {
  inputs: Record<string, unknown>;
  vars: Record<string, string>;
  steps: Record<string, Record<string, string>>;
  needs: Record<string, Record<string, string>>;
  matrix: Record<string, string>;
}

function operand(token: string, context: Context): unknown {
  const literal = /^'([^']*)'$/.exec(token);
  if (literal) return literal[1];
  const parts = token.split('.');
  if (parts[0] === 'inputs' && parts.length === 2) return context.inputs[parts[1]!] ?? '';
  if (parts[0] === 'vars' && parts.length === 2) return context.vars[parts[1]!] ?? '';
  if (parts[0] === 'matrix' && parts.length === 2) return context.matrix[parts[1]!] ?? '';
  if (parts[0] === 'steps' && parts[2] === 'outputs' && parts.length === 4) return context.steps[parts[1]!]?.[parts[3]!] ?? '';
  if (parts[0] === 'needs' && parts[2] === 'outputs' && parts.length === 4) return context.needs[parts[1]!]?.[parts[3]!] ?? '';
  throw new Error(`the test's evaluator does not know ${JSON.stringify(token)}`);
}

/** `${{ a || b || 'literal' }}` as GitHub evaluates it: the first truthy operand, else the last. */
function evaluate(value: unknown, context: Context): string {
  return String(value ?? '').replace(/\$\{\{([\s\S]*?)\}\}/g, (_match, expression: string) => {
    if (/&&|[()!=<>]/.test(expression)) throw new Error(`the test's evaluator does not evaluate ${expression}`);
    const values = expression.split('||').map((token) => operand(token.trim(), context));
    const chosen = values.find((candidate) => candidate !== '' && candidate !== false) ?? values[values.length - 1];
    return String(chosen);
  });
}

function evaluateAll(map: Record<string, unknown> | undefined, context: Context): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([key, value]) => [key, evaluate(value, context)]));
}

/** Only `keys` of a step's map (the others may read contexts this evaluator does not know, e.g. github.token). */
function evaluateKeys(map: Record<string, unknown> | undefined, keys: string[], context: Context): Record<string, string> {
  return evaluateAll(Object.fromEntries(keys.filter((key) => map?.[key] !== undefined).map((key) => [key, map![key]])), context);
}

/** A step's `if:` of the one form these steps use, `inputs.<name> != ''` (or `== ''`); none = runs. */
function conditionHolds(condition: string | undefined, context: Context): boolean {
  if (condition === undefined) return true;
  const match = /^inputs\.([\w-]+) (==|!=) ''$/.exec(condition.trim());
  if (!match) throw new Error(`the test's evaluator does not evaluate if: ${condition}`);
  const empty = String(context.inputs[match[1]!] ?? '') === '';
  return match[2] === '==' ? empty : !empty;
}

function inputsOf(file: string, given: Record<string, unknown>): Record<string, unknown> {
  const declared = workflow(file).on.workflow_call.inputs;
  return { ...Object.fromEntries(Object.entries(declared).map(([name, spec]) => [name, spec.default ?? ''])), ...given };
}

// --- running steps as a runner does --------------------------------------------------------------

const temporary: string[] = [];
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid);
    } catch {
      // already gone
    }
  }
  for (const directory of temporary.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function tempDir(): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'metaflow-workflow-'));
  temporary.push(directory);
  return directory;
}

type StepRun = ShellStepRun;

function runBash(script: string, env: Record<string, string>, cwd: string, envFile?: string): StepRun {
  return runShellStep(script, { cwd, env, envFile, runnerTemp: tempDir() });
}

/** A caller's workspace: this repository checked out as .azure-bakery-actions, and environments/<env>.tfvars. */
function workspace(): string {
  const root = tempDir();
  symlinkSync(REPO_ROOT, path.join(root, '.azure-bakery-actions'));
  mkdirSync(path.join(root, 'environments'));
  writeFileSync(path.join(root, 'environments/dev.tfvars'), 'location = "westeurope"\nowner = "ml-platform"\n');
  return root;
}

/** setup-remote-state's outputs for its inputs, named as the action names things. */
function remoteState(inputs: Record<string, string>): Record<string, string> {
  const account = defaultStorageAccountName(inputs.identifier!);
  return {
    'backend-config-file': `/runner/work/${inputs['working-directory']}/backend-${inputs.environment}.hcl`,
    'resource-group': defaultResourceGroupName(inputs.identifier!),
    'storage-account': account,
    container: 'tfstate',
    'state-key': defaultStateKey(inputs.stack!, inputs.environment!),
    'blob-endpoint': `https://${account}.blob.core.windows.net/`,
  };
}

/**
 * Runs a job's steps as far as they matter here: the run steps among `run`, the stand-ins among
 * `fake` (this repository's actions: their outputs from their evaluated inputs); checkouts and every
 * other step are skipped. Returns the context after them and the job's $GITHUB_ENV.
 */
function simulate(file: string, jobId: string, context: Context, options: { run: string[]; fake: Record<string, (inputs: Record<string, string>) => Record<string, string>> }) {
  const job = workflow(file).jobs[jobId]!;
  const cwd = workspace();
  const envFile = path.join(tempDir(), 'env');
  const runs: Record<string, StepRun> = {};
  let jobEnv: Record<string, string> = {};
  for (const step of job.steps) {
    const id = step.id ?? '';
    // A skipped step sets no outputs: reading them gives '' as on GitHub.
    if ((options.fake[id] || options.run.includes(id)) && !conditionHolds(step.if, context)) continue;
    if (options.fake[id]) {
      context.steps[id] = options.fake[id](evaluateAll(step.with, context));
    } else if (options.run.includes(id)) {
      const run = runBash(step.run!, { ...jobEnv, ...evaluateAll(step.env, context) }, cwd, envFile);
      expect(run.status, `${jobId}/${id}: ${run.stdout}`).toBe(0);
      runs[id] = run;
      context.steps[id] = run.outputs;
      jobEnv = run.env;
    }
  }
  return { job, context, runs, env: jobEnv, cwd };
}

const IDENTITIES = { AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47', AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-0000000000aa', AZURE_PLAN_CLIENT_ID: '11111111-1111-1111-1111-111111111111', AZURE_CLIENT_ID: '22222222-2222-2222-2222-222222222222', AZURE_DEPLOYER_OBJECT_ID: '33333333-3333-3333-3333-333333333333' };

function contextFor(file: string, given: Record<string, unknown> = {}): Context {
  return { inputs: inputsOf(file, { environment: 'dev', identifier: 'contoso01', region: 'westeurope', ...given }), vars: { ...IDENTITIES }, steps: {}, needs: {}, matrix: { environment: 'dev' } };
}

const INFRA_SHA = 'a'.repeat(64);
const SERVICES_SHA = 'b'.repeat(64);
const planStandIn = (inputs: Record<string, string>) => {
  const isServices = inputs['working-directory']!.endsWith('/services');
  return { 'has-changes': 'true', 'plan-id': `${inputs.environment}/6dcb09b5/${isServices ? 'services' : 'infra'}`, 'plan-sha256': isServices ? SERVICES_SHA : INFRA_SHA };
};
const STATE_STEPS = { 'infra-state': remoteState, 'services-state': remoteState };

/** metaflow-deploy.yml's plan job, then the outputs it hands to apply. */
function planJob(given: Record<string, unknown> = {}) {
  const context = contextFor(DEPLOY, given);
  context.needs['plan-infra'] = { 'has-changes': 'true', 'subscription-id': IDENTITIES.AZURE_SUBSCRIPTION_ID };
  const planned = simulate(DEPLOY, 'plan', context, { run: ['infra', 'services', 'variables'], fake: { ...STATE_STEPS, 'infra-plan': planStandIn, 'services-plan': planStandIn } });
  return { ...planned, outputs: evaluateAll(planned.job.outputs, planned.context) };
}

// --- the files ------------------------------------------------------------------------------------

describe('the Metaflow workflows', () => {
  it.each([...METAFLOW_REUSABLE_WORKFLOWS.map((name) => `.github/workflows/${name}`), ...METAFLOW_EXAMPLE_WORKFLOWS.map((name) => `examples/workflows/${name}`)])(
    '%s is among the files that actionlint, action-validator and the reference checker read',
    (file) => {
      expect(workflowFiles()).toContain(file);
    },
  );

  it('share one concurrency group per environment with each other, never cancelling a running one', () => {
    for (const file of [DEPLOY, DESTROY]) {
      expect(workflow(file).concurrency, file).toEqual({ group: 'metaflow-${{ inputs.environment }}', 'cancel-in-progress': false });
    }
    // Not the Bakery's group: the two platforms of one environment deploy independently.
    expect(workflow('.github/workflows/deploy.yml').concurrency.group).not.toBe(workflow(DEPLOY).concurrency.group);
  });

  it('ask for no more than contents: read and id-token: write, and the guard for no id-token', () => {
    const deploy = workflow(DEPLOY);
    expect(deploy.permissions).toEqual({ 'contents': 'read', 'id-token': 'write' });
    for (const [id, job] of Object.entries(deploy.jobs)) expect(job.permissions, id).toEqual({ 'contents': 'read', 'id-token': 'write' });
    const destroy = workflow(DESTROY);
    expect(destroy.permissions).toEqual({});
    // Enough to check out the guard script; no id-token, so no Azure token can exist before it refuses.
    expect(destroy.jobs.guard!.permissions).toEqual({ contents: 'read' });
    expect(destroy.jobs.destroy!.permissions).toEqual({ 'contents': 'read', 'id-token': 'write' });
  });
});

// --- metaflow-deploy.yml --------------------------------------------------------------------------

describe('metaflow-deploy.yml: jobs', () => {
  const { jobs } = workflow(DEPLOY);

  it('plans the infrastructure, applies it only when it changed, plans both root modules, then applies both', () => {
    expect(Object.keys(jobs)).toEqual(['plan-infra', 'apply-infra', 'plan', 'apply']);
    expect(jobs['plan-infra']!.needs).toBeUndefined();
    expect(jobs['apply-infra']!.needs).toBe('plan-infra');
    expect(jobs['apply-infra']!.if).toBe("needs.plan-infra.outputs.has-changes == 'true'");
    expect(jobs.plan!.needs).toEqual(['plan-infra', 'apply-infra']);
    // A skipped apply-infra (nothing to change) must not skip the plan; a failed one must stop it.
    expect(jobs.plan!.if).toContain("needs.plan-infra.result == 'success'");
    expect(jobs.plan!.if).toContain("(needs.apply-infra.result == 'success' || needs.apply-infra.result == 'skipped')");
    expect(jobs.plan!.if).toContain('!cancelled()');
    expect(jobs.apply!.needs).toBe('plan');
    expect(jobs.apply!.if).toBe("${{ !cancelled() && needs.plan.result == 'success' }}");
  });

  it('applies under the GitHub Environment only; plans run outside it as the plan identity', () => {
    expect(jobs['apply-infra']!.environment).toBe('${{ inputs.environment }}');
    expect(jobs.apply!.environment).toEqual({ name: '${{ inputs.environment }}', url: '${{ steps.flows.outputs.deployment-url }}' });
    expect(jobs['plan-infra']!.environment).toBeUndefined();
    expect(jobs.plan!.environment).toBeUndefined();
    for (const [id, job] of Object.entries(jobs)) {
      const clientIds = job.steps.filter((step) => step.with?.['client-id'] !== undefined).map((step) => step.with!['client-id']);
      expect(clientIds.length, id).toBeGreaterThan(0);
      const expected = job.environment ? '${{ inputs.client-id || vars.AZURE_CLIENT_ID }}' : '${{ inputs.plan-client-id || vars.AZURE_PLAN_CLIENT_ID }}';
      expect(new Set(clientIds), id).toEqual(new Set([expected]));
    }
  });

  it('applies exactly the reviewed plans: stored plan ids and hashes, require-approved-plan', () => {
    const infra = stepOf(DEPLOY, 'apply-infra', 'deploy').with!;
    expect(infra).toMatchObject({ 'plan-id': '${{ needs.plan-infra.outputs.plan-id }}', 'plan-sha256': '${{ needs.plan-infra.outputs.plan-sha256 }}', 'require-approved-plan': true });
    const both = stepOf(DEPLOY, 'apply', 'deploy').with!;
    expect(both['require-approved-plan']).toBe(true);
    expect(both['plan-if-missing']).toBeUndefined();
    // Plans that deploy applies take the state lock and are stored (the plan action's defaults).
    for (const [job, step] of [['plan-infra', 'plan'], ['plan', 'infra-plan'], ['plan', 'services-plan']] as const) {
      const inputs = stepOf(DEPLOY, job, step).with!;
      expect(inputs.lock ?? true, `${job}/${step}`).toBe(true);
      expect(inputs['store-plan'] ?? true, `${job}/${step}`).toBe(true);
    }
  });

  it('creates the state account only in the first job; every later job finds it read-only', () => {
    expect(stepOf(DEPLOY, 'plan-infra', 'infra-state').with).not.toHaveProperty('read-only');
    expect(stepOf(DEPLOY, 'plan-infra', 'infra-state').with).toHaveProperty('region', '${{ inputs.region }}');
    for (const [job, step] of [['apply-infra', 'infra-state'], ['plan', 'infra-state'], ['plan', 'services-state'], ['apply', 'infra-state'], ['apply', 'services-state']] as const) {
      expect(stepOf(DEPLOY, job, step).with, `${job}/${step}`).toHaveProperty('read-only', true);
    }
  });

  it('installs kubelogin, pinned, before the services are planned or applied, and only after its version is checked', () => {
    for (const [job, reaches] of [['plan', 'services-plan'], ['apply', 'deploy']] as const) {
      const steps = workflow(DEPLOY).jobs[job]!;
      const install = stepIndex(steps, 'Install kubelogin');
      expect(install, job).toBeLessThan(stepIndex(steps, reaches));
      expect(stepIndex(steps, 'variables'), job).toBeLessThan(install);
      expect(steps.steps[install]!.uses).toMatch(/^azure\/use-kubelogin@[0-9a-f]{40}$/);
      expect(steps.steps[install]!.with).toEqual({ 'kubelogin-version': '${{ inputs.kubelogin-version }}' });
    }
    // The jobs that touch only the infrastructure need none.
    for (const job of ['plan-infra', 'apply-infra']) expect(workflow(DEPLOY).jobs[job]!.steps.some((step) => step.uses?.includes('use-kubelogin')), job).toBe(false);
    expect(readRepoFile(DEPLOY)).toMatch(/uses: azure\/use-kubelogin@0ce7c36141aa27d4934872cf00b0120804c98a29 # v1\.3$/m);
  });

  it('registers flows after both root modules are applied, with Python and Metaflow installed before anything is applied', () => {
    const apply = workflow(DEPLOY).jobs.apply!;
    const deploy = stepIndex(apply, 'deploy');
    expect(stepIndex(apply, 'Set up Python for Metaflow')).toBeLessThan(deploy);
    expect(stepIndex(apply, 'Install Metaflow')).toBeLessThan(deploy);
    expect(stepIndex(apply, 'Write a kubeconfig for Metaflow')).toBeGreaterThan(deploy);
    expect(stepIndex(apply, 'forward')).toBeLessThan(stepIndex(apply, 'flows'));
    expect(stepOf(DEPLOY, 'apply', 'flows').with).toMatchObject({ orchestrator: 'metaflow', flows: '${{ inputs.flows }}', 'metaflow-config': '${{ steps.deploy.outputs.metaflow-config }}' });
    for (const step of ['Set up Python for Metaflow', 'Install Metaflow', 'Write a kubeconfig for Metaflow', 'forward', 'flows']) {
      expect(stepOf(DEPLOY, 'apply', step).if, step).toBe("inputs.flows != ''");
    }
    expect(stepOf(DEPLOY, 'apply', 'Stop the port-forward').if).toBe("always() && steps.forward.outputs.pid != ''");
  });
});

describe('metaflow-deploy.yml: metaflow/infra feeds metaflow/services', () => {
  const servicesDeclares = declaredVariables('services');
  const infraDeclares = declaredVariables('infra');

  it('plans the services with the four infra_state_* variables taken from the infra state outputs', () => {
    const { context } = planJob();
    const infraState = context.steps['infra-state']!;
    const servicesInputs = evaluateAll(stepOf(DEPLOY, 'plan', 'services-plan').with, context);
    expect(servicesInputs['working-directory']).toBe(SERVICES_DIR);
    expect(servicesInputs['backend-config-file']).toBe(context.steps['services-state']!['backend-config-file']);
    const variables = keyValues(servicesInputs.variables!);
    expect(variables).toMatchObject({
      infra_state_resource_group_name: infraState['resource-group'],
      infra_state_storage_account_name: infraState['storage-account'],
      infra_state_container_name: infraState.container,
      infra_state_key: 'metaflow/infra/dev.tfstate',
      kubelogin_login_mode: 'workloadidentity',
    });
    // Terraform refuses a -var the root module does not declare.
    for (const name of Object.keys(variables)) expect(servicesDeclares, name).toContain(name);
    for (const name of INFRA_STATE_VARIABLES) expect(servicesDeclares).toContain(name);
  });

  it('plans the infrastructure with identifier, environment and the deploy identity, all declared there', () => {
    const { context } = planJob();
    const infraInputs = evaluateAll(stepOf(DEPLOY, 'plan', 'infra-plan').with, context);
    expect(infraInputs['working-directory']).toBe(INFRA_DIR);
    const variables = keyValues(infraInputs.variables!);
    expect(variables).toEqual({ identifier: 'contoso01', environment: 'dev', deployer_object_id: IDENTITIES.AZURE_DEPLOYER_OBJECT_ID });
    for (const name of Object.keys(variables)) expect(infraDeclares, name).toContain(name);
    expect(context.steps['infra-state']!['state-key']).toBe('metaflow/infra/dev.tfstate');
    expect(context.steps['services-state']!['state-key']).toBe('metaflow/services/dev.tfstate');
  });

  it('passes the services variables a caller gives next to the ones the workflow sets', () => {
    const { context } = planJob({ 'services-variables': 'metadata_service_replicas = 2\n# a comment' });
    const variables = keyValues(evaluateAll(stepOf(DEPLOY, 'plan', 'services-plan').with, context).variables!);
    expect(variables.metadata_service_replicas).toBe('2');
    expect(Object.keys(variables)).toHaveLength(6);
  });

  it('deploys metaflow/infra then metaflow/services, each with its own backend file and reviewed plan', () => {
    const plan = planJob();
    const context = contextFor(DEPLOY);
    context.needs.plan = plan.outputs;
    const { env } = simulate(DEPLOY, 'apply', context, { run: ['infra', 'services', 'variables'], fake: STATE_STEPS });
    const deploy = evaluateAll(stepOf(DEPLOY, 'apply', 'deploy').with, context);
    expect(lines(deploy['working-directories'])).toEqual([INFRA_DIR, SERVICES_DIR]);
    expect(lines(deploy['backend-config-file'])).toEqual([context.steps['infra-state']!['backend-config-file'], context.steps['services-state']!['backend-config-file']]);
    expect(lines(deploy['plan-id'])).toEqual(['dev/6dcb09b5/infra', 'dev/6dcb09b5/services']);
    expect(lines(deploy['plan-sha256'])).toEqual([INFRA_SHA, SERVICES_SHA]);
    // -var would reach both root modules, and each refuses the other's variables: none are passed so.
    expect(deploy.variables).toBeUndefined();
    // For deploy's re-plan before a retry: every variable of both modules, as TF_VAR_*.
    expect(env).toMatchObject({
      TF_VAR_identifier: 'contoso01',
      TF_VAR_environment: 'dev',
      TF_VAR_deployer_object_id: IDENTITIES.AZURE_DEPLOYER_OBJECT_ID,
      TF_VAR_infra_state_resource_group_name: context.steps['infra-state']!['resource-group'],
      TF_VAR_infra_state_storage_account_name: context.steps['infra-state']!['storage-account'],
      TF_VAR_infra_state_container_name: 'tfstate',
      TF_VAR_infra_state_key: 'metaflow/infra/dev.tfstate',
      TF_VAR_kubelogin_login_mode: 'workloadidentity',
    });
    for (const name of Object.keys(env).map((key) => key.replace(/^TF_VAR_/, ''))) {
      expect(infraDeclares.has(name) || servicesDeclares.has(name), name).toBe(true);
    }
  });

  it('signs kubelogin in as the identity of the step that reaches the cluster', () => {
    for (const [job, step] of [['plan', 'services-plan'], ['apply', 'deploy']] as const) {
      const found = stepOf(DEPLOY, job, step);
      expect(found.env, `${job}/${step}`).toEqual({ AZURE_CLIENT_ID: found.with!['client-id'], AZURE_TENANT_ID: found.with!['tenant-id'] });
    }
    // The login mode the workflow sets is the one the stack's providers run kubelogin with.
    expect(readRepoFile('terraform/stacks/metaflow/services/providers.tf')).toMatch(/"--login",\s*var\.kubelogin_login_mode/);
  });
});

// --- metaflow-destroy.yml -------------------------------------------------------------------------

describe('metaflow-destroy.yml', () => {
  // The guard step as the job runs it: destroy-guard.sh from the checkout of this release, with the
  // step's env evaluated from the workflow's inputs.
  const guard = (env: Record<string, string>) =>
    runBash(String(stepOf(DESTROY, 'guard', 'Refuse unless confirmed and allowed').run), { ENVIRONMENT: 'dev', CONFIRM: 'dev', PROTECTED_ENVIRONMENTS: 'prod*', ALLOW_PROTECTED: 'false', ...env }, workspace());

  it("runs destroy.yml's guard script, with the same inputs", () => {
    const ours = stepOf(DESTROY, 'guard', 'Refuse unless confirmed and allowed');
    const bakery = stepOf('.github/workflows/destroy.yml', 'guard', 'Refuse unless confirmed and allowed');
    expect(ours.run).toBe('bash .azure-bakery-actions/.github/workflows/scripts/destroy-guard.sh');
    expect(ours.run).toBe(bakery.run);
    expect(ours.env).toEqual(bakery.env);
    const context = contextFor(DESTROY, { confirm: 'dev', 'allow-protected': false });
    expect(evaluateAll(ours.env, context)).toEqual({ ENVIRONMENT: 'dev', CONFIRM: 'dev', PROTECTED_ENVIRONMENTS: 'prod*', ALLOW_PROTECTED: 'false' });
  });

  it.each([
    ['a confirm that names another environment', { CONFIRM: 'prod' }, '::error title=Input confirm::'],
    ['a confirm that differs only in case', { CONFIRM: 'Dev' }, '::error title=Input confirm::'],
    ['an empty confirm', { CONFIRM: '' }, '::error title=Input confirm::'],
    ['a protected environment without allow-protected', { ENVIRONMENT: 'prod', CONFIRM: 'prod' }, "::error title=Protected environment::'prod' matches the protected pattern 'prod*'"],
  ])('refuses %s before any token exists', (_case, env, message) => {
    const run = guard(env);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(message);
    expect(run.stdout).toContain('Nothing was destroyed.');
  });

  it('lets a confirmed environment through, and a protected one only with allow-protected', () => {
    expect(guard({}).status).toBe(0);
    const allowed = guard({ ENVIRONMENT: 'prod', CONFIRM: 'prod', ALLOW_PROTECTED: 'true' });
    expect(allowed.status, allowed.stdout).toBe(0);
    expect(allowed.stdout).toContain('::warning title=Protected environment::');
  });

  it('destroys only after the guard, under the GitHub Environment, with the guard inputs passed on to the action', () => {
    const { jobs } = workflow(DESTROY);
    expect(jobs.destroy!.needs).toBe('guard');
    expect(jobs.destroy!.environment).toBe('${{ inputs.environment }}');
    expect(jobs.guard!.environment).toBeUndefined();
    // Its one action is the checkout of the script: nothing that signs in to Azure.
    expect(jobs.guard!.steps.filter((step) => step.uses).map((step) => step.uses)).toEqual([expect.stringMatching(/^actions\/checkout@[0-9a-f]{40}$/)]);
    expect(stepOf(DESTROY, 'destroy', 'destroy').with).toMatchObject({
      confirm: '${{ inputs.confirm }}',
      'protected-environments': '${{ inputs.protected-environments }}',
      'allow-protected': '${{ inputs.allow-protected }}',
    });
  });

  it('passes the root modules in apply order (infra, services), which the destroy action works through in reverse', () => {
    const context = contextFor(DESTROY, { confirm: 'dev' });
    const { env } = simulate(DESTROY, 'destroy', context, { run: ['infra', 'services', 'variables'], fake: STATE_STEPS });
    const destroy = evaluateAll(stepOf(DESTROY, 'destroy', 'destroy').with, context);
    expect(lines(destroy['working-directories'])).toEqual([INFRA_DIR, SERVICES_DIR]);
    expect(lines(destroy['backend-config-file'])).toEqual([context.steps['infra-state']!['backend-config-file'], context.steps['services-state']!['backend-config-file']]);
    // Same list as deploy's: the action reverses it (test/destroy: services before the infrastructure).
    expect(stepOf(DESTROY, 'destroy', 'destroy').with!['working-directories']).toBe(stepOf(DEPLOY, 'apply', 'deploy').with!['working-directories']);
    expect(readRepoFile('actions/destroy/action.yml')).toContain('destroyed in reverse');
    expect(destroy.variables).toBeUndefined();
    expect(env).toMatchObject({ TF_VAR_infra_state_key: 'metaflow/infra/dev.tfstate', TF_VAR_identifier: 'contoso01', TF_VAR_kubelogin_login_mode: 'workloadidentity' });
    // A teardown never creates state.
    for (const step of ['infra-state', 'services-state']) expect(stepOf(DESTROY, 'destroy', step).with).toHaveProperty('read-only', true);
  });

  it('installs kubelogin before the destroy, which signs in as the deploy identity', () => {
    const job = workflow(DESTROY).jobs.destroy!;
    expect(stepIndex(job, 'Install kubelogin')).toBeLessThan(stepIndex(job, 'destroy'));
    const destroy = stepOf(DESTROY, 'destroy', 'destroy');
    expect(destroy.env).toEqual({ AZURE_CLIENT_ID: destroy.with!['client-id'], AZURE_TENANT_ID: destroy.with!['tenant-id'] });
    expect(destroy.with!['client-id']).toBe('${{ inputs.client-id || vars.AZURE_CLIENT_ID }}');
  });
});

// --- plan.yml and drift.yml for the Metaflow stack ------------------------------------------------

const REVIEW_PLANS = [
  ['.github/workflows/plan.yml', 'plan'],
  ['.github/workflows/drift.yml', 'drift'],
] as const;
const REVIEW_PLAN_KEYS = ['working-directory', 'backend-config-file', 'var-files', 'variables', 'client-id', 'tenant-id'];

/** A job of plan.yml or drift.yml for environment dev: its shell steps run, its state steps stand-ins. */
function reviewPlan(file: string, jobId: string, given: Record<string, unknown>) {
  const context = contextFor(file, given);
  const planned = simulate(file, jobId, context, { run: ['stack', 'variables'], fake: { state: remoteState, 'infra-state': remoteState } });
  return { ...planned, plan: evaluateKeys(stepOf(file, jobId, 'plan').with, REVIEW_PLAN_KEYS, context) };
}

const METAFLOW_SERVICES_REVIEW = { stack: 'metaflow/services', 'infra-state-stack': 'metaflow/infra', 'var-files': '' };

describe.each(REVIEW_PLANS)('%s for the Metaflow stack', (file, jobId) => {
  const servicesDeclares = declaredVariables('services');

  it('plans metaflow/services against its own state, with metaflow/infra\'s state wired in as metaflow-deploy.yml does', () => {
    const { context, plan } = reviewPlan(file, jobId, METAFLOW_SERVICES_REVIEW);
    expect(plan['working-directory']).toBe(SERVICES_DIR);
    expect(context.steps.state!['state-key']).toBe('metaflow/services/dev.tfstate');
    expect(plan['backend-config-file']).toBe(context.steps.state!['backend-config-file']);
    const infraState = context.steps['infra-state']!;
    expect(infraState['state-key']).toBe('metaflow/infra/dev.tfstate');
    // Infra's backend file is written elsewhere, so it cannot replace the one the plan uses.
    expect(infraState['backend-config-file']).not.toBe(plan['backend-config-file']);
    const variables = keyValues(plan.variables!);
    expect(variables).toEqual({
      infra_state_resource_group_name: infraState['resource-group'],
      infra_state_storage_account_name: infraState['storage-account'],
      infra_state_container_name: infraState.container,
      infra_state_key: 'metaflow/infra/dev.tfstate',
      kubelogin_login_mode: 'workloadidentity',
    });
    for (const name of Object.keys(variables)) expect(servicesDeclares, name).toContain(name);
    // The same variables metaflow-deploy.yml's plan job gives the services.
    const deploy = planJob();
    expect(variables).toEqual(keyValues(evaluateAll(stepOf(DEPLOY, 'plan', 'services-plan').with, deploy.context).variables!));
    expect(plan['var-files']).toBe('');
  });

  it('finds the infra state read-only, as the plan identity, and wires it in with metaflow-deploy.yml\'s step', () => {
    const infraState = stepOf(file, jobId, 'infra-state');
    expect(infraState.if).toBe("inputs.infra-state-stack != ''");
    expect(infraState.uses).toBe(stepOf(DEPLOY, 'plan', 'infra-state').uses);
    expect(infraState.with).toMatchObject({ stack: '${{ inputs.infra-state-stack }}', 'read-only': true, 'client-id': '${{ inputs.client-id || vars.AZURE_PLAN_CLIENT_ID }}' });
    const ours = stepOf(file, jobId, 'variables');
    const deploys = stepOf(DEPLOY, 'plan', 'variables');
    expect(ours.if).toBe("inputs.infra-state-stack != ''");
    expect(ours.run).toBe(deploys.run);
    // deploy's plan job passes each root module its own -var: nothing is exported in either.
    const { INFRA_VARIABLES: _infraOnly, ...shared } = deploys.env!;
    expect(ours.env).toEqual({ ...shared, SERVICES_VARIABLES: '${{ steps.stack.outputs.variables }}', SERVICES_VARIABLES_INPUT: 'variables' });
    expect(ours.env!.EXPORT_TF_VARS).toBe('false');
  });

  it('installs the pinned kubelogin before the plan, which signs in to the cluster as the plan identity', () => {
    const job = workflow(file).jobs[jobId]!;
    const install = stepIndex(job, 'Install kubelogin');
    expect(stepIndex(job, 'variables')).toBeLessThan(install);
    expect(install).toBeLessThan(stepIndex(job, 'plan'));
    const ours = job.steps[install]!;
    const deploys = workflow(DEPLOY).jobs.plan!.steps[stepIndex(workflow(DEPLOY).jobs.plan!, 'Install kubelogin')]!;
    expect(ours.uses).toBe(deploys.uses);
    expect(ours.with).toEqual(deploys.with);
    expect(ours.if).toBe("inputs.infra-state-stack != ''");
    expect(workflow(file).on.workflow_call.inputs['kubelogin-version']!.default).toBe(workflow(DEPLOY).on.workflow_call.inputs['kubelogin-version']!.default);
    const plan = stepOf(file, jobId, 'plan');
    expect(plan.env).toEqual({ AZURE_CLIENT_ID: plan.with!['client-id'], AZURE_TENANT_ID: plan.with!['tenant-id'] });
    expect(plan.with!['client-id']).toBe('${{ inputs.client-id || vars.AZURE_PLAN_CLIENT_ID }}');
  });

  it('plans metaflow/infra with identifier, environment and the deploy identity, against its own state', () => {
    const { context, plan } = reviewPlan(file, jobId, { stack: 'metaflow/infra' });
    expect(plan['working-directory']).toBe(INFRA_DIR);
    expect(context.steps.state!['state-key']).toBe('metaflow/infra/dev.tfstate');
    expect(keyValues(plan.variables!)).toEqual({ identifier: 'contoso01', environment: 'dev', deployer_object_id: IDENTITIES.AZURE_DEPLOYER_OBJECT_ID });
    expect(context.steps['infra-state']).toBeUndefined();
    expect(context.steps.variables).toBeUndefined();
  });

  it('plans the Bakery stack as before when stack and infra-state-stack are left alone', () => {
    const { context, plan } = reviewPlan(file, jobId, {});
    expect(plan['working-directory']).toBe('.azure-bakery-actions/terraform/stacks/bakery');
    expect(context.steps.state!['state-key']).toBe('bakery/dev.tfstate');
    expect(keyValues(plan.variables!)).toEqual({ identifier: 'contoso01', environment: 'dev', deployer_object_id: IDENTITIES.AZURE_DEPLOYER_OBJECT_ID });
    expect(context.steps['infra-state']).toBeUndefined();
    expect(context.steps.variables).toBeUndefined();
  });

  it('refuses a services variable that the workflow sets, naming the input of this workflow', () => {
    const context = contextFor(file, { ...METAFLOW_SERVICES_REVIEW, variables: 'infra_state_key=elsewhere.tfstate' });
    const { cwd } = simulate(file, jobId, context, { run: ['stack'], fake: { state: remoteState, 'infra-state': remoteState } });
    const step = stepOf(file, jobId, 'variables');
    const run = runBash(step.run!, evaluateAll(step.env, context), cwd);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("::error title=Input variables::'infra_state_key' is set by the workflow");
    expect(run.stdout).toContain('remove it from variables.');
    expect(run.outputs).toEqual({});
  });
});

describe('the Metaflow pull-request and drift examples', () => {
  interface ExampleJob {
    uses: string;
    with: Record<string, unknown>;
  }
  const jobsOf = (name: string) => (parseDocument(readRepoFile(`examples/workflows/${name}`)).toJS() as { jobs: Record<string, ExampleJob> }).jobs;
  const release = (parseDocument(readRepoFile('examples/workflows/metaflow-release.yml')).toJS() as { jobs: Record<string, ExampleJob> }).jobs;

  it.each([
    ['metaflow-pull-request.yml', 'plan.yml'],
    ['metaflow-drift.yml', 'drift.yml'],
  ])('%s runs %s for metaflow/infra and for metaflow/services on infra\'s state, in the same environments', (name, reusable) => {
    const jobs = jobsOf(name);
    expect(Object.keys(jobs)).toEqual(['infra', 'services']);
    for (const job of Object.values(jobs)) expect(job.uses).toBe(`azure-bakery/azure-bakery-actions/.github/workflows/${reusable}@v1`);
    expect(jobs.infra!.with).toMatchObject({ stack: 'metaflow/infra', identifier: '${{ vars.METAFLOW_IDENTIFIER }}' });
    expect(jobs.infra!.with['infra-state-stack']).toBeUndefined();
    // The infrastructure is planned with the var files it is deployed with.
    expect(jobs.infra!.with['var-files']).toBe(release.dev!.with['infra-var-files']);
    expect(jobs.services!.with).toMatchObject({ stack: 'metaflow/services', 'infra-state-stack': 'metaflow/infra', 'var-files': '', identifier: '${{ vars.METAFLOW_IDENTIFIER }}' });
    expect(jobs.services!.with.environments).toBe(jobs.infra!.with.environments);
    if (reusable === 'drift.yml') expect(jobs.services!.with['drift-label']).toBe(jobs.infra!.with['drift-label']);
  });
});

// --- metaflow-variables.sh ------------------------------------------------------------------------

describe('metaflow-variables.sh', () => {
  const SCRIPT = readRepoFile('.github/workflows/scripts/metaflow-variables.sh');
  const STATE = { INFRA_STATE_RESOURCE_GROUP: 'contoso01-bakery-remote-state-rg', INFRA_STATE_STORAGE_ACCOUNT: 'contoso01tfstate0a1b2c', INFRA_STATE_CONTAINER: 'tfstate', INFRA_STATE_KEY: 'metaflow/infra/dev.tfstate' };
  const run = (env: Record<string, string>) => runBash(SCRIPT, { KUBELOGIN_VERSION: 'v0.2.19', INFRA_VARIABLES: 'identifier=contoso01\nenvironment=dev', SERVICES_VARIABLES: '', EXPORT_TF_VARS: 'false', ...STATE, ...env }, tempDir());

  it('accepts the workflows\' default kubelogin version', () => {
    for (const file of [DEPLOY, DESTROY]) {
      const version = String(workflow(file).on.workflow_call.inputs['kubelogin-version']!.default);
      expect(run({ KUBELOGIN_VERSION: version }).status, `${file}: ${version}`).toBe(0);
    }
  });

  it.each([
    ['a kubelogin that cannot use the GitHub OIDC token', { KUBELOGIN_VERSION: 'v0.1.6' }, '::error title=Input kubelogin-version::v0.1.6 cannot use'],
    ['a kubelogin version that is not a release tag', { KUBELOGIN_VERSION: 'latest' }, "::error title=Input kubelogin-version::'latest' is not a kubelogin release tag"],
    ['an empty value from the infra state step', { INFRA_STATE_KEY: '' }, '::error title=Infra state::infra_state_key would be empty'],
    ['services-variables that set an infra_state_* variable', { SERVICES_VARIABLES: 'infra_state_key=elsewhere.tfstate' }, "::error title=Input services-variables::'infra_state_key' is set by the workflow"],
    ['services-variables that set the login mode', { SERVICES_VARIABLES: 'kubelogin_login_mode=azurecli' }, "::error title=Input services-variables::'kubelogin_login_mode' is set by the workflow"],
    ['one TF_VAR_ name with two values', { EXPORT_TF_VARS: 'true', INFRA_VARIABLES: 'shared=a', SERVICES_VARIABLES: 'shared=b' }, "::error title=Input services-variables::'shared' has different values"],
  ])('refuses %s, naming what to fix', (_case, env, message) => {
    const result = run(env);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(message);
    expect(result.env).toEqual({});
  });

  it('exports one name given the same value for both modules once, and values that look like delimiters unchanged', () => {
    const result = run({ EXPORT_TF_VARS: 'true', INFRA_VARIABLES: 'shared=x\ntags={ Team = "EOF" }', SERVICES_VARIABLES: 'shared = x\nnote=a<<EOF' });
    expect(result.status, result.stdout).toBe(0);
    expect(result.env).toMatchObject({ TF_VAR_shared: 'x', TF_VAR_tags: '{ Team = "EOF" }', TF_VAR_note: 'a<<EOF' });
    expect(result.outputs['services-variables']!.split('\n')).toEqual(['shared=x', 'note=a<<EOF', ...INFRA_STATE_VARIABLES.map((name, index) => `${name}=${Object.values(STATE)[index]}`), 'kubelogin_login_mode=workloadidentity']);
  });

  it('writes nothing to $GITHUB_ENV unless asked (the plan job passes -var per root module)', () => {
    const result = run({});
    expect(result.status, result.stdout).toBe(0);
    expect(result.env).toEqual({});
    expect(result.outputs['services-variables']).toContain('infra_state_key=metaflow/infra/dev.tfstate');
  });
});

// --- the apply job's shell around register-flow ---------------------------------------------------

/** A directory of stand-in executables (bash scripts) first on PATH; each logs its arguments. */
function fakeBin(scripts: Record<string, string>): { bin: string; log: string; path: string } {
  const directory = tempDir();
  const bin = path.join(directory, 'bin');
  mkdirSync(bin);
  const log = path.join(directory, 'calls.log');
  writeFileSync(log, '');
  for (const [name, body] of Object.entries(scripts)) {
    const file = path.join(bin, name);
    writeFileSync(file, `#!/usr/bin/env bash\nprintf '%s\\n' "${name} $*" >>"${log}"\necho "[${name}] $*" >&2\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return { bin, log, path: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
}

const hasTool = (tool: string) => spawnSync('bash', ['-c', `command -v ${tool}`]).status === 0;

describe('metaflow-deploy.yml: installing Metaflow', () => {
  const step = String(stepOf(DEPLOY, 'apply', 'Install Metaflow').run);
  const install = (env: Record<string, string>, files: Record<string, string> = {}) => {
    const fake = fakeBin({ python: 'exit 0' });
    const cwd = tempDir();
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(cwd, name), text);
    const result = runBash(step, { PATH: fake.path, PACKAGES: '', REQUIREMENTS: '', ...env }, cwd);
    return { ...result, calls: readFileSync(fake.log, 'utf8').trim() };
  };

  it('installs the pinned default packages and a requirements file, skipping blank lines and comments', () => {
    const defaults = String(workflow(DEPLOY).on.workflow_call.inputs['python-packages']!.default);
    for (const line of lines(defaults)) expect(line).toMatch(/^[a-z-]+==\d+(\.\d+)+$/);
    const result = install({ PACKAGES: `  ${defaults}\n# pandas\n`, REQUIREMENTS: 'requirements.txt' }, { 'requirements.txt': 'pandas\n' });
    expect(result.status, result.stdout).toBe(0);
    expect(result.calls).toBe(`python -m pip install --disable-pip-version-check --no-input ${lines(defaults).join(' ')} --requirement requirements.txt`);
  });

  it('refuses a requirements file that is not there, and nothing to install at all', () => {
    const missing = install({ PACKAGES: 'metaflow==2.19.39', REQUIREMENTS: 'flows/requirements.txt' });
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain("::error title=Input python-requirements::'flows/requirements.txt' does not exist");
    expect(missing.calls).toBe('');
    const nothing = install({});
    expect(nothing.status).toBe(1);
    expect(nothing.stdout).toContain('::error title=Input python-packages::');
  });
});

describe.skipIf(!hasTool('jq'))('metaflow-deploy.yml: the kubeconfig for Metaflow', () => {
  // stderr joined to stdout inside the step, so the log keeps the order of the mask and the calls.
  const step = `exec 2>&1\n${String(stepOf(DEPLOY, 'apply', 'Write a kubeconfig for Metaflow').run)}`;
  const write = (azScript: string) => {
    const fake = fakeBin({ curl: 'echo \'{"count":1,"value":"gh-oidc-token-123"}\'', az: azScript, kubelogin: 'exit 0' });
    const runnerTemp = tempDir();
    const given = {
      PATH: fake.path,
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
      RESOURCE_GROUP: 'rg-metaflow-contoso01-dev',
      CLUSTER_NAME: 'aks-metaflow-contoso01-dev',
      SUBSCRIPTION_ID: IDENTITIES.AZURE_SUBSCRIPTION_ID,
      AZURE_CLIENT_ID: IDENTITIES.AZURE_CLIENT_ID,
      AZURE_TENANT_ID: IDENTITIES.AZURE_TENANT_ID,
      KUBECONFIG_FILE: path.join(runnerTemp, 'metaflow-kubeconfig'),
      AZURE_CONFIG_DIR: path.join(runnerTemp, 'metaflow-azure-cli'),
    };
    return { ...runBash(step, given, tempDir()), calls: readFileSync(fake.log, 'utf8').trim().split('\n'), given };
  };
  // The stand-in az keeps a CLI state directory from login on, as the real one does.
  const AZ_LOGIN = '[[ $1 == login ]] && mkdir -p "$AZURE_CONFIG_DIR"';

  it('signs az in with the GitHub token (masked first), gets the credentials, converts them to workloadidentity and signs out', () => {
    const result = write(`${AZ_LOGIN}; exit 0`);
    expect(result.status, result.stdout).toBe(0);
    expect(result.calls).toEqual([
      `curl -fsS -H Authorization: bearer request-token ${result.given.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=api://AzureADTokenExchange`,
      `az login --service-principal --username ${IDENTITIES.AZURE_CLIENT_ID} --tenant ${IDENTITIES.AZURE_TENANT_ID} --federated-token gh-oidc-token-123 --allow-no-subscriptions --output none --only-show-errors`,
      `az aks get-credentials --subscription ${IDENTITIES.AZURE_SUBSCRIPTION_ID} --resource-group rg-metaflow-contoso01-dev --name aks-metaflow-contoso01-dev --file ${result.given.KUBECONFIG_FILE} --overwrite-existing --only-show-errors`,
      `kubelogin convert-kubeconfig --login workloadidentity --kubeconfig ${result.given.KUBECONFIG_FILE}`,
      'az logout',
    ]);
    const mask = result.stdout.indexOf('::add-mask::gh-oidc-token-123');
    expect(mask).toBeGreaterThanOrEqual(0);
    expect(mask).toBeLessThan(result.stdout.indexOf('[az] login'));
    expect(result.env).toEqual({ KUBECONFIG: result.given.KUBECONFIG_FILE });
    expect(existsSync(result.given.AZURE_CONFIG_DIR)).toBe(false);
  });

  it('exports no KUBECONFIG when the credentials cannot be had, and still signs out and removes the CLI state', () => {
    const result = write(`${AZ_LOGIN}; [[ $1 == aks ]] && { echo "(AuthorizationFailed) no access" >&2; exit 1; }; exit 0`);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain('(AuthorizationFailed)');
    expect(result.calls.at(-1)).toBe('az logout');
    expect(result.calls.some((call) => call.startsWith('kubelogin'))).toBe(false);
    expect(result.env).toEqual({});
    expect(existsSync(result.given.AZURE_CONFIG_DIR)).toBe(false);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(!hasTool('jq') || !hasTool('curl'))('metaflow-deploy.yml: the metadata service for argo-workflows create', () => {
  const step = String(stepOf(DEPLOY, 'apply', 'forward').run);
  // The stand-in kubectl serves /ping on the forwarded port, as the port-forward to the service would.
  const SERVE = `exec node -e 'const port = Number(process.argv[1].split(":")[0]); require("http").createServer((q, s) => s.end(q.url === "/ping" ? "pong" : "")).listen(port, "127.0.0.1")' "\${@: -1}"`;

  it('forwards service/metadata-service to the port of METAFLOW_SERVICE_URL and waits until it answers', async () => {
    const port = await freePort();
    const fake = fakeBin({ kubectl: SERVE });
    const result = runBash(step, { PATH: fake.path, NAMESPACE: 'metaflow', METAFLOW_CONFIG: JSON.stringify({ METAFLOW_SERVICE_URL: `http://127.0.0.1:${port}/`, METAFLOW_DEFAULT_METADATA: 'service' }) }, tempDir());
    if (result.outputs.pid) pids.push(Number(result.outputs.pid));
    expect(result.status, result.stdout).toBe(0);
    expect(result.outputs.pid).toMatch(/^\d+$/);
    expect(readFileSync(fake.log, 'utf8').trim()).toBe(`kubectl --namespace metaflow port-forward service/metadata-service ${port}:${port}`);
    expect(result.stdout).toContain(`The metadata service answers at http://127.0.0.1:${port}/`);
  });

  it('forwards nothing when the service URL is reachable as it is', () => {
    const fake = fakeBin({ kubectl: 'exit 1' });
    const result = runBash(step, { PATH: fake.path, NAMESPACE: 'metaflow', METAFLOW_CONFIG: JSON.stringify({ METAFLOW_SERVICE_URL: 'https://metaflow.example.org/api/' }) }, tempDir());
    expect(result.status, result.stdout).toBe(0);
    expect(result.outputs).toEqual({});
    expect(readFileSync(fake.log, 'utf8')).toBe('');
  });
});
