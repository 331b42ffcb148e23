import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { GuidedError } from '../../src/lib/errors.js';
import { MANIFEST_NAME } from '../../src/lib/flow-package.js';
import { PULL_STEP } from '../../src/register-flow/prefect-flows.js';
import { AzureStandIn } from '../support/azure-stand-in.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { startPrefectApi, type PrefectStandIn } from '../support/prefect-api.js';
import { OISST_FLOW, makeWorkspace, runInProcess } from './helpers.js';

/**
 * register-flow end to end in process: OIDC through the Entra stand-in, the upload to Azurite in OAuth
 * (HTTPS, bearer token) mode, and the Prefect stand-in checking every request against the real schema.
 */

const IMAGE = `bakeryacr.azurecr.io/bakery-flows@sha256:${'ab'.repeat(32)}`;
const WORKSPACE_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/bakery-dev/providers/Microsoft.OperationalInsights/workspaces/bakery-dev-logs';

let azure: AzureStandIn;
let azurite: Azurite;
let container: ContainerClient;
let prefect: PrefectStandIn;
let containerName: string;
let counter = 0;

beforeAll(async () => {
  azure = await new AzureStandIn().start();
  azurite = await startAzurite({ oauth: true });
});

afterAll(async () => {
  await azurite?.stop();
  await azure?.stop();
});

beforeEach(async () => {
  prefect = await startPrefectApi();
  prefect.addWorkPool('bakery');
  containerName = `flows-${++counter}`;
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(containerName);
  await container.create();
});

afterEach(async () => {
  expect(prefect.problems).toEqual([]);
  await prefect.stop();
});

function oisstWorkspace(): string {
  return makeWorkspace({
    'flows/oisst/flow.py': OISST_FLOW,
    'flows/oisst/helpers/urls.py': 'BASE = "https://www.ncei.noaa.gov"\n',
    'flows/oisst/.prefectignore': '# local outputs\ndata/\n*.zarr/\n',
    'flows/oisst/data/oisst-1981-09-01.nc': 'not uploaded',
    'flows/oisst/__pycache__/flow.cpython-312.pyc': 'cached: uploaded, as .prefectignore does not exclude it',
    'README.md': 'outside the flow directory: not uploaded',
  });
}

function inputs(workspace: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    flows: 'flows/oisst/flow.py:noaa_oisst',
    'working-directory': workspace,
    'prefect-api-url': prefect.apiUrl,
    'work-pool': 'bakery',
    image: IMAGE,
    'flow-storage-blob-endpoint': azurite.blobEndpoint,
    'flow-storage-container': containerName,
    'poll-interval': '1s',
    ...extra,
  };
}

async function blobNames(prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  return names.sort();
}

