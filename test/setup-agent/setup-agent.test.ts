import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { AKS_AAD_SERVER_APP_ID } from '../../src/lib/aks.js';
import { AzureStandIn, TEST_IDS } from '../support/azure-stand-in.js';
import { addAksRoutes } from '../support/arm-aks.js';
import { startKubernetesApi, type KubernetesApiStandIn } from '../support/kubernetes-api.js';
import { startPrefectApi, type PrefectStandIn } from '../support/prefect-api.js';
import { runDist, type DistRun } from '../support/run-dist.js';

// The built dist/setup-agent, run as a runner runs it, against the ARM/Entra stand-in (AKS user
// credentials), the Kubernetes API stand-in and a Prefect Cloud stand-in checked against Prefect's schema.

const PREFECT_KEY = 'pnu_SetupAgentTestKey0123456789abcdefXYZ';
const LOCAL_TOKEN = 'local-account-token-0123456789abcdef';
const IMAGE = `bakeryacr.azurecr.io/bakery/worker@sha256:${'ab'.repeat(32)}`;
const CLIENT_ID = '0f9e8d7c-6b5a-4321-9876-543210fedcba';

let azure: AzureStandIn;
let kube: KubernetesApiStandIn;
let prefect: PrefectStandIn;

beforeAll(async () => {
  azure = await new AzureStandIn().start();
  kube = await startKubernetesApi();
  // The AAD cluster accepts exactly the Entra tokens issued for the AKS AAD server application.
  kube.acceptToken = (token) => azure.issuedTokens.get(token)?.scope === `${AKS_AAD_SERVER_APP_ID}/.default`;
  kube.acceptedTokens.add(LOCAL_TOKEN);
  addAksRoutes(azure, [
    { resourceGroup: 'rg-bakery-dev', name: 'aks-bakery-dev', kubeconfig: kube.kubeconfig('aad', { tenantId: TEST_IDS.tenantId }) },
    { resourceGroup: 'rg-bakery-dev', name: 'aks-local', kubeconfig: kube.kubeconfig('local', { token: LOCAL_TOKEN }) },
  ]);
  prefect = await startPrefectApi({ cloud: { apiKey: PREFECT_KEY } });
});

afterAll(async () => {
  await Promise.all([azure?.stop(), kube?.stop(), prefect?.stop()]);
});

function inputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'resource-group': 'rg-bakery-dev',
    'cluster-name': 'aks-bakery-dev',
    namespace: 'bakery',
    'service-account': 'bakery-worker',
    'workload-identity-client-id': CLIENT_ID,
    image: IMAGE,
    'work-pool': 'bakery',
    'prefect-api-url': prefect.apiUrl,
    'prefect-api-key': PREFECT_KEY,
    'rollout-timeout': '30s',
    ...overrides,
  };
}

function runSetupAgent(overrides: Record<string, string> = {}, method: 'oidc' | 'client-secret' = 'oidc'): Promise<DistRun> {
  const env = azure.authEnv(method);
  const authInputs = Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('INPUT_')));
  const otherEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('INPUT_')));
  return runDist('setup-agent', { inputs: inputs(overrides), env: { ...authInputs, ...otherEnv } });
}

/** What the runner shows: `::add-mask::` commands register secrets with the runner and are never displayed. */
function visible(text: string): string {
  return text.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n');
}

function expectNoKeyLeak(run: DistRun): void {
  const base64Key = Buffer.from(PREFECT_KEY).toString('base64');
  // The key was masked (so the runner would hide it even in a third party's output)...
  expect(run.stdout).toContain(`::add-mask::${PREFECT_KEY}`);
  // ...and nothing we print, output or summarise holds it, plain or base64.
  for (const text of [visible(run.stdout), visible(run.stderr), run.summary, JSON.stringify(run.outputs)]) {
    expect(text).not.toContain(PREFECT_KEY);
    expect(text).not.toContain(base64Key);
  }
}

