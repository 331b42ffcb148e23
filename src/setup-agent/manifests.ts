import { createHash } from 'node:crypto';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import { registerSecret } from '../lib/mask.js';
import type { PodPlacement } from '../lib/pod-placement.js';
import type { WorkerResources } from './inputs.js';
import { WORKLOAD_IDENTITY_POD_LABEL } from './work-pool.js';

/**
 * The Bakery agent's Kubernetes objects, as typed values (kubernetes-models' interfaces are generated
 * from the Kubernetes OpenAPI schema, so a misspelt field does not compile). Applied in this order:
 * Namespace, Secret, ServiceAccount, Role, RoleBinding, Deployment.
 */

export interface AgentSettings {
  namespace: string;
  serviceAccount: string;
  workloadIdentityClientId: string;
  image: string;
  workPool: string;
  /** PREFECT_API_URL of the worker. */
  prefectApiUrl: string;
  /** What the worker authenticates to Prefect with; no Secret is made when both are absent. */
  prefectApiKey?: string;
  prefectAuthString?: string;
  replicas: number;
  resources: WorkerResources;
  /**
   * Tolerations and node selector of the worker pod: the cluster's system pool admits only critical
   * add-ons, so the worker runs on the worker pool with the flow pods (a Spot pool is tainted).
   */
  placement: PodPlacement;
  /** A stable id for this cluster (PREFECT_KUBERNETES_CLUSTER_UID), see clusterUid(). */
  clusterUid: string;
}

export const WORKER_NAME = 'prefect-worker';
export const CONTAINER_NAME = 'prefect-worker';
export const CREDENTIALS_SECRET = 'prefect-api-credentials';
/** The port `prefect worker start --with-healthcheck` serves /health on (PREFECT_WORKER_WEBSERVER_PORT). */
export const HEALTHCHECK_PORT = 8080;
/** The non-root user of docker/bakery/Dockerfile; numeric, so the kubelet can verify runAsNonRoot. */
export const RUN_AS_USER = 1000;
const HOME = '/home/bakery';

const COMMON_LABELS = {
  'app.kubernetes.io/part-of': 'azure-bakery',
  'app.kubernetes.io/managed-by': 'azure-bakery-actions',
};
/** Immutable once the Deployment exists: never add to it. */
export const SELECTOR_LABELS = { 'app.kubernetes.io/name': WORKER_NAME, 'app.kubernetes.io/component': 'worker' };

/**
 * PREFECT_KUBERNETES_CLUSTER_UID: the worker otherwise reads the kube-system namespace's uid, which a
 * namespaced Role cannot grant. Prefect puts it in each flow run's infrastructure id, so it must not
 * change between runs: a name-based UUID of the cluster's ARM id (RFC 4122 version 5 layout).
 */
