import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { AKS_AAD_SERVER_APP_ID } from '../../src/lib/aks.js';
import { startAcr, type AcrStandIn } from '../support/arm-acr.js';
import { addAksGetRoute } from '../support/arm-aks-get.js';
import { addAksRoutes } from '../support/arm-aks.js';
import { registerArmStorage, type ArmStorage } from '../support/arm-storage.js';
import { AzureStandIn, FIXTURES_DIR, TEST_IDS } from '../support/azure-stand-in.js';
import { AZURITE_KEY, startAzurite, type Azurite } from '../support/azurite.js';
import { installFakeTerraform, type FakeTerraform } from '../support/fake-terraform.js';
import { startKubernetesApi, type KubernetesApiStandIn } from '../support/kubernetes-api.js';
import { startPrefectApi, type PrefectStandIn } from '../support/prefect-api.js';
import { REPO_ROOT } from '../support/run-dist.js';
import type { CallerContext, RunnerMachine } from './workflow-runner.js';

/**
 * The world a deploy.yml / destroy.yml run meets, made of the suite's stand-ins:
 * - Entra ID + GitHub's OIDC token service + ARM (AzureStandIn) with the storage, AKS and ACR routes;
 * - one Azurite in OAuth/HTTPS mode: the remote state account (setup-remote-state reports it as the
 *   account's blob endpoint), the flow storage account of the stack, and the registry's build storage;
 * - the Kubernetes API server of the stack's (Azure AD) cluster, the Prefect Cloud workspace;
 * - the fake terraform, whose plan is a real `terraform show -json` fixture (Terraform's own
 *   sensitive-values test plan) whose planned outputs are the Bakery stack's outputs pointing at these
 *   stand-ins — what `terraform output -json` reports after deploy applies it.
 */

export const IDENTIFIER = 'contoso1';
/** What terraform/modules/conventions names them for the bakery workload ("bk" compact). */
export function stackNames(environment: string) {
  return {
    resourceGroup: `rg-bakery-${IDENTIFIER}-${environment}`,
    cluster: `aks-bakery-${IDENTIFIER}-${environment}`,
    registry: `crbk${IDENTIFIER}${environment}`,
    logAnalytics: `log-bakery-${IDENTIFIER}-${environment}`,
  };
}

export const IDS = {
  tenantId: TEST_IDS.tenantId,
  subscriptionId: TEST_IDS.subscriptionId,
  /** The plan identity (federated for the branch) and the environment's deploy identity. */
  planClientId: '2a7c9e41-0b1d-4c8e-9f3a-6d5b4c3a2e10',
  deployClientId: '7e1f3b5d-9a2c-4e6f-8b0d-1c3e5a7b9d20',
  deployerObjectId: '5c4b3a29-1807-4f6e-9d8c-7b6a5f4e3d21',
  /** The worker's managed identity (the stack's workload_identity_client_id output). */
  workloadIdentityClientId: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
};

export const SECRETS = {
  prefectApiKey: 'pnu_E2eLifecycleKey0123456789abcdefghijkl',
  githubToken: 'ghs_E2eWorkflowToken0123456789ABCDEFabcdef',
};

/** The fixture whose plan deploy applies: it has a sensitive attribute and a sensitive output ("boop"). */
export const PLAN_FIXTURE = 'sensitive-values';
/** The value Terraform's fixture marks sensitive (its output `test` and attribute `ami`). */
export const FIXTURE_SENSITIVE_VALUE = 'boop';

/**
 * The stack's worker_namespace: not the actions' default (bakery), so that every step that must follow
 * the stack's output (setup-agent, register-flow, destroy) shows it does.
 */
export const WORKER_NAMESPACE = 'pangeo-forge';

/** The repository's own smoke recipe (examples/flows/oisst), which the caller registers from flows/oisst/. */
export const EXAMPLE_FLOW_DIR = path.join(REPO_ROOT, 'examples/flows/oisst');

export interface BakeryCloud {
  azure: AzureStandIn;
  arm: ArmStorage;
  azurite: Azurite;
  acr: AcrStandIn;
  kube: KubernetesApiStandIn;
  prefect: PrefectStandIn;
  terraform: FakeTerraform;
  /** The plan file (show -json) the fake terraform plans, with the stack outputs. */
  planFixture: string;
  /** The values that must never be shown: secrets, tokens, sensitive outputs, keys. */
  secretValues(): string[];
  machine: RunnerMachine;
  caller(inputs: CallerContext['inputs'], sha: string): CallerContext;
  stop(): Promise<void>;
}

