import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { AzureStandIn } from '../support/azure-stand-in.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { startPrefectApi, type PrefectStandIn } from '../support/prefect-api.js';
import { runDist } from '../support/run-dist.js';
import { OISST_FLOW, makeWorkspace } from './helpers.js';

/** The built bundle (dist/register-flow/index.js) run as a runner runs it: `npm run bundle register-flow` first. */

let azure: AzureStandIn;
let azurite: Azurite;
let prefect: PrefectStandIn;

beforeAll(async () => {
  [azure, azurite, prefect] = await Promise.all([new AzureStandIn().start(), startAzurite({ oauth: true }), startPrefectApi()]);
  prefect.addWorkPool('bakery');
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('flows').create();
});

afterAll(async () => {
  await Promise.all([prefect?.stop(), azurite?.stop(), azure?.stop()]);
});

describe('dist/register-flow', () => {
  it('fails fast, before any side effect, on a missing required input', async () => {
    const result = await runDist('register-flow', { inputs: { flows: 'flows/oisst/flow.py' } });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('::error::register-flow: Input "prefect-api-url" is required but empty.');
    expect(result.durationMs).toBeLessThan(1500);
    expect(prefect.requests).toHaveLength(0);
  });

  it('registers a flow and runs it to COMPLETED with OIDC, uploading to Azurite over HTTPS', async () => {
    const workspace = makeWorkspace({ 'flows/oisst/flow.py': OISST_FLOW, 'flows/oisst/.prefectignore': 'data/\n' });
    const result = await runDist('register-flow', {
      cwd: workspace,
      inputs: {
        flows: 'flows/oisst/flow.py',
        'prefect-api-url': prefect.apiUrl,
        'work-pool': 'bakery',
        image: `bakeryacr.azurecr.io/bakery-flows@sha256:${'cd'.repeat(32)}`,
        'flow-storage-blob-endpoint': azurite.blobEndpoint,
        'flow-storage-container': 'flows',
        run: 'true',
        'poll-interval': '1s',
        'cluster-name': 'bakery-dev-aks',
      },
      env: azure.authEnv('oidc'),
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const deploymentId = [...prefect.deployments.keys()][0]!;
    expect(result.outputs['deployment-id']).toBe(deploymentId);
    expect(result.outputs['flow-run-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.outputs['code-folder']).toMatch(/^flows\/noaa-oisst\/[0-9a-f]{16}$/);
    expect(result.stdout).toContain('::group::Upload flow code to flows');
    expect(result.stdout).toMatch(/RUNNING → COMPLETED/);
    expect(result.summary).toContain('## Flows registered with Prefect');
    expect(prefect.problems).toEqual([]);
  });
});