describe('setup-agent on an Azure AD cluster', () => {
  let first: DistRun;

  beforeAll(async () => {
    first = await runSetupAgent();
  });

  it('applies every object with server-side apply and reports the outputs', () => {
    expect(first.stderr + first.stdout).not.toMatch(/::error::/);
    expect(first.exitCode).toBe(0);
    expect(first.outputs).toMatchObject({ namespace: 'bakery', 'work-pool': 'bakery', 'service-account': 'bakery-worker', changed: 'true' });
    const applies = kube.applies();
    expect(applies.map((request) => request.path)).toEqual([
      '/api/v1/namespaces/bakery',
      '/api/v1/namespaces/bakery/secrets/prefect-api-credentials',
      '/api/v1/namespaces/bakery/serviceaccounts/bakery-worker',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/bakery/roles/prefect-worker',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/bakery/rolebindings/prefect-worker',
      '/apis/apps/v1/namespaces/bakery/deployments/prefect-worker',
    ]);
    for (const request of applies) {
      expect(request.status).toBeLessThan(300);
      expect(request.contentType).toBe('application/apply-patch+yaml');
      expect(request.query.get('fieldManager')).toBe('azure-bakery-actions');
      expect(request.query.get('force')).toBe('true');
    }
    // Every Kubernetes call carried a token for the AKS AAD server app, none was refused.
    expect(kube.requests.every((request) => request.status !== 401)).toBe(true);
    expect([...azure.issuedTokens.values()].some((token) => token.scope === `${AKS_AAD_SERVER_APP_ID}/.default` && token.method === 'assertion')).toBe(true);
    expect(azure.armRequests('POST', '/listClusterUserCredential')).toHaveLength(1);
  });

  it('makes the workload-identity service account, the credentials Secret and a least-privilege Role', () => {
    const account = kube.object<IServiceAccount>('v1', 'ServiceAccount', 'bakery-worker', 'bakery')!;
    expect(account.metadata?.annotations?.['azure.workload.identity/client-id']).toBe(CLIENT_ID);
    const secret = kube.object<ISecret>('v1', 'Secret', 'prefect-api-credentials', 'bakery')!;
    expect(Buffer.from(secret.data!['api-key']!, 'base64').toString()).toBe(PREFECT_KEY);
    const role = kube.object<IRole>('rbac.authorization.k8s.io/v1', 'Role', 'prefect-worker', 'bakery')!;
    const granted = (group: string, resource: string): string[] => role.rules!.filter((rule) => rule.apiGroups?.includes(group) && rule.resources?.includes(resource)).flatMap((rule) => rule.verbs);
    expect(granted('batch', 'jobs')).toEqual(expect.arrayContaining(['create', 'get', 'list', 'watch', 'delete']));
    expect(granted('', 'pods')).toEqual(expect.arrayContaining(['get', 'list', 'watch']));
    expect(granted('', 'pods/log')).toContain('get');
    expect(granted('', 'services')).toContain('create');
    expect(granted('', 'events')).toContain('list');
    expect(granted('policy', 'poddisruptionbudgets')).toContain('create');
    expect(granted('', 'secrets')).toEqual([]);
    const binding = kube.object<IRoleBinding>('rbac.authorization.k8s.io/v1', 'RoleBinding', 'prefect-worker', 'bakery')!;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'bakery-worker', namespace: 'bakery' }]);
  });

  it('runs the Prefect Kubernetes worker from the image, non-root, with the key from the Secret and a liveness probe', () => {
    const deployment = kube.object<IDeployment>('apps/v1', 'Deployment', 'prefect-worker', 'bakery')!;
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(container.image).toBe(IMAGE);
    expect(container.args).toEqual(expect.arrayContaining(['prefect', 'worker', 'start', '--pool', 'bakery', '--type', 'kubernetes', '--with-healthcheck']));
    expect(container.env).toEqual(expect.arrayContaining([
      { name: 'PREFECT_API_URL', value: prefect.apiUrl },
      { name: 'PREFECT_API_KEY', valueFrom: { secretKeyRef: { name: 'prefect-api-credentials', key: 'api-key' } } },
    ]));
    expect(JSON.stringify(pod)).not.toContain(PREFECT_KEY);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/health', port: 'healthcheck' });
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.serviceAccountName).toBe('bakery-worker');
    expect(deployment.spec!.template.metadata?.labels?.['azure.workload.identity/use']).toBe('true');
  });

  it('creates the missing work pool through the Prefect API, as a kubernetes pool', () => {
    expect(prefect.calls('create_work_pool')).toHaveLength(1);
    expect(prefect.workPools.get('bakery')?.type).toBe('kubernetes');
    expect(prefect.calls('create_work_pool')[0]!.headers.authorization).toBe(`Bearer ${PREFECT_KEY}`);
    // AKS injects the workload identity's token only into pods labelled so: every flow-run pod must be.
    const podTemplate = (prefect.workPools.get('bakery')?.base_job_template as { job_configuration: { job_manifest: { spec: { template: { metadata: { labels: Record<string, string> } } } } } }).job_configuration.job_manifest.spec.template;
    expect(podTemplate.metadata.labels).toEqual({ 'azure.workload.identity/use': 'true' });
    expect(prefect.problems).toEqual([]);
  });

  it('waits for the rollout and prints its progress', () => {
    expect(first.stdout).toMatch(/Waiting for deployment "prefect-worker" rollout to finish: 0 of 1 updated replicas are available\.\.\. \[0\/1 ready/);
    expect(first.stdout).toContain('deployment "prefect-worker" successfully rolled out');
    expect(first.summary).toContain('Bakery agent on aks-bakery-dev');
  });

  it('never prints the Prefect API key (nor its base64 form) in logs, outputs or the summary', () => {
    expectNoKeyLeak(first);
  });

  it('changes nothing when run again with the same inputs', async () => {
    const before = kube.object<IDeployment>('apps/v1', 'Deployment', 'prefect-worker', 'bakery')!.metadata!.resourceVersion;
    const poolCreates = prefect.calls('create_work_pool').length;
    const again = await runSetupAgent({}, 'client-secret');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Nothing changed');
    expect(again.outputs.changed).toBe('false');
    expect(again.stdout).toMatch(/Deployment bakery\/prefect-worker: unchanged/);
    expect(kube.object<IDeployment>('apps/v1', 'Deployment', 'prefect-worker', 'bakery')!.metadata!.resourceVersion).toBe(before);
    expect(prefect.calls('create_work_pool')).toHaveLength(poolCreates);
    expectNoKeyLeak(again);
  });

  it('rolls the worker when the image changes, and reports only that object as configured', async () => {
    const changed = await runSetupAgent({ image: `bakeryacr.azurecr.io/bakery/worker@sha256:${'cd'.repeat(32)}` });
    expect(changed.exitCode).toBe(0);
    expect(changed.stdout).toMatch(/Deployment bakery\/prefect-worker: configured/);
    expect(changed.stdout).toMatch(/ServiceAccount bakery\/bakery-worker: unchanged/);
    expect(kube.object<IDeployment>('apps/v1', 'Deployment', 'prefect-worker', 'bakery')!.metadata!.generation).toBe(2);
  });
});

