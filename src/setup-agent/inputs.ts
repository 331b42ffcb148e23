import { readAzureAuth, type AzureAuth } from '../lib/azure-auth.js';
import { readClusterName, readNamespace, readResourceGroup, readServiceAccount } from '../lib/common-inputs.js';
import { readDuration } from '../lib/duration.js';
import { ConfigurationError } from '../lib/errors.js';
import { readGuid, readInteger, readString } from '../lib/inputs.js';
import { readFlowPodPlacement, type PodPlacement } from '../lib/pod-placement.js';
import { parsePrefectApiUrl, readPrefectConnection, readWorkPool, type PrefectConnection } from '../lib/prefect.js';

export interface WorkerResources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export interface Inputs {
  auth: AzureAuth;
  resourceGroup: string;
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  workloadIdentityClientId: string;
  /** The worker image, ideally pinned by digest (build-image's `image` output). */
  image: string;
  workPool: string;
  /** How this runner reaches Prefect (to create the work pool). */
  prefect: PrefectConnection;
  /** How the worker pod reaches Prefect (an in-cluster address may differ from the runner's). */
  workerPrefectApiUrl: string;
  rolloutTimeoutMs: number;
  replicas: number;
  resources: WorkerResources;
  /** Tolerations and node selector of the worker pod and of every flow-run pod (the work pool's template). */
  flowPodPlacement: PodPlacement;
}

/** registry[:port]/repository(:tag)?(@sha256:digest)? — a fully qualified image reference. */
const IMAGE = /^[a-z0-9.-]+(:\d+)?\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;
/** A Kubernetes resource quantity (decimal or binary suffix). */
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

const QUANTITY_FACTORS: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A quantity as a number (cores or bytes), for comparing a request with its limit. */
export function quantityValue(quantity: string): number {
  const match = QUANTITY.exec(quantity);
  if (!match) return Number.NaN;
  return Number(match[1]) * QUANTITY_FACTORS[match[3] ?? '']!;
}

function readQuantity(name: string, defaultValue: string, what: string): string {
  return readString(name, { default: defaultValue, pattern: QUANTITY, expected: `a Kubernetes quantity (${what})`, example: defaultValue });
}

export function readInputs(): Inputs {
  const auth = readAzureAuth({ allowConnectionString: false, needsSubscription: true });
  const resourceGroup = readResourceGroup({ required: true });
  const clusterName = readClusterName({ required: true });
  const namespace = readNamespace();
  const serviceAccount = readServiceAccount();
  const workloadIdentityClientId = readGuid('workload-identity-client-id', true, 'the client id of the managed identity the worker pods use; the deploy step\'s `workload-identity-client-id` output')!;
  const image = readString('image', { required: true, pattern: IMAGE, expected: 'a full image reference registry/repository[:tag][@sha256:digest]', example: 'bakeryacr.azurecr.io/bakery/worker@sha256:<digest> (build-image\'s `image` output)' });
  if (!image.includes('@') && !/:[^/]+$/.test(image.slice(image.indexOf('/')))) {
    throw new ConfigurationError('image', `is "${image}", which has neither a tag nor a digest, so every node would pull whatever :latest is then`, 'Pass build-image\'s `image` output (pinned by digest).');
  }
  const workPool = readWorkPool({ default: 'bakery' });
  // setup-agent creates the pool; Prefect refuses to create one with a reserved name.
  if (/^prefect/i.test(workPool)) {
    throw new ConfigurationError('work-pool', `is "${workPool}"; Prefect reserves names starting with "prefect"`, 'Choose another name, e.g. "bakery".');
  }
  const prefect = readPrefectConnection({ required: true })!;
  const workerUrlInput = readString('worker-prefect-api-url');
  const workerPrefectApiUrl = workerUrlInput ? parsePrefectApiUrl(workerUrlInput, 'worker-prefect-api-url').apiUrl : prefect.apiUrl;

  const resources: WorkerResources = {
    requests: { cpu: readQuantity('worker-cpu-request', '100m', 'CPU cores, e.g. 100m or 0.5'), memory: readQuantity('worker-memory-request', '256Mi', 'bytes, e.g. 256Mi') },
    limits: { cpu: readQuantity('worker-cpu-limit', '1', 'CPU cores, e.g. 1 or 500m'), memory: readQuantity('worker-memory-limit', '1Gi', 'bytes, e.g. 1Gi') },
  };
  for (const kind of ['cpu', 'memory'] as const) {
    if (quantityValue(resources.requests[kind]) > quantityValue(resources.limits[kind])) {
      throw new ConfigurationError(`worker-${kind}-request`, `is ${resources.requests[kind]}, more than "worker-${kind}-limit" (${resources.limits[kind]}); Kubernetes refuses a request above its limit`, `Lower "worker-${kind}-request" or raise "worker-${kind}-limit".`);
    }
  }

  const flowPodPlacement = readFlowPodPlacement();

  return {
    auth,
    resourceGroup,
    clusterName,
    namespace,
    serviceAccount,
    workloadIdentityClientId,
    image,
    workPool,
    prefect,
    workerPrefectApiUrl,
    rolloutTimeoutMs: readDuration('rollout-timeout', { default: '5m', min: '1s', max: '1h' }),
    replicas: readInteger('worker-replicas', { default: 1, min: 1, max: 20 }),
    resources,
    flowPodPlacement,
  };
}
