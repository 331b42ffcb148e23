import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { CALLER_FILES, EXAMPLE_FLOW_DIR, FIXTURE_SENSITIVE_VALUE, IDENTIFIER, IDS, SECRETS, SPOT_TOLERATION, WORKER_NAMESPACE, WORKER_POOL_NODE_SELECTOR, startBakeryCloud, stackNames, type BakeryCloud } from './bakery-cloud.js';
import { runWorkflow, type WorkflowRecord } from './workflow-runner.js';

/**
 * The phases composed: .github/workflows/deploy.yml and then destroy.yml, run job by job and step by step
 * as a runner would (./workflow-runner.ts), each of this repository's steps being its BUILT bundle
 * (dist/<action>, `npm run bundle` first), against the stand-ins (./bakery-cloud.ts). What one step
 * outputs is what the next step gets only through the workflow's own expressions.
 */

const COMMIT = '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';
const DEV = stackNames('dev');

const DEPLOY_INPUTS = {
  environment: 'dev',
  identifier: IDENTIFIER,
  region: 'westeurope',
  // The repository's own smoke recipe, registered as its README shows: only the days to fetch as
  // parameters; where to write and which image the Dask workers run come from the platform.
  flows: 'flows/oisst/flow.py:noaa_oisst',
  'flow-parameters': '{"start": "1981-09-01", "end": "1981-09-01"}',
  'smoke-run': true,
};
const DESTROY_INPUTS = { environment: 'dev', confirm: 'dev', identifier: IDENTIFIER };

let cloud: BakeryCloud;

beforeAll(async () => {
  cloud = await startBakeryCloud(['dev', 'staging']);
}, 30_000);

afterAll(async () => {
  await cloud?.stop();
});

