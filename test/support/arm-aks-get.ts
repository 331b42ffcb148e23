import { armError, fixtureBody, type AzureStandIn } from './azure-stand-in.js';
import { AKS_EXAMPLES, type AksCluster } from './arm-aks.js';

/**
 * `GET …/managedClusters/{name}` on the ARM stand-in: the official ManagedClustersGet example with the
 * example's resource group and cluster names (rg1, clustername1) replaced by the request's; 404 with
 * ARM's ResourceNotFound error for a cluster not in `clusters` (e.g. one already destroyed).
 */
export function addAksGetRoute(azure: AzureStandIn, clusters: Pick<AksCluster, 'resourceGroup' | 'name'>[]): AzureStandIn {
  const pattern = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerService\/managedClusters\/([^/]+)$/i;
  return azure.route('GET', pattern, (_request, match) => {
    const [, subscription, group, name] = match as unknown as [string, string, string, string];
    const cluster = clusters.find((candidate) => candidate.resourceGroup.toLowerCase() === group.toLowerCase() && candidate.name.toLowerCase() === name.toLowerCase());
    if (!cluster) {
      return armError(404, 'ResourceNotFound', `The Resource 'Microsoft.ContainerService/managedClusters/${name}' under resource group '${group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
    }
    const body = fixtureBody<{ id: string; name: string }>(`${AKS_EXAMPLES}/ManagedClustersGet.json`);
    body.id = `/subscriptions/${subscription}/resourceGroups/${cluster.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster.name}`;
    body.name = cluster.name;
    return { status: 200, body };
  });
}
