import * as core from '@actions/core';
import { createTokenCredential } from '../lib/azure-auth.js';
import { explainAzureError } from '../lib/azure-errors.js';
import { formatDuration } from '../lib/duration.js';
import { GuidedError } from '../lib/errors.js';
import { describeRef, kubernetesStatusOf, type ApplyOutcome, type KubernetesClient } from '../lib/kubernetes.js';
import { describePods, waitForDeploymentRollout } from '../lib/kubernetes-rollout.js';
import { inlineCode, markdownTable } from '../lib/markdown.js';
import { PrefectClient } from '../lib/prefect.js';
import { HttpError } from '../lib/retry.js';
import { appendJobSummary } from '../lib/summary.js';
import { readInputs, type Inputs } from './inputs.js';
import { SELECTOR_LABELS, WORKER_NAME, agentManifests, clusterUid, type AgentManifest } from './manifests.js';
import { ensureWorkPool } from './work-pool.js';

/**
 * Puts the Bakery's Prefect worker on AKS: AKS user credentials → server-side apply of the namespace,
 * credentials Secret, workload-identity ServiceAccount, Role/RoleBinding and worker Deployment → the
 * Prefect work pool (created when missing; its flow pods given the worker pool's tolerations and node
 * selector when asked) → waits for the rollout. Re-running with the same inputs
 * changes nothing and says so.
 */
