import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { ClientSecretCredential } from '@azure/identity';
import { readInputs } from '../../src/destroy/inputs.js';
import { destroy } from '../../src/destroy/main.js';
import { GuidedError } from '../../src/lib/errors.js';
import { KubernetesClient } from '../../src/lib/kubernetes.js';
import { AKS_AAD_SERVER_APP_ID } from '../../src/lib/aks.js';
import { AzureStandIn, TEST_IDS } from '../support/azure-stand-in.js';
import { addAksRoutes } from '../support/arm-aks.js';
import { addAksGetRoute } from '../support/arm-aks-get.js';
import { registerArmStorage, type ArmStorage } from '../support/arm-storage.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { installFakeTerraform, type FakeTerraform } from '../support/fake-terraform.js';
import { runInProcess } from '../support/in-process.js';
import { startKubernetesApi, type KubernetesApiStandIn } from '../support/kubernetes-api.js';
import { testTlsOptions } from '../support/tls.js';
import { BAKERY, METAFLOW_INFRA, METAFLOW_SERVICES, makeWorkspace, sample } from '../deploy/helpers.js';

// destroy's run() in this process: the Entra ID + ARM stand-in (AKS credentials, resource group
// deletion), the Kubernetes API stand-in, Azurite with Azure AD auth holding the state files, the fake
// terraform. Retry waits are recorded instead of slept.

const STATE_GROUP = 'contoso1-bakery-remote-state-rg';
const STATES = path.resolve(import.meta.dirname, '../fixtures/terraform-state');
const LOCAL_TOKEN = 'local-account-token-destroy-0123456789';

let azure: AzureStandIn;
let arm: ArmStorage;
let azurite: Azurite;
let kube: KubernetesApiStandIn;
let container: ReturnType<BlobServiceClient['getContainerClient']>;

beforeAll(async () => {
  [azure, azurite, kube] = await Promise.all([new AzureStandIn().start(), startAzurite({ oauth: true }), startKubernetesApi()]);
  arm = registerArmStorage(azure, { blobEndpoint: azurite.blobEndpoint });
  kube.acceptToken = (token) => azure.issuedTokens.get(token)?.scope === `${AKS_AAD_SERVER_APP_ID}/.default`;
  kube.acceptedTokens.add(LOCAL_TOKEN);
  kube.namespaceDeletionMs = 400;
  addAksRoutes(azure, [{ resourceGroup: 'bakery-dev-rg', name: 'bakery-dev-aks', kubeconfig: kube.kubeconfig('aad', { tenantId: TEST_IDS.tenantId }) }]);
  addAksGetRoute(azure, [{ resourceGroup: 'bakery-dev-rg', name: 'bakery-dev-aks' }]);
  azure.clientSecrets.set(TEST_IDS.clientId, TEST_IDS.clientSecret);
  const credential = new ClientSecretCredential(TEST_IDS.tenantId, TEST_IDS.clientId, TEST_IDS.clientSecret, { authorityHost: azure.url, disableInstanceDiscovery: true });
  container = new BlobServiceClient(azurite.blobEndpoint, credential).getContainerClient('tfstate');
  await container.createIfNotExists();
});

afterAll(async () => {
  await Promise.all([azure?.stop(), azurite?.stop(), kube?.stop()]);
});

beforeEach(async () => {
  // Every case starts with the state group present and an empty state container.
  arm.resourceGroups.set(STATE_GROUP.toLowerCase(), { id: `/subscriptions/${TEST_IDS.subscriptionId}/resourceGroups/${STATE_GROUP}`, name: STATE_GROUP, location: 'westeurope', properties: { provisioningState: 'Succeeded' } });
  for await (const blob of container.listBlobsFlat()) await container.deleteBlob(blob.name, { deleteSnapshots: 'include' }).catch(() => undefined);
});

interface Case {
  workspace: string;
  terraform: FakeTerraform;
  sleeps: number[];
}

