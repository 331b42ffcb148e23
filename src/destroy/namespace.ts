import type { TokenCredential } from '@azure/core-auth';
import * as core from '@actions/core';
import { connectToAks } from '../lib/aks.js';
import { armClientOptions, type AzureAuth } from '../lib/azure-auth.js';
import { explainAzureError } from '../lib/azure-errors.js';
import { formatDuration } from '../lib/duration.js';
import { isNotFound } from '../lib/retry.js';
import type { AgentNamespace } from './inputs.js';

/**
 * Removes the agent's namespace before Terraform destroys the cluster. What the agent created at run
 * time — LoadBalancer services (public IPs, load balancer rules), persistent volumes (managed disks) —
 * is not in Terraform's state; deleting the namespace makes Kubernetes' own controllers release them,
 * which cannot happen once the cluster is gone (and the leftovers then block deleting the node
 * resource group or the virtual network).
 */

export type NamespaceOutcome = 'deleted' | 'absent' | 'no-cluster';

export async function removeAgentNamespace(agent: AgentNamespace & { namespace: string }, credential: TokenCredential, auth: AzureAuth, options: { pollMs?: number; reportEveryMs?: number } = {}): Promise<NamespaceOutcome> {
  const { ContainerServiceClient } = await import('@azure/arm-containerservice');
  const clusters = new ContainerServiceClient(credential, auth.subscriptionId!, armClientOptions(auth));
  try {
    await clusters.managedClusters.get(agent.resourceGroup, agent.clusterName);
  } catch (error) {
    // No cluster (or no resource group): nothing runs in it, so nothing to release.
    if (isNotFound(error)) return 'no-cluster';
    throw explainAzureError(error, { doing: `reading AKS cluster ${agent.clusterName}`, auth, roleHint: '"Azure Kubernetes Service Cluster User Role" and "Reader" on the cluster' });
  }
  const { client } = await connectToAks(auth, credential, { subscriptionId: auth.subscriptionId!, resourceGroup: agent.resourceGroup, clusterName: agent.clusterName }, {
    onRetry: (message) => core.info(message),
  });
  const outcome = await client.deleteNamespace(agent.namespace);
  if (outcome === 'absent') return 'absent';
  core.info(`Deleting namespace ${agent.namespace} on ${agent.clusterName}; waiting up to ${formatDuration(agent.timeoutMs)} for its load balancers and volumes to be released.`);
  await client.waitGone(
    { apiVersion: 'v1', kind: 'Namespace', name: agent.namespace },
    {
      timeoutMs: agent.timeoutMs,
      pollMs: options.pollMs,
      reportEveryMs: options.reportEveryMs,
      onWaiting: ({ elapsedMs, phase }) => core.info(`… namespace ${agent.namespace} still ${phase ?? 'present'} after ${formatDuration(elapsedMs)}`),
    },
  );
  return 'deleted';
}