describe('register-flow with Prefect', () => {
  it('uploads the flow directory under its content hash and upserts the flow and a deployment whose pull step uses the pod identity', async () => {
    const workspace = oisstWorkspace();
    const result = await runInProcess(
      inputs(workspace, { tags: 'bakery, smoke', cron: '0 6 * * *', timezone: 'Europe/Amsterdam', parameters: '{"start": "1981-09-01", "end": "1981-09-02"}', 'flow-cache-container': 'flow-cache' }),
      azure.authEnv('oidc'),
    );
    expect(result.error).toBeUndefined();

    // Uploaded with a token the Entra stand-in issued for Storage against a GitHub OIDC assertion.
    expect([...azure.issuedTokens.values()].some((t) => t.method === 'assertion' && t.scope.startsWith('https://storage.azure.com'))).toBe(true);
    const folder = result.outputs['code-folder']!;
    expect(folder).toMatch(/^flows\/noaa-oisst\/[0-9a-f]{16}$/);
    expect(await blobNames()).toEqual([
      `${folder}/${MANIFEST_NAME}`,
      `${folder}/.prefectignore`,
      `${folder}/__pycache__/flow.cpython-312.pyc`,
      `${folder}/flow.py`,
      `${folder}/helpers/urls.py`,
    ]);

    expect(prefect.calls('create_flow_flows')[0]!.body).toEqual({ name: 'noaa-oisst' });
    const [deployment] = prefect.calls('create_deployment');
    expect(deployment!.status).toBe(201);
    expect(deployment!.body).toMatchObject({
      name: 'bakery',
      entrypoint: 'flow.py:noaa_oisst',
      work_pool_name: 'bakery',
      pull_steps: [{ [PULL_STEP]: { container: containerName, folder, credentials: { account_url: azurite.blobEndpoint } } }],
      job_variables: {
        image: IMAGE,
        namespace: 'bakery',
        service_account_name: 'bakery-worker',
        // The platform's facts for the flow's parameter defaults; Prefect's schema takes job_variables as a free-form object.
        env: {
          BAKERY_IMAGE: IMAGE,
          BAKERY_NAMESPACE: 'bakery',
          BAKERY_SERVICE_ACCOUNT: 'bakery-worker',
          BAKERY_FLOW_STORAGE_ACCOUNT: 'devstoreaccount1',
          BAKERY_FLOW_STORAGE_BLOB_ENDPOINT: azurite.blobEndpoint,
          BAKERY_FLOW_STORAGE_CONTAINER: containerName,
          BAKERY_FLOW_CACHE_CONTAINER: 'flow-cache',
        },
      },
      parameters: { start: '1981-09-01', end: '1981-09-02' },
      tags: ['bakery', 'smoke'],
      schedules: [{ schedule: { cron: '0 6 * * *', timezone: 'Europe/Amsterdam', day_or: true }, active: true }],
    });
    expect(Object.keys((deployment!.body as { pull_steps: Record<string, unknown>[] }).pull_steps[0]![PULL_STEP] as object).sort()).toEqual(['container', 'credentials', 'folder']);

    const id = [...prefect.deployments.keys()][0]!;
    expect(result.outputs['deployment-id']).toBe(id);
    expect(result.outputs['deployment-url']).toBe(`${prefect.apiUrl.replace(/\/api$/, '')}/deployments/deployment/${id}`);
    expect(result.outputs['flow-run-id']).toBe('');
    expect(JSON.parse(result.outputs.deployments!)).toEqual([expect.objectContaining({ flow: 'noaa-oisst', deployment_id: id, code_folder: folder, flow_run_id: null })]);
    expect(result.summary).toContain(`[bakery](${result.outputs['deployment-url']})`);
    expect(result.summary).toContain('uploaded 4 files');
  });

  it('uploads the same content once, updates the same deployment, and gives changed code a new folder', async () => {
    const workspace = oisstWorkspace();
    const first = await runInProcess(inputs(workspace), azure.authEnv('oidc'));
    expect(first.error).toBeUndefined();
    const manifest = container.getBlockBlobClient(`${first.outputs['code-folder']}/${MANIFEST_NAME}`);
    const etag = (await manifest.getProperties()).etag;

    const second = await runInProcess(inputs(workspace), azure.authEnv('oidc'));
    expect(second.error).toBeUndefined();
    expect(second.outputs['code-folder']).toBe(first.outputs['code-folder']);
    expect(second.log).toContain('already holds this code; nothing to upload');
    expect((await manifest.getProperties()).etag).toBe(etag);
    expect(second.outputs['deployment-id']).toBe(first.outputs['deployment-id']);
    expect(prefect.calls('create_deployment').map((r) => r.status)).toEqual([201, 200]);
    expect(prefect.calls('create_flow_flows').map((r) => r.status)).toEqual([201, 200]);

    writeFileSync(path.join(workspace, 'flows/oisst/helpers/urls.py'), 'BASE = "https://www.ncei.noaa.gov/data"\n');
    const third = await runInProcess(inputs(workspace), azure.authEnv('oidc'));
    expect(third.error).toBeUndefined();
    expect(third.outputs['code-folder']).not.toBe(first.outputs['code-folder']);
    expect(third.outputs['deployment-id']).toBe(first.outputs['deployment-id']);
    expect((prefect.deployments.get(third.outputs['deployment-id']!)!.pull_steps as Record<string, { folder: string }>[])[0]![PULL_STEP]!.folder).toBe(third.outputs['code-folder']);
    expect((await blobNames('flows/noaa-oisst/')).filter((name) => name.endsWith(MANIFEST_NAME))).toHaveLength(2);
  });

  it('finds the @flow function of a file named without :function, and of every file a glob matches', async () => {
    const workspace = makeWorkspace({
      'flows/oisst/flow.py': OISST_FLOW,
      'flows/gpcp/flow.py': 'import prefect\n\n@prefect.flow(\n    retries=1,\n)\nasync def gpcp_daily():\n    pass\n',
      'flows/common/util.py': 'def helper():\n    return 1\n',
    });
    const result = await runInProcess(inputs(workspace, { flows: 'flows/*/*.py', 'deployment-name': 'nightly' }), azure.authEnv('oidc'));
    expect(result.error).toBeUndefined();
    const bodies = prefect.calls('create_deployment').map((r) => r.body as { entrypoint: string; name: string });
    expect(bodies.map((b) => [b.entrypoint, b.name])).toEqual([
      ['flow.py:gpcp_daily', 'nightly'],
      ['flow.py:noaa_oisst', 'nightly'],
    ]);
    expect(prefect.calls('create_flow_flows').map((r) => (r.body as { name: string }).name)).toEqual(['gpcp-daily', 'noaa-oisst']);
    expect(JSON.parse(result.outputs.deployments!)).toHaveLength(2);
  });

  it('runs a smoke run to COMPLETED, printing each state change, and outputs its id', async () => {
    const result = await runInProcess(inputs(oisstWorkspace(), { run: 'true' }), azure.authEnv('oidc'));
    expect(result.error).toBeUndefined();
    const [create] = prefect.calls('create_flow_run');
    expect(create!.body).toEqual({ idempotency_key: `register-flow-1658821493-1-${result.outputs['deployment-id']}`, tags: ['smoke-test'] });
    const runId = result.outputs['flow-run-id']!;
    expect(prefect.flowRuns.has(runId)).toBe(true);
    expect(result.log).toMatch(/flow run \S+ SCHEDULED → PENDING/);
    expect(result.log).toMatch(/RUNNING → COMPLETED after .*: All states completed\./);
    expect(result.summary).toMatch(/✅ \[[^\]]+\]\([^)]*\/runs\/flow-run\/[0-9a-f-]+\): COMPLETED in/);
    expect(prefect.calls('read_flow_run')).toHaveLength(3);
  });

  it('fails the step on a FAILED smoke run and writes the run, its last message and the KQL for its pod and Dask workers', async () => {
    prefect.runScript = [{ type: 'PENDING' }, { type: 'RUNNING' }, { type: 'FAILED', message: 'Flow run encountered an exception: FileNotFoundError: oisst-avhrr-v02r01.19810901.nc' }];
    const result = await runInProcess(
      inputs(oisstWorkspace(), { run: 'true', 'cluster-name': 'bakery-dev-aks', namespace: 'bakery-ns', 'log-analytics-workspace-id': WORKSPACE_ID }),
      azure.authEnv('oidc'),
    );
    expect(result.error).toBeInstanceOf(GuidedError);
    const runId = result.outputs['flow-run-id']!;
    const runName = prefect.flowRuns.get(runId)!.run.name as string;
    expect(result.error!.message).toContain(`noaa-oisst: flow run ${runName} ended FAILED`);
    expect(result.error!.message).toContain('FileNotFoundError: oisst-avhrr-v02r01.19810901.nc');

    const summary = result.summary;
    expect(summary).toContain('### ❌ Smoke run of noaa\\-oisst failed');
    expect(summary).toContain(runId);
    expect(summary).toContain('Flow run encountered an exception: FileNotFoundError: oisst-avhrr-v02r01.19810901.nc');
    expect(summary).toContain(`https://portal.azure.com/#resource${WORKSPACE_ID}/logs`);
    // The pod query: the Job the worker made for this run, in this cluster and namespace.
    expect(summary).toMatch(/KubePodInventory[\s\S]*ClusterName == "bakery-dev-aks" and Namespace == "bakery-ns"[\s\S]*ControllerKind == "Job" and ControllerName startswith "[a-z]+-[a-z]+-"[\s\S]*ContainerLogV2[\s\S]*PodNamespace == "bakery-ns" and PodName in \(runPods\)/);
    expect(summary).toContain(`ControllerName startswith "${runName}-"`);
    // The Dask query: pods of the Dask cluster named after the run.
    expect(summary).toContain('PodLabel contains "dask.org/cluster-name"');
    expect(summary).toContain(`PodLabel contains "${runName}"`);
    expect(summary).toContain('of flow noaa-oisst');
    expect(summary.match(/```kusto/g)).toHaveLength(2);
  });

  it('retries 429 (Retry-After) and 503 answers of the Prefect API, and a failing poll', async () => {
    prefect.failNext({ method: 'GET', path: '/work_pools/{name}' }, [{ status: 503 }]);
    prefect.failNext({ method: 'POST', path: '/deployments/' }, [{ status: 429, retryAfter: '0' }, { status: 503 }]);
    prefect.failNext({ method: 'GET', path: '/flow_runs/{id}' }, [{ status: 503 }]);
    const result = await runInProcess(inputs(oisstWorkspace(), { run: 'true' }), azure.authEnv('oidc'));
    expect(result.error).toBeUndefined();
    expect(prefect.calls('read_work_pool').map((r) => r.status)).toEqual([503, 200]);
    expect(prefect.calls('create_deployment').map((r) => r.status)).toEqual([429, 503, 201]);
    expect(prefect.calls('read_flow_run').map((r) => r.status)).toEqual([503, 200, 200, 200]);
    expect(result.log).toContain('Prefect answered 429 to POST /deployments/; retrying in 0.0 s (attempt 2 of 6)');
    expect(prefect.deployments.size).toBe(1);
  });

  it('stops at the run timeout with a status line at least every 15 s, and fails the step', async () => {
    prefect.readsPerState = 1000; // the run stays PENDING
    let clock = Date.parse('2025-01-01T00:00:00Z');
    const result = await runInProcess(inputs(oisstWorkspace(), { run: 'true', 'run-timeout': '2m', 'poll-interval': '10s' }), azure.authEnv('oidc'), {
      watch: { now: () => clock, sleep: async (ms) => void (clock += ms) },
    });
    expect(result.error).toBeInstanceOf(GuidedError);
    expect(result.error!.message).toMatch(/was still PENDING after 2m/);
    const statusLines = result.log.split('\n').filter((line) => line.startsWith('… still waiting after'));
    // Polls every 10 s, but the wait shortens so a status line comes every 15 s: at 15, 30, … 105 s.
    expect(statusLines.map((line) => /after ([^(]+) \(/.exec(line)![1])).toEqual(['15 s', '30 s', '45 s', '1m', '1m 15s', '1m 30s', '1m 45s']);
    expect(statusLines[0]).toContain('noaa-oisst PENDING');
    expect(result.summary).toContain('⏱️');
    expect(result.summary).toContain('did not finish in time');
  });

  it('refuses to upload anything when the work pool does not exist', async () => {
    const result = await runInProcess(inputs(oisstWorkspace(), { 'work-pool': 'missing-pool' }), azure.authEnv('oidc'));
    expect(result.error).toBeInstanceOf(GuidedError);
    expect(result.error!.message).toContain('The work pool "missing-pool" does not exist');
    expect(result.error!.message).toContain('Run setup-agent before register-flow');
    expect(await blobNames()).toEqual([]);
    expect(prefect.calls('create_deployment')).toHaveLength(0);
  });

  it('explains a missing container instead of failing on a bare 404', async () => {
    const result = await runInProcess(inputs(oisstWorkspace(), { 'flow-storage-container': 'no-such-container' }), azure.authEnv('oidc'));
    expect(result.error).toBeInstanceOf(GuidedError);
    expect(result.error!.message).toMatch(/The flow-storage container "no-such-container" does not exist/);
    expect(prefect.calls('create_deployment')).toHaveLength(0);
  });
});