export async function run(): Promise<void> {
  const inputs = readInputs();
  const credential = await createTokenCredential(inputs.auth);
  const azureContext = { auth: inputs.auth, roleHint: '"Azure Kubernetes Service Cluster User Role" on the cluster' };

  const aks = await core
    .group(`Connecting to AKS cluster ${inputs.clusterName}`, async () => {
      // Loaded only now: the ARM SDK and the kubeconfig's YAML parser are most of this bundle.
      const { connectToAks } = await import('../lib/aks.js');
      const connection = await connectToAks(
        inputs.auth,
        credential,
        { subscriptionId: inputs.auth.subscriptionId!, resourceGroup: inputs.resourceGroup, clusterName: inputs.clusterName },
        { onRetry: (message) => core.info(message) },
      );
      core.info(`API server ${connection.kubeconfig.server}; authenticating ${connection.authMode === 'azure-ad' ? `with the Azure identity's token for AAD server app ${connection.serverAppId}` : 'with the cluster\'s local account'}.`);
      return connection;
    })
    .catch((error: unknown) => {
      throw explainAzureError(error, { ...azureContext, doing: `reading the credentials of AKS cluster ${inputs.clusterName}` });
    });
  const kube = aks.client;

  const prefect = new PrefectClient(inputs.prefect);
  const pool = await core.group(`Prefect work pool ${inputs.workPool}`, () =>
    ensureWorkPool(prefect, {
      name: inputs.workPool,
      description: `Azure Bakery worker on AKS ${inputs.clusterName}, namespace ${inputs.namespace}`,
      placement: inputs.flowPodPlacement,
    }),
  );

  const manifests = agentManifests({
    namespace: inputs.namespace,
    serviceAccount: inputs.serviceAccount,
    workloadIdentityClientId: inputs.workloadIdentityClientId,
    image: inputs.image,
    workPool: inputs.workPool,
    prefectApiUrl: inputs.workerPrefectApiUrl,
    prefectApiKey: inputs.prefect.apiKey,
    prefectAuthString: inputs.prefect.authString,
    replicas: inputs.replicas,
    resources: inputs.resources,
    placement: inputs.flowPodPlacement,
    clusterUid: clusterUid(inputs.auth.subscriptionId!, inputs.resourceGroup, inputs.clusterName),
  });
  const applied = await core.group(`Applying ${manifests.length} objects (server-side apply)`, () => applyAll(kube, manifests, inputs));

  const rollout = await core.group(`Waiting for the ${WORKER_NAME} rollout (up to ${formatDuration(inputs.rolloutTimeoutMs)})`, () =>
    waitForDeploymentRollout(kube, inputs.namespace, WORKER_NAME, { timeoutMs: inputs.rolloutTimeoutMs, log: (line) => core.info(line) }),
  );
  if (rollout.failure) {
    const selector = Object.entries(SELECTOR_LABELS).map(([key, value]) => `${key}=${value}`).join(',');
    await core.group('Worker pods, events and last log lines', async () => {
      for (const line of await describePods(kube, inputs.namespace, selector)) core.info(line);
    });
    const reason = rollout.failure === 'timeout' ? `did not finish in ${formatDuration(inputs.rolloutTimeoutMs)}: ${rollout.state.message}` : `failed: ${rollout.failure}`;
    throw new GuidedError(
      `The ${WORKER_NAME} rollout in namespace ${inputs.namespace} ${reason}`,
      'The pods\' events and log lines are printed above. Common causes: the image cannot be pulled (give the cluster\'s kubelet identity AcrPull on the registry, or check "image"), ' +
        'the worker cannot reach or authenticate to Prefect (check "prefect-api-url"/"worker-prefect-api-url" and the key), or the nodes lack CPU/memory for the requests. ' +
        'Raise "rollout-timeout" if the cluster is only slow (e.g. scaling up a node).',
    );
  }

  const changed = pool.outcome !== 'unchanged' || applied.some((item) => item.outcome !== 'unchanged');
  if (!changed) core.info('Nothing changed: every object and the work pool were already as asked.');
  core.setOutput('namespace', inputs.namespace);
  core.setOutput('work-pool', inputs.workPool);
  core.setOutput('service-account', inputs.serviceAccount);
  core.setOutput('changed', String(changed));

  await appendJobSummary(
    `### Bakery agent on ${inputs.clusterName}\n\n` +
      (changed ? '' : '_Nothing changed: every object and the work pool were already as asked._\n\n') +
      markdownTable(['object', 'result'], [
        [`Prefect work pool ${inputs.workPool}`, pool.changes.length ? `${pool.outcome}: flow pods ${pool.changes.join(', ')}` : pool.outcome],
        ...applied.map((item) => [item.what, item.outcome]),
        [`rollout of ${WORKER_NAME}`, `complete in ${formatDuration(rollout.elapsedMs)}`],
      ]) +
      `\n\nImage: ${inlineCode(inputs.image)}\n`,
  );
}

interface Applied {
  what: string;
  outcome: ApplyOutcome;
}

async function applyAll(kube: KubernetesClient, manifests: AgentManifest[], inputs: Inputs): Promise<Applied[]> {
  const results: Applied[] = [];
  for (const manifest of manifests) {
    const what = describeRef({ apiVersion: manifest.apiVersion, kind: manifest.kind, name: manifest.metadata?.name, namespace: manifest.metadata?.namespace });
    try {
      const { outcome } = await kube.apply(manifest);
      core.info(`${what}: ${outcome}`);
      results.push({ what, outcome });
    } catch (error) {
      // A Kubernetes refusal, or (for AAD clusters) Entra ID refusing the token for the AKS server app.
      throw explainAzureError(explainKubernetesError(error, what, inputs), { auth: inputs.auth, doing: `getting a token for AKS to apply ${what}`, roleHint: '"Azure Kubernetes Service RBAC Admin" on the cluster' });
    }
  }
  return results;
}

/** The API server's refusals that a workflow author can fix. */
function explainKubernetesError(error: unknown, what: string, inputs: Inputs): unknown {
  if (!(error instanceof HttpError)) return error;
  const said = kubernetesStatusOf(error)?.message ?? error.body.slice(0, 300);
  if (error.status === 401) {
    return new GuidedError(`The Kubernetes API server did not accept our credentials applying ${what}: ${said}`, 'Check that the cluster\'s Entra ID integration trusts this tenant ("tenant-id"), then run again.');
  }
  if (error.status === 403) {
    return new GuidedError(
      `The Kubernetes API server refused to apply ${what}: ${said}`,
      `Give the identity (client id ${inputs.auth.clientId ?? 'of the signed-in account'}) "Azure Kubernetes Service RBAC Admin" on the cluster (Azure RBAC for Kubernetes), ` +
        `or bind it to a Role that may manage namespaces, secrets, service accounts, roles, role bindings and deployments in "${inputs.namespace}".`,
    );
  }
  if (error.status === 422 || error.status === 400) {
    return new GuidedError(`The Kubernetes API server rejected ${what}: ${said}`, 'Check the inputs the message names (image, resources, names); this can also mean a Kubernetes version this action does not know.');
  }
  return error;
}