export function clusterUid(subscriptionId: string, resourceGroup: string, clusterName: string): string {
  const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${clusterName}`.toLowerCase();
  const hash = createHash('sha1').update(id).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function namespaceManifest(settings: AgentSettings): INamespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: settings.namespace, labels: { ...COMMON_LABELS } } };
}

/** Base64 data of the credentials Secret, or undefined when Prefect needs no credential. */
function credentialData(settings: AgentSettings): Record<string, string> | undefined {
  const data: Record<string, string> = {};
  if (settings.prefectApiKey) data['api-key'] = Buffer.from(settings.prefectApiKey).toString('base64');
  if (settings.prefectAuthString) data['auth-string'] = Buffer.from(settings.prefectAuthString).toString('base64');
  // The encoded forms are as secret as the values: never let them reach a log either.
  for (const value of Object.values(data)) registerSecret(value);
  return Object.keys(data).length ? data : undefined;
}

export function secretManifest(settings: AgentSettings): ISecret | undefined {
  const data = credentialData(settings);
  if (!data) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CREDENTIALS_SECRET, namespace: settings.namespace, labels: { ...COMMON_LABELS } },
    type: 'Opaque',
    data,
  };
}

export function serviceAccountManifest(settings: AgentSettings): IServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: settings.serviceAccount,
      namespace: settings.namespace,
      labels: { ...COMMON_LABELS },
      // The AKS workload identity webhook injects a federated token for this managed identity into
      // every pod that runs as this account and carries the azure.workload.identity/use label.
      annotations: { 'azure.workload.identity/client-id': settings.workloadIdentityClientId },
    },
  };
}

/**
 * What the worker and the flow runs it starts (which run as the same service account) may do in the
 * namespace, and why:
 * - batch/jobs — the worker creates one Job per flow run, watches it, and deletes it when a run is
 *   cancelled; it patches it on cancellation too (prefect-kubernetes).
 * - pods, pods/status — the worker lists and watches the Job's pod to report crashes and pull
 *   failures; dask-kubernetes (classic KubeCluster) creates and deletes scheduler and worker pods.
 * - pods/log — the worker streams the flow-run pod's log; `cluster.get_logs()` reads Dask pods' logs.
 * - services — dask-kubernetes exposes each Dask scheduler through a Service it creates and deletes.
 * - events — the worker reads events to say why a pod never started (image pull, scheduling).
 * - policy/poddisruptionbudgets — dask-kubernetes protects the scheduler pod with a PDB it creates.
 * - kubernetes.dask.org CRs — with the dask-kubernetes operator, a flow creates a DaskCluster (and
 *   scales its DaskWorkerGroup with patch); the operator, not this account, then makes the pods.
 * Nothing here reaches outside the namespace or touches Secrets, RBAC or nodes.
 */
export const AGENT_RULES: IPolicyRule[] = [
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['pods/status', 'pods/log'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'create', 'delete'] },
  {
    apiGroups: ['kubernetes.dask.org'],
    resources: ['daskclusters', 'daskworkergroups', 'daskjobs', 'daskautoscalers'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
];

export function roleManifest(settings: AgentSettings): IRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: WORKER_NAME, namespace: settings.namespace, labels: { ...COMMON_LABELS } },
    rules: AGENT_RULES,
  };
}

export function roleBindingManifest(settings: AgentSettings): IRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: WORKER_NAME, namespace: settings.namespace, labels: { ...COMMON_LABELS } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: WORKER_NAME },
    subjects: [{ kind: 'ServiceAccount', name: settings.serviceAccount, namespace: settings.namespace }],
  };
}

function workerEnv(settings: AgentSettings): IEnvVar[] {
  const env: IEnvVar[] = [
    { name: 'HOME', value: HOME },
    { name: 'PREFECT_API_URL', value: settings.prefectApiUrl },
    { name: 'PREFECT_KUBERNETES_CLUSTER_UID', value: settings.clusterUid },
    { name: 'PREFECT_WORKER_WEBSERVER_HOST', value: '0.0.0.0' },
    { name: 'PREFECT_WORKER_WEBSERVER_PORT', value: String(HEALTHCHECK_PORT) },
  ];
  if (settings.prefectApiKey) env.push({ name: 'PREFECT_API_KEY', valueFrom: { secretKeyRef: { name: CREDENTIALS_SECRET, key: 'api-key' } } });
  if (settings.prefectAuthString) env.push({ name: 'PREFECT_API_AUTH_STRING', valueFrom: { secretKeyRef: { name: CREDENTIALS_SECRET, key: 'auth-string' } } });
  return env;
}

export function deploymentManifest(settings: AgentSettings): IDeployment {
  // A changed key changes this hash, and so the pod template: the worker restarts with the new key
  // (environment variables from a Secret are read only when a container starts).
  const data = credentialData(settings);
  const credentialsHash = data ? createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 16) : 'none';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: WORKER_NAME,
      namespace: settings.namespace,
      labels: { ...COMMON_LABELS, ...SELECTOR_LABELS },
      annotations: { 'bakery.azure/work-pool': settings.workPool },
    },
    spec: {
      replicas: settings.replicas,
      revisionHistoryLimit: 5,
      // Start the new worker before stopping the old one: two workers polling one pool briefly is harmless.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      selector: { matchLabels: { ...SELECTOR_LABELS } },
      template: {
        metadata: {
          labels: { ...COMMON_LABELS, ...SELECTOR_LABELS, [WORKLOAD_IDENTITY_POD_LABEL.key]: WORKLOAD_IDENTITY_POD_LABEL.value },
          annotations: { 'bakery.azure/credentials-hash': credentialsHash },
        },
        spec: {
          serviceAccountName: settings.serviceAccount,
          ...(settings.placement.tolerations.length ? { tolerations: settings.placement.tolerations.map((toleration) => ({ ...toleration })) } : {}),
          ...(Object.keys(settings.placement.nodeSelector).length ? { nodeSelector: { ...settings.placement.nodeSelector } } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS_USER,
            runAsGroup: RUN_AS_USER,
            fsGroup: RUN_AS_USER,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: CONTAINER_NAME,
              image: settings.image,
              imagePullPolicy: 'IfNotPresent',
              // `args`, not `command`: the image's entrypoint (tini) stays in front to forward SIGTERM.
              // The image carries prefect-kubernetes; never let the worker pip-install at start.
              args: ['prefect', 'worker', 'start', '--pool', settings.workPool, '--type', 'kubernetes', '--with-healthcheck', '--install-policy', 'never'],
              env: workerEnv(settings),
              ports: [{ name: 'healthcheck', containerPort: HEALTHCHECK_PORT, protocol: 'TCP' }],
              resources: { requests: { ...settings.resources.requests }, limits: { ...settings.resources.limits } },
              // /health fails once the worker has stopped polling its pool; restart it then.
              livenessProbe: { httpGet: { path: '/health', port: 'healthcheck' }, initialDelaySeconds: 20, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/health', port: 'healthcheck' }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'home', mountPath: HOME },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'home', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

export type AgentManifest = INamespace | ISecret | IServiceAccount | IRole | IRoleBinding | IDeployment;

/** Every object, in the order they must be applied (namespace first, the Deployment last). */
export function agentManifests(settings: AgentSettings): AgentManifest[] {
  const secret = secretManifest(settings);
  return [
    namespaceManifest(settings),
    ...(secret ? [secret] : []),
    serviceAccountManifest(settings),
    roleManifest(settings),
    roleBindingManifest(settings),
    deploymentManifest(settings),
  ];
}