function newCase(): Case {
  return { workspace: makeWorkspace(), terraform: installFakeTerraform(), sleeps: [] };
}

function runDestroy(c: Case, inputs: Record<string, string>, env: Record<string, string> = {}) {
  return runInProcess(
    () => destroy(readInputs(), { sleep: async (ms) => void c.sleeps.push(ms), random: () => 0, namespacePollMs: 50, namespaceReportEveryMs: 100 }).then(() => undefined),
    {
      workDir: c.workspace,
      inputs: {
        environment: 'dev',
        confirm: 'dev',
        'working-directories': BAKERY,
        'terraform-binary': path.join(c.terraform.binDir, 'terraform'),
        'blob-endpoint': azurite.blobEndpoint,
        ...inputs,
      },
      env: { ...azure.authEnv('client-secret'), ...c.terraform.env, ...env },
    },
  );
}

const upload = (name: string, text: string) => container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
const stateFile = (name: string) => readFileSync(path.join(STATES, name), 'utf8');
const destroyCalls = (c: Case) => c.terraform.calls().filter((call) => call.command === 'destroy').map((call) => path.relative(c.workspace, call.cwd));

describe('destroy order and retries', () => {
  it('destroys the root modules in reverse order (services before the infrastructure they run on)', async () => {
    const c = newCase();
    const result = await runDestroy(c, { 'working-directories': `${METAFLOW_INFRA}\n${METAFLOW_SERVICES}` }, { FAKE_TF_DESTROYED: '7' });
    expect(result.error).toBeUndefined();
    expect(destroyCalls(c)).toEqual([METAFLOW_SERVICES, METAFLOW_INFRA]);
    const destroy = c.terraform.calls().find((call) => call.command === 'destroy')!;
    expect(destroy.argv).toEqual(expect.arrayContaining(['-auto-approve', '-input=false']));
    expect(destroy.env).toMatchObject({ ARM_CLIENT_ID: TEST_IDS.clientId, ARM_TENANT_ID: TEST_IDS.tenantId, ARM_SUBSCRIPTION_ID: TEST_IDS.subscriptionId });
    expect(result.outputs.destroyed).toBe('true');
    expect(result.summary).toContain('## Destroyed dev');
    expect(result.summary).toContain('| Root module `terraform/stacks/metaflow/services` | Destroy complete! Resources: 7 destroyed. | 1 |');
    expect(result.summary).toContain('The remote state was kept');
    expect(result.log).not.toContain(TEST_IDS.clientSecret);
  });

  it('retries a destroy that failed because the resource group was still being deleted', async () => {
    const c = newCase();
    const result = await runDestroy(c, {}, { FAKE_TF_FAIL: 'destroy:1', FAKE_TF_FAIL_TEXT: sample('resource-group-being-deleted.txt') });
    expect(result.error).toBeUndefined();
    expect(destroyCalls(c)).toEqual([BAKERY, BAKERY]);
    expect(c.sleeps).toEqual([15_000]); // a 60 s base, jitter floor a quarter
    expect(result.summary).toContain('2 (retried: resource-group-being-deleted)');
  });

  it('stops at once on a failure that needs a person, says what was done, and sets destroyed=false', async () => {
    const c = newCase();
    const result = await runDestroy(c, { 'working-directories': `${METAFLOW_INFRA}\n${METAFLOW_SERVICES}` }, { FAKE_TF_FAIL: 'destroy:1', FAKE_TF_FAIL_TEXT: sample('authorization-failed.txt') });
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toContain('may not perform Microsoft.Authorization/roleAssignments/write');
    expect(destroyCalls(c)).toEqual([METAFLOW_SERVICES]);
    expect(result.outputs.destroyed).toBe('false');
    expect(result.summary).toContain('## Destroy of dev stopped');
  });
});

