import { armError, fixtureBody, type AzureStandIn } from './azure-stand-in.js';

/**
 * Microsoft.ContainerService routes on the ARM stand-in. `listClusterUserCredential` answers with the
 * official example's body (ManagedClustersListClusterUserCredentials.json) whose one kubeconfig value —
 * the example's placeholder "Y3JlZGVudGlhbFZhbHVlMQ==" — is replaced by a real kubeconfig pointing at
 * the Kubernetes stand-in: the value is substituted, the shape is the fixture's.
 */

export const AKS_EXAMPLES = 'Microsoft.ContainerService/2026-06-01';

export interface AksCluster {
  resourceGroup: string;
  name: string;
  /** The kubeconfig YAML the cluster hands out (KubernetesApiStandIn.kubeconfig()). */
  kubeconfig: string;
}

export function addAksRoutes(azure: AzureStandIn, clusters: AksCluster[]): AzureStandIn {
  const pattern = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerService\/managedClusters\/([^/]+)\/listClusterUserCredential$/i;
  return azure.route('POST', pattern, (_request, match) => {
    const cluster = clusters.find((candidate) => candidate.resourceGroup.toLowerCase() === match[2]!.toLowerCase() && candidate.name.toLowerCase() === match[3]!.toLowerCase());
    if (!cluster) {
      return armError(404, 'ResourceNotFound', `The Resource 'Microsoft.ContainerService/managedClusters/${match[3]}' under resource group '${match[2]}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
    }
    const body = fixtureBody<{ kubeconfigs: { name: string; value: string }[] }>(`${AKS_EXAMPLES}/ManagedClustersListClusterUserCredentials.json`);
    body.kubeconfigs[0]!.value = Buffer.from(cluster.kubeconfig).toString('base64');
    return { status: 200, body };
  });
}