export async function startBakeryCloud(environments: string[]): Promise<BakeryCloud> {
  const [azure, azurite, kube, prefect] = await Promise.all([
    new AzureStandIn().start(),
    startAzurite({ oauth: true }),
    startKubernetesApi(),
    startPrefectApi({ cloud: { apiKey: SECRETS.prefectApiKey } }),
  ]);
  const names = stackNames(environments[0]!);
  // createPolls 0: one 202, then the answer (the bundle polls at the SDK's 2 s default).
  const arm = registerArmStorage(azure, { blobEndpoint: azurite.blobEndpoint, createPolls: 0 });
  // The AAD cluster accepts exactly the Entra tokens issued for the AKS AAD server application.
  kube.acceptToken = (token) => azure.issuedTokens.get(token)?.scope === `${AKS_AAD_SERVER_APP_ID}/.default`;
  const clusters = environments.map((environment) => ({ resourceGroup: stackNames(environment).resourceGroup, name: stackNames(environment).cluster, kubeconfig: kube.kubeconfig('aad', { tenantId: IDS.tenantId }) }));
  addAksRoutes(azure, clusters);
  addAksGetRoute(azure, clusters);
  const acr = await startAcr(azure, azurite, { resourceGroup: names.resourceGroup, name: names.registry });
  // A flow run the worker picks up, runs and completes (one poll apart: the workflow keeps the 5 s poll interval).
  prefect.runScript = [{ type: 'RUNNING' }, { type: 'COMPLETED', message: 'All states completed.' }];

  // What terraform apply made in the flow storage account: its two containers.
  const flowStorage = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await flowStorage.getContainerClient('flow-storage').createIfNotExists();
  await flowStorage.getContainerClient('flow-cache').createIfNotExists();

  const terraform = installFakeTerraform();
  const planFixture = writePlanFixture(names, azurite, acr);
  // The state lives in "the backend", shared by every job (machine) whose init names the same state
  // blob: destroy.yml's job reads the outputs deploy.yml's apply job wrote.
  const remoteState = mkdtempSync(path.join(tmpdir(), 'e2e-remote-state-'));

  const machine: RunnerMachine = {
    env: { ...terraform.env, FAKE_TF_PLAN: planFixture, FAKE_TF_DESTROYED: '1', FAKE_TF_STATE_DIR: remoteState },
    oidcEnv: Object.fromEntries(Object.entries(azure.authEnv('oidc')).filter(([key]) => !key.startsWith('INPUT_'))),
    cloudInputs: { 'arm-endpoint': azure.url, 'authority-host': azure.url },
    checkoutCaller: writeCallerRepository,
  };

  return {
    azure,
    arm,
    azurite,
    acr,
    kube,
    prefect,
    terraform,
    planFixture,
    machine,
    secretValues: () => [
      SECRETS.prefectApiKey,
      SECRETS.githubToken,
      FIXTURE_SENSITIVE_VALUE,
      azurite.connectionString,
      AZURITE_KEY,
      azure.githubRequestToken,
      ...azure.githubTokens.keys(),
      ...azure.issuedTokens.keys(),
      ...acr.refreshTokens,
    ],
    caller: (inputs, sha) => ({
      inputs,
      secrets: { PREFECT_API_KEY: SECRETS.prefectApiKey },
      vars: {
        AZURE_TENANT_ID: IDS.tenantId,
        AZURE_SUBSCRIPTION_ID: IDS.subscriptionId,
        AZURE_PLAN_CLIENT_ID: IDS.planClientId,
        AZURE_CLIENT_ID: IDS.deployClientId,
        AZURE_DEPLOYER_OBJECT_ID: IDS.deployerObjectId,
        PREFECT_API_URL: prefect.apiUrl,
      },
      github: { sha, repository: 'octo-org/octo-repo', ref: 'refs/heads/main', token: SECRETS.githubToken, run_id: '1658821493', server_url: 'https://github.com' },
    }),
    stop: async () => {
      await Promise.all([azure.stop(), acr.stop(), kube.stop(), prefect.stop(), azurite.stop()]);
    },
  };
}