describe('the agent namespace goes first', () => {
  const admin = () => new KubernetesClient({ server: kube.url, caData: testTlsOptions().cert, bearerToken: async () => LOCAL_TOKEN });
  const cluster = { 'cluster-name': 'bakery-dev-aks', 'resource-group': 'bakery-dev-rg' };
  /** Where this case's Kubernetes requests start (the stand-in serves every case). */
  let firstRequest = 0;
  const deleted = (namespace: string) => kube.requests.slice(firstRequest).some((request) => request.method === 'DELETE' && request.path === `/api/v1/namespaces/${namespace}`);

  /** The stack's state in the stand-in backend (FAKE_TF_STATE_DIR) under the module's backend-dev.hcl: what `output -json` reads after init. */
  function stateWithOutputs(c: Case, stack: string, outputs: Record<string, string>): Record<string, string> {
    const stateDir = path.join(c.workspace, '.remote-state');
    const file = path.join(stateDir, 'devstoreaccount1', 'tfstate', stack, 'dev.tfstate');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ outputs: Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, { sensitive: false, type: 'string', value }])) }));
    return { FAKE_TF_STATE_DIR: stateDir };
  }

  beforeEach(async () => {
    // The agent's namespace with a LoadBalancer service in it, as setup-agent and a flow would leave it.
    await admin().apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bakery' } });
    await admin().apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'dask-scheduler', namespace: 'bakery' }, spec: { type: 'LoadBalancer', ports: [{ port: 8786 }] } });
    firstRequest = kube.requests.length;
  });

  it('deletes the namespace and waits until Kubernetes has removed it, printing progress, before terraform destroy', async () => {
    const c = newCase();
    const result = await runDestroy(c, { ...cluster, namespace: 'bakery' });
    expect(result.error).toBeUndefined();
    expect(deleted('bakery')).toBe(true);
    expect(kube.object('v1', 'Namespace', 'bakery')).toBeUndefined();
    expect(kube.object('v1', 'Service', 'dask-scheduler', 'bakery')).toBeUndefined();
    expect(result.log).toMatch(/… namespace bakery still Terminating after \d+ s/);
    const namespaceGone = result.log.indexOf('Namespace bakery: deleted.');
    const terraformDestroy = result.log.indexOf('destroy -input=false');
    expect(namespaceGone).toBeGreaterThan(-1);
    expect(terraformDestroy).toBeGreaterThan(namespaceGone);
    expect(result.summary).toContain('| Namespace `bakery` on `bakery-dev-aks` (from the "namespace" input) | deleted |');
    // A namespace given is used as given: no state is read for it.
    expect(c.terraform.calls().map((call) => call.command)).toEqual(['version', 'init', 'destroy']);
  });

  it("without a namespace, removes the one the stack's worker_namespace output names (read after init), not the default", async () => {
    const c = newCase();
    await admin().apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pangeo-forge' } });
    const result = await runDestroy(c, cluster, stateWithOutputs(c, 'bakery', { worker_namespace: 'pangeo-forge', cluster_name: 'bakery-dev-aks' }));
    expect(result.error).toBeUndefined();
    expect(deleted('pangeo-forge')).toBe(true);
    expect(kube.object('v1', 'Namespace', 'pangeo-forge')).toBeUndefined();
    // setup-agent's default namespace is not this stack's agent: it stays.
    expect(deleted('bakery')).toBe(false);
    expect(kube.object('v1', 'Namespace', 'bakery')).toBeDefined();
    const calls = c.terraform.calls();
    expect(calls.map((call) => call.command)).toEqual(['version', 'init', 'output', 'destroy']);
    expect(calls.find((call) => call.command === 'output')!.argv).toEqual(['output', '-json', '-no-color']);
    expect(path.relative(c.workspace, calls.find((call) => call.command === 'output')!.cwd)).toBe(BAKERY);
    expect(result.log).toContain(`The agent's namespace is pangeo-forge, from the worker_namespace output of ${BAKERY}.`);
    expect(result.log.indexOf('Namespace pangeo-forge: deleted.')).toBeLessThan(result.log.indexOf('destroy -input=false'));
    expect(result.log).not.toContain('::warning::');
    expect(result.summary).toContain(`| Namespace \`pangeo-forge\` on \`bakery-dev-aks\` (from the output \`worker_namespace\` of \`${BAKERY}\`) | deleted |`);
  });

  it("reads Metaflow's metaflow_namespace from the services state, the first root module destroyed, and reads no other state", async () => {
    const c = newCase();
    await admin().apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'metaflow' } });
    const result = await runDestroy(c, { ...cluster, 'working-directories': `${METAFLOW_INFRA}\n${METAFLOW_SERVICES}` }, stateWithOutputs(c, 'metaflow/services', { metaflow_namespace: 'metaflow' }));
    expect(result.error).toBeUndefined();
    expect(deleted('metaflow')).toBe(true);
    expect(deleted('bakery')).toBe(false);
    const calls = c.terraform.calls().filter((call) => call.command !== 'version');
    expect(calls.map((call) => `${call.command} ${path.relative(c.workspace, call.cwd)}`)).toEqual([
      `init ${METAFLOW_SERVICES}`,
      `init ${METAFLOW_INFRA}`,
      `output ${METAFLOW_SERVICES}`,
      `destroy ${METAFLOW_SERVICES}`,
      `destroy ${METAFLOW_INFRA}`,
    ]);
    expect(result.log).toContain(`The agent's namespace is metaflow, from the metaflow_namespace output of ${METAFLOW_SERVICES}.`);
  });

  it("falls back to setup-agent's default namespace, with a warning saying why and what to pass, when no state names one", async () => {
    const c = newCase();
    const result = await runDestroy(c, cluster);
    expect(result.error).toBeUndefined();
    expect(c.terraform.calls().map((call) => call.command)).toEqual(['version', 'init', 'output', 'destroy']);
    expect(result.log).toContain(`::warning::No worker_namespace or metaflow_namespace output in the state of ${BAKERY} (a root module without it, or a state that is already empty): removing setup-agent's default namespace "bakery". Pass "namespace" if the agent runs in another one.`);
    expect(deleted('bakery')).toBe(true);
    expect(result.summary).toContain("| Namespace `bakery` on `bakery-dev-aks` (from setup-agent's default, as no state names it) | deleted |");
  });

  it('refuses an output that is not a namespace name, before removing or destroying anything', async () => {
    const c = newCase();
    const result = await runDestroy(c, cluster, stateWithOutputs(c, 'bakery', { worker_namespace: 'Bakery Workers' }));
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toContain(`The worker_namespace output of ${BAKERY} is "Bakery Workers", which is not a Kubernetes namespace name`);
    expect((result.error as GuidedError).guidance).toContain('Pass "namespace"');
    expect(deleted('bakery')).toBe(false);
    expect(destroyCalls(c)).toEqual([]);
    expect(result.outputs.destroyed).toBe('false');
  });

  it('a cluster that no longer exists is skipped, and terraform destroy still runs', async () => {
    const c = newCase();
    const result = await runDestroy(c, { 'cluster-name': 'gone-aks', 'resource-group': 'bakery-dev-rg', namespace: 'bakery' });
    expect(result.error).toBeUndefined();
    expect(result.log).toContain('Namespace bakery: skipped: the cluster gone-aks does not exist.');
    expect(destroyCalls(c)).toEqual([BAKERY]);
  });

  it('a cluster name without its resource group is refused before anything runs', async () => {
    const c = newCase();
    const result = await runDestroy(c, { 'cluster-name': 'bakery-dev-aks' });
    expect(result.error).toMatchObject({ name: 'ConfigurationError', input: 'resource-group' });
    expect(c.terraform.calls()).toEqual([]);
  });
});