/** What the runner shows of a log: the ::add-mask:: commands are consumed, never displayed. */
function visible(text: string): string {
  return text.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n');
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The `-var name=value` pairs of a terraform command line. */
function variablesOf(argv: string[]): string[] {
  return argv.flatMap((arg, index) => (arg === '-var' ? [argv[index + 1]!] : arg.startsWith('-var=') ? [arg.slice('-var='.length)] : []));
}

function describeSteps(run: WorkflowRecord): string[] {
  return Object.values(run.jobs).flatMap((job) => job.steps.map((step) => `${job.id}/${step.id ?? step.kind}: ${step.status}`));
}

/** Each step as a line of the wall-time report. */
function timings(run: WorkflowRecord): string[] {
  return run.steps().map((step) => `  ${`${run.file} ${step.job}/${step.id ?? step.kind}`.padEnd(32)} ${(step.durationMs / 1000).toFixed(2).padStart(6)} s  ${step.name}`);
}

/**
 * Every secret the chain handles — the Prefect API key, the GITHUB_TOKEN, the sensitive Terraform
 * outputs, the storage connection string and key, every OIDC and Entra token issued, ACR refresh
 * tokens — is absent from every step's log, error output and summary, and from every output except the
 * sensitive output deploy publishes for it (which it masks).
 */
function expectNoSecretShown(run: WorkflowRecord, allowedOutputs: { job: string; step: string; outputs: string[] }[] = []): void {
  const secrets = cloud.secretValues();
  expect(secrets.length).toBeGreaterThan(8);
  const forms = secrets.flatMap((secret) => [secret, Buffer.from(secret).toString('base64')]);
  for (const step of run.steps()) {
    const allowed = allowedOutputs.find((entry) => entry.job === step.job && entry.step === step.id)?.outputs ?? [];
    const outputs = Object.fromEntries(Object.entries(step.outputs).filter(([name]) => !allowed.includes(name)));
    const texts = { log: visible(step.stdout), stderr: step.stderr, summary: step.summary, outputs: JSON.stringify(outputs) };
    for (const [where, text] of Object.entries(texts)) {
      for (const secret of forms) {
        if (text.includes(secret)) expect.fail(`${run.file} ${step.job}/${step.id ?? step.name}: its ${where} shows a secret (${secret.slice(0, 6)}…)`);
      }
    }
  }
  for (const [name, text] of [['job outputs', JSON.stringify(Object.values(run.jobs).map((job) => job.outputs))], ['workflow outputs', JSON.stringify(run.outputs)]] as const) {
    for (const secret of forms) if (text.includes(secret)) expect.fail(`${run.file}: its ${name} show a secret (${secret.slice(0, 6)}…)`);
  }
}

describe('deploy.yml then destroy.yml: the lifecycle phases composed', () => {
  let deploy: WorkflowRecord;
  let destroy: WorkflowRecord;
  /** The world as deploy.yml left it, before destroy.yml removes the namespace. */
  let afterDeploy: { worker?: IDeployment; serviceAccount?: IServiceAccount; terraformCalls: number };

  beforeAll(async () => {
    deploy = await runWorkflow('deploy.yml', cloud.caller(DEPLOY_INPUTS, COMMIT), cloud.machine);
    afterDeploy = {
      worker: cloud.kube.object<IDeployment>('apps/v1', 'Deployment', 'prefect-worker', WORKER_NAMESPACE),
      serviceAccount: cloud.kube.object<IServiceAccount>('v1', 'ServiceAccount', 'bakery-worker', WORKER_NAMESPACE),
      terraformCalls: cloud.terraform.calls().length,
    };
    destroy = await runWorkflow('destroy.yml', cloud.caller(DESTROY_INPUTS, COMMIT), cloud.machine);
    const wall = deploy.durationMs + destroy.durationMs;
    console.log([`Lifecycle chain wall time: ${(wall / 1000).toFixed(1)} s (deploy.yml ${(deploy.durationMs / 1000).toFixed(1)} s, destroy.yml ${(destroy.durationMs / 1000).toFixed(1)} s)`, ...timings(deploy), ...timings(destroy)].join('\n'));
  }, 90_000);

  describe('deploy.yml', () => {
    it('runs every job and step, and each exits 0', () => {
      expect(describeSteps(deploy)).toEqual([
        'plan/checkout: success',
        'plan/checkout: success',
        'plan/stack: success',
        'plan/state: success',
        'plan/plan: success',
        'apply/checkout: success',
        'apply/checkout: success',
        'apply/stack: success',
        'apply/state: success',
        'apply/deploy: success',
        'apply/build-context: success',
        'apply/image: success',
        'apply/agent: success',
        'apply/flows: success',
      ]);
      for (const step of deploy.steps().filter((candidate) => candidate.kind !== 'checkout')) {
        expect(step.exitCode, `${step.job}/${step.id}: ${step.stdout.slice(-2000)}`).toBe(0);
        expect(step.stdout, `${step.job}/${step.id}`).not.toMatch(/^::(error|warning)/m);
      }
      expect(cloud.prefect.problems).toEqual([]);
      // No job output was dropped by the runner for holding a masked value.
      expect(Object.values(deploy.jobs).flatMap((job) => job.skippedOutputs)).toEqual([]);
    });

    it('runs under the concurrency group it shares with destroy.yml', () => {
      expect(deploy.concurrencyGroup).toBe('bakery-dev');
      expect(destroy.concurrencyGroup).toBe(deploy.concurrencyGroup);
      expect(Object.values(deploy.jobs).map((job) => `${job.id}: ${job.name} on ${job.runsOn}`)).toEqual(['plan: Plan dev on ubuntu-latest', 'apply: Deploy dev on ubuntu-latest']);
    });

    it('runs the plan job as the plan identity and the apply job as the deploy identity, both through OIDC', () => {
      for (const id of ['state', 'plan']) expect(deploy.step('plan', id).inputs['client-id'], id).toBe(IDS.planClientId);
      for (const id of ['state', 'deploy', 'image', 'agent', 'flows']) expect(deploy.step('apply', id).inputs['client-id'], id).toBe(IDS.deployClientId);
      const calls = cloud.terraform.calls();
      const planCall = calls.find((call) => call.command === 'plan')!;
      const applyCall = calls.find((call) => call.command === 'apply')!;
      expect(planCall.env).toMatchObject({ ARM_CLIENT_ID: IDS.planClientId, ARM_USE_OIDC: 'true', ARM_SUBSCRIPTION_ID: IDS.subscriptionId });
      expect(applyCall.env).toMatchObject({ ARM_CLIENT_ID: IDS.deployClientId, ARM_USE_OIDC: 'true', ARM_SUBSCRIPTION_ID: IDS.subscriptionId });
      const identities = new Set([...cloud.azure.issuedTokens.values()].map((token) => `${token.clientId}/${token.method}`));
      expect([...identities].sort()).toEqual([`${IDS.deployClientId}/assertion`, `${IDS.planClientId}/assertion`].sort());
      // The apply job uses the subscription the plan job planned in (needs.plan.outputs.subscription-id).
      expect(deploy.jobs.plan!.outputs['subscription-id']).toBe(IDS.subscriptionId);
      expect(deploy.step('apply', 'deploy').inputs['subscription-id']).toBe(IDS.subscriptionId);
    });

    it('plans the stack of this release with the var files and variables resolve-stack gives, in the plan job\'s own workspace', () => {
      const plan = deploy.step('plan', 'plan');
      expect(plan.inputs['working-directory']).toBe('.azure-bakery-actions/terraform/stacks/bakery');
      const call = cloud.terraform.calls().find((candidate) => candidate.command === 'plan')!;
      expect(call.cwd).toBe(path.join(deploy.jobs.plan!.workspace, '.azure-bakery-actions/terraform/stacks/bakery'));
      expect(call.argv).toContain(`-var-file=${path.join(deploy.jobs.plan!.workspace, 'environments/dev.tfvars')}`);
      expect(variablesOf(call.argv)).toEqual([`identifier=${IDENTIFIER}`, 'environment=dev', `deployer_object_id=${IDS.deployerObjectId}`]);
      expect(plan.outputs).toMatchObject({ 'has-changes': 'true', add: '1', change: '0', destroy: '0' });
      // The summary shows Terraform's fixture plan, its sensitive attribute and output as sensitive.
      expect(plan.summary).toContain('**Plan: 1 to add, 0 to change, 0 to destroy.**');
      expect(plan.summary).toContain('- `test_instance.test`');
      expect(plan.summary).toContain('- `test` (new): _(sensitive)_');
      expect(plan.summary).toContain('ami = (sensitive value)');
    });

    it('applies exactly the plan the plan job stored: deploy fetched that plan-id and its SHA-256 matched', async () => {
      const { 'plan-id': planId, 'plan-sha256': planSha } = deploy.step('plan', 'plan').outputs;
      expect(planId).toBe(`dev/${COMMIT}/azure-bakery-actions-terraform-stacks-bakery`);
      expect(planSha).toMatch(/^[0-9a-f]{64}$/);
      // Through the plan job's outputs and needs.plan.outputs, nothing else.
      expect(deploy.jobs.plan!.outputs).toMatchObject({ 'plan-id': planId, 'plan-sha256': planSha });
      const deployStep = deploy.step('apply', 'deploy');
      expect(deployStep.inputs).toMatchObject({ 'plan-id': planId, 'plan-sha256': planSha, 'require-approved-plan': 'true' });
      expect(visible(deployStep.stdout)).toContain(`Applying the reviewed plan ${planId} (SHA-256 ${planSha}`);

      // The stored plan is in the state container the state step reported, and it is what the plan job made.
      const state = deploy.step('apply', 'state').outputs;
      expect(state['blob-endpoint']!.replace(/\/$/, '')).toBe(cloud.azurite.blobEndpoint);
      const container = BlobServiceClient.fromConnectionString(cloud.azurite.connectionString).getContainerClient(state.container!);
      const stored = await container.getBlobClient(`plans/${planId}/tfplan`).downloadToBuffer();
      expect(sha256(stored)).toBe(planSha);
      const planFile = deploy.step('plan', 'plan').outputs['plan-file']!;
      expect(sha256(readFileSync(planFile))).toBe(planSha);

      // The apply job (another machine) applied a downloaded copy, never the plan job's file.
      const apply = cloud.terraform.calls().find((call) => call.command === 'apply')!;
      expect(apply.cwd.startsWith(deploy.jobs.apply!.workspace)).toBe(true);
      const applied = apply.argv.at(-1)!;
      expect(applied).not.toBe(planFile);
      expect(sha256(readFileSync(applied))).toBe(planSha);
      expect(deploy.outputs['plan-id']).toBe(planId);
    });

    it('publishes the stack outputs, which build-image reads to build in the stack\'s registry', () => {
      const outputs = deploy.step('apply', 'deploy').outputs;
      expect(outputs).toMatchObject({ 'resource-group-name': DEV.resourceGroup, 'cluster-name': DEV.cluster, 'registry-name': DEV.registry, 'registry-login-server': cloud.acr.loginServer });
      expect(deploy.step('apply', 'image').inputs).toMatchObject({ 'registry-name': DEV.registry, 'registry-login-server': cloud.acr.loginServer, 'resource-group': DEV.resourceGroup, 'image-name': 'bakery-flows', tags: 'dev' });
      expect(cloud.acr.scheduled).toHaveLength(1);
      expect(cloud.acr.scheduled[0]!.imageNames).toEqual([`bakery-flows:${COMMIT}`, 'bakery-flows:dev']);
      expect(cloud.acr.runEntries()[0]).toEqual(expect.arrayContaining(['Dockerfile', 'requirements.txt', 'flows/oisst/flow.py']));
    });

    // The apply job checks this release out inside the workspace (.azure-bakery-actions: the bundled
    // stack, where setup-remote-state writes the backend file and terraform init its .terraform folder)
    // and builds with image-context '.': the step before the build removes them, so ACR gets exactly
    // the caller's checkout, as `docker build .` in a fresh clone would send it.
    it("sends ACR the caller's files as build context, not the bundled stack checkout and Terraform's working files", () => {
      const entries = cloud.acr.runEntries()[0]!;
      expect([...entries].sort()).toEqual(CALLER_FILES);
      // They were there until the step removed them: the apply ran in the bundled stack and wrote its files.
      const apply = cloud.terraform.calls().find((call) => call.command === 'apply')!;
      expect(path.relative(deploy.jobs.apply!.workspace, apply.cwd)).toBe('.azure-bakery-actions/terraform/stacks/bakery');
      expect(deploy.step('apply', 'state').outputs['backend-config-file']).toBe(path.join(apply.cwd, 'backend-dev.hcl'));
      expect(deploy.step('apply', 'build-context').stdout).toContain("Removed this release's checkout and Terraform's working files of .azure-bakery-actions/terraform/stacks/bakery");
      expect(existsSync(path.join(deploy.jobs.apply!.workspace, '.azure-bakery-actions'))).toBe(false);
      // With nothing of Terraform's left in the context, build-image has nothing to warn about.
      expect(deploy.step('apply', 'image').stdout).not.toContain("Terraform's working files");
    });

    it('runs the worker and the flows from the image build-image pushed, pinned by its digest', () => {
      const digest = [...cloud.acr.runs.values()][0]!.digest;
      const image = `${cloud.acr.loginServer}/bakery-flows@${digest}`;
      expect(deploy.step('apply', 'image').outputs).toMatchObject({ image, digest });
      expect(afterDeploy.worker?.spec?.template.spec?.containers[0]?.image).toBe(image);
      const deployment = cloud.prefect.deployments.get(deploy.step('apply', 'flows').outputs['deployment-id']!)!;
      expect(deployment.job_variables).toMatchObject({ image });
      expect(deploy.outputs.image).toBe(image);
      expect(deploy.jobs.apply!.outputs.image).toBe(image);
    });

    it('annotates the worker ServiceAccount with the workload identity deploy output', () => {
      expect(deploy.step('apply', 'deploy').outputs['workload-identity-client-id']).toBe(IDS.workloadIdentityClientId);
      expect(afterDeploy.serviceAccount?.metadata?.annotations?.['azure.workload.identity/client-id']).toBe(IDS.workloadIdentityClientId);
      expect(afterDeploy.worker?.spec?.template.spec?.serviceAccountName).toBe('bakery-worker');
    });

    it('places the worker and every flow-run pod on the Spot worker pool: deploy\'s tolerations and node selector reach the Deployment and the work pool\'s template', () => {
      expect(afterDeploy.worker?.spec?.template.spec?.tolerations).toEqual([SPOT_TOLERATION]);
      expect(afterDeploy.worker?.spec?.template.spec?.nodeSelector).toEqual(WORKER_POOL_NODE_SELECTOR);
      const template = cloud.prefect.workPools.get(deploy.step('apply', 'agent').outputs['work-pool']!)?.base_job_template as { job_configuration: { job_manifest: { spec: { template: { spec: Record<string, unknown> } } } } };
      const podSpec = template.job_configuration.job_manifest.spec.template.spec;
      expect(podSpec.tolerations).toEqual([SPOT_TOLERATION]);
      expect(podSpec.nodeSelector).toEqual(WORKER_POOL_NODE_SELECTOR);
      expect(podSpec.serviceAccountName).toBe('{{ service_account_name }}');
    });

    it("registers the flow on setup-agent's pool, namespace and service account, with its code in deploy's flow storage, and its smoke run completes", async () => {
      const agent = deploy.step('apply', 'agent').outputs;
      const flows = deploy.step('apply', 'flows');
      expect(agent.namespace).toBe(WORKER_NAMESPACE);
      expect(flows.inputs).toMatchObject({ 'work-pool': agent['work-pool'], namespace: agent.namespace, 'service-account': agent['service-account'], 'flow-storage-container': 'flow-storage', run: 'true' });
      expect(cloud.prefect.workPools.get(agent['work-pool']!)?.type).toBe('kubernetes');
      const deployment = cloud.prefect.deployments.get(flows.outputs['deployment-id']!)!;
      expect(deployment).toMatchObject({
        name: 'bakery',
        entrypoint: 'flow.py:noaa_oisst',
        work_pool_name: 'bakery',
        job_variables: { namespace: WORKER_NAMESPACE, service_account_name: 'bakery-worker' },
        parameters: { start: '1981-09-01', end: '1981-09-01' },
      });
      expect(cloud.prefect.flows.get(deployment.flow_id as string)?.name).toBe('noaa-oisst');
      expect(JSON.stringify(deployment.pull_steps)).toContain(cloud.azurite.blobEndpoint);

      const folder = flows.outputs['code-folder']!;
      const code = BlobServiceClient.fromConnectionString(cloud.azurite.connectionString).getContainerClient('flow-storage');
      const blobs: string[] = [];
      for await (const blob of code.listBlobsFlat({ prefix: `${folder}/` })) blobs.push(blob.name);
      expect(blobs).toContain(`${folder}/flow.py`);
      expect(blobs).toContain(`${folder}/requirements.txt`);

      const run = cloud.prefect.flowRuns.get(flows.outputs['flow-run-id']!);
      expect((run?.run.state as { type?: string } | undefined)?.type).toBe('COMPLETED');
      expect(visible(flows.stdout)).toMatch(/RUNNING → COMPLETED/);
      expect(deploy.outputs).toMatchObject({ 'deployment-id': flows.outputs['deployment-id'], 'flow-run-id': flows.outputs['flow-run-id'], 'work-pool': 'bakery' });
      expect(deploy.jobs.apply!.environment).toEqual({ name: 'dev', url: flows.outputs['deployment-url'] });
    });

    it("gives the flow run the platform's facts from deploy's and build-image's outputs as job_variables.env: every one the example flow reads", () => {
      const outputs = deploy.step('apply', 'deploy').outputs;
      const flows = deploy.step('apply', 'flows');
      // deploy.yml wires the cache container from deploy's output; the caller passed none of this.
      expect(flows.inputs['flow-cache-container']).toBe(outputs['flow-cache-container-name']);
      expect(DEPLOY_INPUTS['flow-parameters']).not.toMatch(/cache|image|namespace|account/);
      const deployment = cloud.prefect.deployments.get(flows.outputs['deployment-id']!)!;
      const env = (deployment.job_variables as { env?: Record<string, string> }).env;
      expect(env).toEqual({
        BAKERY_IMAGE: deploy.step('apply', 'image').outputs.image,
        BAKERY_NAMESPACE: WORKER_NAMESPACE,
        BAKERY_SERVICE_ACCOUNT: outputs['worker-service-account-name'],
        BAKERY_FLOW_STORAGE_ACCOUNT: outputs['flow-storage-account-name'],
        BAKERY_FLOW_STORAGE_BLOB_ENDPOINT: outputs['flow-storage-blob-endpoint']!.replace(/\/+$/, ''),
        BAKERY_FLOW_STORAGE_CONTAINER: outputs['flow-storage-container-name'],
        BAKERY_FLOW_CACHE_CONTAINER: outputs['flow-cache-container-name'],
        BAKERY_FLOW_POD_TOLERATIONS: expect.any(String),
        BAKERY_FLOW_POD_NODE_SELECTOR: expect.any(String),
      });
      // JSON for the flow's json.loads(): the stack's values, whatever the key order.
      expect(JSON.parse(env!.BAKERY_FLOW_POD_TOLERATIONS!)).toEqual([SPOT_TOLERATION]);
      expect(JSON.parse(env!.BAKERY_FLOW_POD_NODE_SELECTOR!)).toEqual(WORKER_POOL_NODE_SELECTOR);
      expect(env!.BAKERY_FLOW_CACHE_CONTAINER).toBe('flow-cache');
      // The Dask pods' placement the example flow reads, passed through from the stack's outputs.
      for (const name of ['BAKERY_FLOW_POD_TOLERATIONS', 'BAKERY_FLOW_POD_NODE_SELECTOR']) expect(readFileSync(path.join(EXAMPLE_FLOW_DIR, 'flow.py'), 'utf8')).toContain(`os.environ.get("${name}")`);
      // What examples/flows/oisst/flow.py falls back to when a parameter is not given: all of it is there.
      const read = [...readFileSync(path.join(EXAMPLE_FLOW_DIR, 'flow.py'), 'utf8').matchAll(/platform_fact\("\w+", \w+, "(BAKERY_[A-Z_]+)"\)/g)].map((match) => match[1]!);
      expect(read.sort()).toEqual(['BAKERY_FLOW_CACHE_CONTAINER', 'BAKERY_FLOW_STORAGE_ACCOUNT', 'BAKERY_IMAGE', 'BAKERY_NAMESPACE']);
      for (const name of read) expect(env![name], name).toBeTruthy();
    });

    it('shows no secret in any log, output or summary; sensitive Terraform outputs reach only their own (masked) deploy output', () => {
      expectNoSecretShown(deploy, [{ job: 'apply', step: 'deploy', outputs: ['test', 'flow-storage-primary-connection-string'] }]);
      const deployStep = deploy.step('apply', 'deploy');
      expect(deployStep.outputs.test).toBe(FIXTURE_SENSITIVE_VALUE);
      expect(deployStep.outputs['flow-storage-primary-connection-string']).toBe(cloud.azurite.connectionString);
      for (const value of [FIXTURE_SENSITIVE_VALUE, cloud.azurite.connectionString]) expect(deployStep.stdout).toContain(`::add-mask::${value}`);
      for (const id of ['agent', 'flows']) expect(deploy.step('apply', id).stdout, id).toContain(`::add-mask::${SECRETS.prefectApiKey}`);
    });
  });

  describe('destroy.yml', () => {
    it('passes the confirm guard, then runs setup-remote-state and destroy, each exiting 0', () => {
      expect(describeSteps(destroy)).toEqual([
        'guard/checkout: success',
        'guard/run: success',
        'destroy/checkout: success',
        'destroy/checkout: success',
        'destroy/stack: success',
        'destroy/state: success',
        'destroy/destroy: success',
      ]);
      for (const step of destroy.steps().filter((candidate) => candidate.kind !== 'checkout')) expect(step.exitCode, `${step.job}/${step.id}`).toBe(0);
      expect(destroy.step('destroy', 'destroy').outputs.destroyed).toBe('true');
      expect(destroy.outputs).toEqual({ destroyed: 'true' });
    });

    it("removes the worker's namespace — the stack's worker_namespace, read from the state — from the cluster deploy set it up on, then runs terraform destroy", () => {
      const step = destroy.step('destroy', 'destroy');
      expect(step.inputs).toMatchObject({ 'resource-group': deploy.step('apply', 'deploy').outputs['resource-group-name'], 'cluster-name': deploy.step('apply', 'deploy').outputs['cluster-name'] });
      // destroy.yml names no namespace: the action reads the one deploy.yml gave setup-agent.
      expect(step.inputs.namespace).toBe('');
      expect(afterDeploy.worker).toBeDefined();
      expect(cloud.kube.requests.some((request) => request.method === 'DELETE' && request.path === `/api/v1/namespaces/${WORKER_NAMESPACE}`)).toBe(true);
      expect(cloud.kube.requests.some((request) => request.method === 'DELETE' && request.path === '/api/v1/namespaces/bakery')).toBe(false);
      expect(cloud.kube.object('v1', 'Namespace', WORKER_NAMESPACE)).toBeUndefined();
      const log = visible(step.stdout);
      expect(log).toContain(`The agent's namespace is ${WORKER_NAMESPACE}, from the worker_namespace output of .azure-bakery-actions/terraform/stacks/bakery.`);
      expect(log.indexOf(`Namespace ${WORKER_NAMESPACE}: deleted.`)).toBeGreaterThan(-1);
      expect(log.indexOf(`Namespace ${WORKER_NAMESPACE}: deleted.`)).toBeLessThan(log.indexOf('Destroy complete! Resources: 1 destroyed.'));

      const calls = cloud.terraform.calls().slice(afterDeploy.terraformCalls);
      const stackDirectory = path.join(destroy.jobs.destroy!.workspace, '.azure-bakery-actions/terraform/stacks/bakery');
      expect(calls.map((call) => call.command).filter((command) => command !== 'version')).toEqual(['init', 'output', 'destroy']);
      // In the destroy job's own checkout, against the state the apply job wrote (the same backend blob).
      expect(calls.find((call) => call.command === 'output')!.cwd).toBe(stackDirectory);
      const init = calls.find((call) => call.command === 'init')!;
      expect(init.argv).toContain(`-backend-config=${destroy.step('destroy', 'state').outputs['backend-config-file']}`);
      const destroyCall = calls.find((call) => call.command === 'destroy')!;
      expect(destroyCall.cwd).toBe(stackDirectory);
      expect(destroyCall.argv).toEqual(expect.arrayContaining(['-auto-approve', `-var-file=${path.join(destroy.jobs.destroy!.workspace, 'environments/dev.tfvars')}`]));
      expect(variablesOf(destroyCall.argv)).toEqual([`identifier=${IDENTIFIER}`, 'environment=dev', `deployer_object_id=${IDS.deployerObjectId}`]);
      expect(destroyCall.env).toMatchObject({ ARM_CLIENT_ID: IDS.deployClientId, ARM_USE_OIDC: 'true' });
      expect(step.summary).toContain('The remote state was kept');
    });

    it('shows no secret in any log, output or summary', () => {
      expectNoSecretShown(destroy);
    });
  });
});

describe('deploy.yml with a prebuilt image and no flows: the build and the registration are skipped', () => {
  it('skips the build, runs the worker from the given image, registers nothing, and still exits 0', async () => {
    const image = `prebuilt.azurecr.io/bakery-flows@sha256:${'ab'.repeat(32)}`;
    const builds = cloud.acr.scheduled.length;
    const deployments = cloud.prefect.deployments.size;
    const run = await runWorkflow('deploy.yml', cloud.caller({ environment: 'dev', identifier: IDENTIFIER, region: 'westeurope', image }, '1122334455667788990011223344556677889900'), cloud.machine);
    expect(describeSteps(run).filter((step) => step.startsWith('apply/') && !step.startsWith('apply/checkout'))).toEqual([
      'apply/stack: success',
      'apply/state: success',
      'apply/deploy: success',
      'apply/build-context: skipped',
      'apply/image: skipped',
      'apply/agent: success',
      'apply/flows: skipped',
    ]);
    // `steps.image.outputs.image || inputs.image`: the skipped build gives '', so the given image runs.
    expect(run.step('apply', 'agent').inputs.image).toBe(image);
    expect(cloud.kube.object<IDeployment>('apps/v1', 'Deployment', 'prefect-worker', WORKER_NAMESPACE)?.spec?.template.spec?.containers[0]?.image).toBe(image);
    expect(cloud.acr.scheduled.length).toBe(builds);
    expect(cloud.prefect.deployments.size).toBe(deployments);
    expect(run.outputs).toMatchObject({ image, 'work-pool': 'bakery', 'deployment-id': '', 'flow-run-id': '' });
    expect(run.jobs.apply!.environment).toEqual({ name: 'dev', url: '' });
    expectNoSecretShown(run, [{ job: 'apply', step: 'deploy', outputs: ['test', 'flow-storage-primary-connection-string'] }]);
  }, 60_000);
});

describe('a deploy that must stop', () => {
  /** What happened in the stand-ins so far, to prove a run added nothing. */
  function marks() {
    return {
      builds: cloud.acr.scheduled.length,
      kubernetes: cloud.kube.requests.length,
      prefect: cloud.prefect.requests.length,
      arm: cloud.azure.armRequests().length,
      terraform: cloud.terraform.calls().map((call) => call.command),
    };
  }

  it('of a commit with no stored plan stops at deploy with the re-plan guidance, and runs nothing after it', async () => {
    const commit = 'fedcba9876543210fedcba9876543210fedcba98';
    let before: ReturnType<typeof marks> | undefined;
    const removed: string[] = [];
    // The plan job ran for this commit; by the time the environment's reviewers approved, its stored
    // plan was gone (retention, or removed by hand): for deploy this commit now has no stored plan.
    const run = await runWorkflow('deploy.yml', cloud.caller({ ...DEPLOY_INPUTS, environment: 'staging' }, commit), cloud.machine, {
      beforeJob: async (job, finished) => {
        if (job !== 'apply') return;
        const planId = finished.plan!.outputs['plan-id']!;
        const container = BlobServiceClient.fromConnectionString(cloud.azurite.connectionString).getContainerClient(finished.plan!.steps.find((step) => step.id === 'state')!.outputs.container!);
        for await (const blob of container.listBlobsFlat({ prefix: `plans/${planId}/` })) {
          await container.deleteBlob(blob.name);
          removed.push(blob.name);
        }
        before = marks();
      },
    });
    expect(removed).toContain(`plans/staging/${commit}/azure-bakery-actions-terraform-stacks-bakery/tfplan`);
    expect(describeSteps(run)).toEqual([
      'plan/checkout: success',
      'plan/checkout: success',
      'plan/stack: success',
      'plan/state: success',
      'plan/plan: success',
      'apply/checkout: success',
      'apply/checkout: success',
      'apply/stack: success',
      'apply/state: success',
      'apply/deploy: failure',
      'apply/build-context: skipped',
      'apply/image: skipped',
      'apply/agent: skipped',
      'apply/flows: skipped',
    ]);
    const deployStep = run.step('apply', 'deploy');
    expect(deployStep.exitCode).toBe(1);
    expect(deployStep.inputs['plan-id']).toBe(`staging/${commit}/azure-bakery-actions-terraform-stacks-bakery`);
    expect(deployStep.stdout).toContain(`::error::deploy: No stored plan "staging/${commit}/azure-bakery-actions-terraform-stacks-bakery"`);
    expect(deployStep.stdout).toContain('Re-plan: run the plan action for this commit and environment, review its plan, then deploy with its "plan-id" output.');
    expect(deployStep.outputs).toEqual({});

    // Nothing after deploy ran: no apply, no build, no Kubernetes or Prefect call, no outputs.
    const after = marks();
    expect(after.terraform.slice(before!.terraform.length).filter((command) => command !== 'version')).toEqual(['init']);
    expect(after.builds).toBe(before!.builds);
    expect(after.kubernetes).toBe(before!.kubernetes);
    expect(after.prefect).toBe(before!.prefect);
    expect(run.jobs.apply!.status).toBe('failure');
    expect(run.outputs).toMatchObject({ image: '', 'deployment-id': '', 'flow-run-id': '', 'cluster-name': '' });
    expectNoSecretShown(run);
  }, 60_000);

  it('and a destroy whose confirm is not the environment stops at the guard, before any Azure call', async () => {
    const before = marks();
    const run = await runWorkflow('destroy.yml', cloud.caller({ ...DESTROY_INPUTS, confirm: 'dve' }, COMMIT), cloud.machine);
    expect(describeSteps(run)).toEqual(['guard/checkout: success', 'guard/run: failure']);
    expect(run.jobs.destroy!.status).toBe('skipped');
    const guard = run.jobs.guard!.steps[1]!;
    expect(guard.stdout).toContain("::error title=Input confirm::confirm must be exactly 'dev' to destroy it; it is 'dve'. Nothing was destroyed.");
    expect(marks()).toEqual(before);
    expect(run.outputs).toEqual({ destroyed: '' });
  }, 30_000);
});