/** What the bakery stack outputs for a Spot worker pool (terraform/modules/aks-cluster user_pool_tolerations). */
export const SPOT_TOLERATION = { effect: 'NoSchedule', key: 'kubernetes.azure.com/scalesetpriority', operator: 'Equal', value: 'spot' };
export const WORKER_POOL_NODE_SELECTOR = { 'bakery.pangeo-forge.org/pool': 'workers' };

/**
 * Terraform's sensitive-values plan with its planned outputs extended by the Bakery stack's outputs
 * (src/lib/stack-outputs.ts) as they would be after apply — the stand-ins' names and endpoints — plus a
 * sensitive connection string, as a stack may output one.
 */
function writePlanFixture(names: ReturnType<typeof stackNames>, azurite: Azurite, acr: AcrStandIn): string {
  const plan = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'terraform-show-json', `${PLAN_FIXTURE}.json`), 'utf8')) as { planned_values: { outputs: Record<string, unknown> } };
  const text = (value: string, sensitive = false) => ({ sensitive, type: 'string', value });
  plan.planned_values.outputs = {
    ...plan.planned_values.outputs,
    resource_group_name: text(names.resourceGroup),
    cluster_name: text(names.cluster),
    registry_name: text(names.registry),
    registry_login_server: text(acr.loginServer),
    flow_storage_account_name: text(new URL(azurite.blobEndpoint).pathname.split('/')[1]!),
    flow_storage_container_name: text('flow-storage'),
    flow_cache_container_name: text('flow-cache'),
    flow_storage_blob_endpoint: text(azurite.blobEndpoint),
    workload_identity_client_id: text(IDS.workloadIdentityClientId),
    log_analytics_workspace_id: text(`/subscriptions/${IDS.subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${names.logAnalytics}`),
    oidc_issuer_url: text(`https://westeurope.oic.prod-aks.azure.com/${IDS.tenantId}/1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9/`),
    worker_namespace: text(WORKER_NAMESPACE),
    worker_service_account_name: text('bakery-worker'),
    // A stack with worker_pool.spot = true: its pool is tainted, and the pods must tolerate it.
    flow_pod_tolerations: { sensitive: false, type: ['list', ['object', { effect: 'string', key: 'string', operator: 'string', value: 'string' }]], value: [SPOT_TOLERATION] },
    flow_pod_node_selector: { sensitive: false, type: ['object', { 'bakery.pangeo-forge.org/pool': 'string' }], value: WORKER_POOL_NODE_SELECTOR },
    flow_storage_primary_connection_string: text(azurite.connectionString, true),
  };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'e2e-plan-')), `${PLAN_FIXTURE}-bakery-outputs.json`);
  writeFileSync(file, JSON.stringify(plan));
  return file;
}

/** The caller's repository: the environments' var files, the flow image (the Bakery's Dockerfile) and the example flow. */
function callerRepository(): Record<string, string> {
  return {
    'environments/dev.tfvars': 'location = "westeurope"\nowner    = "data-platform-team"\n',
    'environments/staging.tfvars': 'location = "westeurope"\nowner    = "data-platform-team"\n',
    Dockerfile: readFileSync(path.join(REPO_ROOT, 'docker/bakery/Dockerfile'), 'utf8'),
    'requirements.txt': readFileSync(path.join(REPO_ROOT, 'docker/bakery/requirements.txt'), 'utf8'),
    'flows/oisst/flow.py': readFileSync(path.join(EXAMPLE_FLOW_DIR, 'flow.py'), 'utf8'),
    'flows/oisst/requirements.txt': readFileSync(path.join(EXAMPLE_FLOW_DIR, 'requirements.txt'), 'utf8'),
  };
}

/** The files of the caller's checkout, sorted: all a build with image-context '.' may send. */
export const CALLER_FILES = Object.keys(callerRepository()).sort();

function writeCallerRepository(directory: string): void {
  for (const [name, content] of Object.entries(callerRepository())) {
    mkdirSync(path.dirname(path.join(directory, name)), { recursive: true });
    writeFileSync(path.join(directory, name), content);
  }
}