describe('destroy-remote-state deletes the state group only when every state is empty', () => {
  const deletes = () => azure.armRequests('DELETE', `/resourcegroups/${STATE_GROUP}`);

  it('refuses, and lists what is still managed, when another environment\'s state still holds resources', async () => {
    const c = newCase();
    await upload('bakery/dev.tfstate', stateFile('bakery-destroyed.tfstate'));
    await upload('bakery/prod.tfstate', stateFile('bakery-live.tfstate'));
    const before = deletes().length;
    const result = await runDestroy(c, { 'destroy-remote-state': 'true' });
    expect(result.error).toBeInstanceOf(GuidedError);
    const message = (result.error as Error).message;
    expect(message).toContain('Not deleting the remote state');
    expect(message).toContain('devstoreaccount1/tfstate/bakery/prod.tfstate still manages 5 resources:');
    for (const address of ['azurerm_resource_group.this', 'module.aks.azurerm_kubernetes_cluster.this', 'module.aks.azurerm_kubernetes_cluster_node_pool.user["worker"]', 'module.flow_storage.azurerm_storage_container.this[0]', 'module.flow_storage.azurerm_storage_container.this[1]']) {
      expect(message).toContain(`    ${address}`);
    }
    expect(message).not.toContain('azurerm_client_config');
    expect(deletes().length).toBe(before);
    expect(arm.resourceGroups.has(STATE_GROUP.toLowerCase())).toBe(true);
    expect(result.outputs.destroyed).toBe('false');
  });

  it('refuses when a file in the container cannot be read as a state, or a state is locked', async () => {
    const c = newCase();
    await upload('bakery/dev.tfstate', stateFile('bakery-destroyed.tfstate'));
    await upload('notes.txt', 'not a state');
    const locked = container.getBlockBlobClient('metaflow/services/dev.tfstate');
    await locked.upload(stateFile('metaflow-services-data-only.tfstate'), Buffer.byteLength(stateFile('metaflow-services-data-only.tfstate')));
    await locked.getBlobLeaseClient().acquireLease(-1);
    try {
      const before = deletes().length;
      const result = await runDestroy(c, { 'destroy-remote-state': 'true' });
      const message = (result.error as Error).message;
      expect(message).toContain('devstoreaccount1/tfstate/notes.txt: it cannot be read as a Terraform state (notes.txt is not JSON)');
      expect(message).toContain('devstoreaccount1/tfstate/metaflow/services/dev.tfstate: it is locked (leased) by a running Terraform');
      expect(deletes().length).toBe(before);
    } finally {
      await locked.getBlobLeaseClient().breakLease(0).catch(() => undefined);
    }
  });

  it('reads every state (real v4 files), skips stored plans, and deletes the state group when nothing is managed', async () => {
    const c = newCase();
    await upload('bakery/dev.tfstate', stateFile('bakery-destroyed.tfstate'));
    await upload('metaflow/services/dev.tfstate', stateFile('metaflow-services-data-only.tfstate'));
    await upload('plans/dev/6dcb09b5/terraform-stacks-bakery/tfplan', 'PK\u0003\u0004 a binary plan');
    const before = deletes().length;
    const result = await runDestroy(c, { 'destroy-remote-state': 'true' });
    expect(result.error).toBeUndefined();
    expect(deletes().length).toBe(before + 1);
    expect(arm.resourceGroups.has(STATE_GROUP.toLowerCase())).toBe(false);
    expect(result.log).toContain('Container devstoreaccount1/tfstate: 2 files read (bakery/dev.tfstate: 0 managed, metaflow/services/dev.tfstate: 0 managed), 1 stored plan blob skipped.');
    expect(result.outputs.destroyed).toBe('true');
    expect(result.summary).toContain(`| State resource group \`${STATE_GROUP}\` | deleted (after 2 state files were found empty) |`);
    // The state group goes last, after terraform destroy.
    expect(destroyCalls(c)).toEqual([BAKERY]);
  });
});