describe('setup-agent on a local-account cluster', () => {
  it('uses the kubeconfig token and client certificate', async () => {
    const run = await runSetupAgent({ 'cluster-name': 'aks-local', namespace: 'bakery-local' });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("with the cluster's local account");
    expect(kube.clientCertificateSeen).toBe(true);
    expect(kube.object('v1', 'Namespace', 'bakery-local')).toBeDefined();
  });
});

describe('setup-agent when the rollout does not succeed', () => {
  it('times out on an image that cannot be pulled, printing the pods\' events and why there is no log', async () => {
    kube.podBehaviour = 'image-pull-error';
    try {
      const run = await runSetupAgent({ namespace: 'bakery-pull', 'rollout-timeout': '3s' });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toMatch(/::error::setup-agent: The prefect-worker rollout in namespace bakery-pull did not finish in 3 s/);
      expect(run.stdout).toContain('ImagePullBackOff');
      expect(run.stdout).toMatch(/Warning Failed \(x3\): Failed to pull image "bakeryacr\.azurecr\.io\/bakery\/worker@sha256:/);
      expect(run.stdout).toContain('is waiting to start: trying and failing to pull image');
      expectNoKeyLeak(run);
    } finally {
      kube.podBehaviour = 'ready';
    }
  });

  it('stops early on a crash-looping worker and prints its last log lines', async () => {
    kube.podBehaviour = 'crash';
    try {
      const run = await runSetupAgent({ namespace: 'bakery-crash', 'rollout-timeout': '10m' });
      expect(run.exitCode).toBe(1);
      expect(run.durationMs).toBeLessThan(20_000);
      expect(run.stdout).toMatch(/keeps crashing \(4 restarts, last exit code 1 Error\)/);
      expect(run.stdout).toContain('(previous instance)');
      expect(run.stdout).toContain('prefect.exceptions.PrefectHTTPStatusError: Client error 401: Invalid API key');
      expect(run.stdout).toMatch(/Warning BackOff \(x4\): Back-off restarting failed container prefect-worker/);
    } finally {
      kube.podBehaviour = 'ready';
    }
  });
});

describe('setup-agent failures it explains', () => {
  it('says which role is missing when Kubernetes RBAC refuses an object', async () => {
    kube.forbid = ({ verb, resource }) => verb === 'patch' && resource === 'roles';
    try {
      const run = await runSetupAgent({ namespace: 'bakery-forbidden' });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toMatch(/refused to apply Role bakery-forbidden\/prefect-worker: roles\.rbac\.authorization\.k8s\.io "prefect-worker" is forbidden/);
      expect(run.stdout).toContain('Azure Kubernetes Service RBAC Admin');
    } finally {
      kube.forbid = undefined;
    }
  });

  it('names the cluster and resource group when AKS has no such cluster', async () => {
    const run = await runSetupAgent({ 'cluster-name': 'aks-missing' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/AKS cluster "aks-missing" in resource group "rg-bakery-dev" .* was not found/);
    expect(run.stdout).toContain('cluster-name');
  });

  it('explains an Azure sign-in failure before touching the cluster', async () => {
    const kubeBefore = kube.requests.length;
    const run = await runDist('setup-agent', { inputs: { ...inputs(), ...Object.fromEntries(Object.entries(azure.authEnv('client-secret')).map(([k, v]) => [k.replace(/^INPUT_/, '').toLowerCase(), v])), 'client-secret': 'wrong-secret-value' } });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/Could not get an Azure token \(auth: client-secret\)/);
    expect(run.stdout).toContain('client secret has not expired');
    expect(visible(run.stdout)).not.toContain('wrong-secret-value');
    expect(kube.requests.length).toBe(kubeBefore);
  });

  it('refuses a work pool of another type', async () => {
    prefect.addWorkPool('process-pool', 'process');
    const run = await runSetupAgent({ 'work-pool': 'process-pool', namespace: 'bakery-process' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('Work pool "process-pool" exists with type "process"');
    expect(kube.object('v1', 'Namespace', 'bakery-process')).toBeUndefined();
  });
});

describe('setup-agent input errors, before any side effect', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['cluster-name missing', { 'cluster-name': '' }, /Input "cluster-name" is required but empty/],
    ['namespace not a DNS label', { namespace: 'Bakery_NS' }, /Input "namespace" is "Bakery_NS", which is not a Kubernetes namespace name/],
    ['workload identity id not a GUID', { 'workload-identity-client-id': 'my-identity' }, /Input "workload-identity-client-id" is "my-identity", which is not a GUID/],
    ['image without tag or digest', { image: 'bakeryacr.azurecr.io/bakery/worker' }, /Input "image" is "bakeryacr\.azurecr\.io\/bakery\/worker", which has neither a tag nor a digest/],
    ['image not a reference', { image: 'not an image' }, /Input "image" is "not an image", which is not a full image reference/],
    ['reserved work pool name', { 'work-pool': 'prefect-pool' }, /Input "work-pool" is "prefect-pool"; Prefect reserves names starting with "prefect"/],
    ['request above limit', { 'worker-memory-request': '2Gi', 'worker-memory-limit': '1Gi' }, /Input "worker-memory-request" is 2Gi, more than "worker-memory-limit" \(1Gi\)/],
    ['bad quantity', { 'worker-cpu-limit': 'two' }, /Input "worker-cpu-limit" is "two", which is not a Kubernetes quantity/],
    ['rollout-timeout not a duration', { 'rollout-timeout': 'soon' }, /Input "rollout-timeout" is "soon", which is not a duration/],
    ['prefect-api-url not the API', { 'prefect-api-url': 'https://app.prefect.cloud/account/x' }, /Input "prefect-api-url" is .* whose path ends neither in \/api/],
    ['Prefect Cloud without a key', { 'prefect-api-key': '' }, /Input "prefect-api-key" is empty, but Prefect Cloud refuses calls without an API key/],
    ['replicas out of range', { 'worker-replicas': '0' }, /Input "worker-replicas" is 0, outside the accepted range/],
    ['tolerations not a list', { 'flow-pod-tolerations': '{"key":"kubernetes.azure.com/scalesetpriority"}' }, /Input "flow-pod-tolerations" is JSON object, not a list of tolerations/],
    ['node selector not an object', { 'flow-pod-node-selector': 'bakery.pangeo-forge.org/pool=workers' }, /Input "flow-pod-node-selector" is not valid JSON/],
  ];
  for (const [name, overrides, message] of cases) {
    it(name, async () => {
      const armBefore = azure.armRequests().length;
      const kubeBefore = kube.requests.length;
      const prefectBefore = prefect.requests.length;
      const run = await runSetupAgent(overrides);
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toMatch(message);
      expect(azure.armRequests().length).toBe(armBefore);
      expect(kube.requests.length).toBe(kubeBefore);
      expect(prefect.requests.length).toBe(prefectBefore);
      expect(visible(run.stdout)).not.toContain(PREFECT_KEY);
    });
  }
});
