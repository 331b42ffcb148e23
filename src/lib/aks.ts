import type { TokenCredential } from '@azure/core-auth';
import { armClientOptions, renewingToken, type AzureAuth } from './azure-auth.js';
import { GuidedError, errorMessage } from './errors.js';
import { parseKubeconfig, type Kubeconfig } from './kubeconfig.js';
import { KubernetesClient, type KubernetesClientOptions, type KubernetesConnection } from './kubernetes.js';
import { httpStatusOf } from './retry.js';

/**
 * AKS user credentials → a KubernetesClient (what `az aks get-credentials` + kubelogin do by hand).
 *
 * For a cluster with Azure AD (Entra ID) authentication, AKS returns a kubeconfig whose user runs
 * kubelogin (an `exec` plugin) or names the legacy `azure` auth-provider. We run neither: we ask the
 * action's own Azure credential for a token for the AKS AAD server application and send it as the
 * bearer token, renewing it before it expires. A cluster with local accounts gets its token / client
 * certificate from the kubeconfig itself.
 */

/** The Entra ID application every AKS-managed AAD cluster accepts tokens for ("Azure Kubernetes Service AAD Server"). */
export const AKS_AAD_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

export interface AksClusterRef {
  subscriptionId: string;
  resourceGroup: string;
  clusterName: string;
}

export interface AksConnection {
  client: KubernetesClient;
  kubeconfig: Kubeconfig;
  /** How requests authenticate: the Azure identity's token, or the local account in the kubeconfig. */
  authMode: 'azure-ad' | 'local-account';
  /** The AAD application the token is for (only with `azure-ad`). */
  serverAppId?: string;
}

/** The AAD server application a kubeconfig user wants a token for, when the user is AAD-based. */
export function aadServerAppIdOf(kubeconfig: Kubeconfig): string | undefined {
  const { user } = kubeconfig;
  if (user.kind === 'exec') {
    // kubelogin get-token --environment AzurePublicCloud --server-id <id> --client-id ... --tenant-id ...
    const index = user.args.indexOf('--server-id');
    return (index >= 0 ? user.args[index + 1] : undefined) ?? AKS_AAD_SERVER_APP_ID;
  }
  if (user.kind === 'auth-provider' && user.name === 'azure') return user.config['apiserver-id'] ?? AKS_AAD_SERVER_APP_ID;
  return undefined;
}

/** Reads the cluster's user kubeconfig through ARM (`listClusterUserCredential`). */
export async function fetchUserKubeconfig(auth: AzureAuth, credential: TokenCredential, cluster: AksClusterRef): Promise<string> {
  const { ContainerServiceClient } = await import('@azure/arm-containerservice');
  const client = new ContainerServiceClient(credential, cluster.subscriptionId, armClientOptions(auth));
  let result;
  try {
    result = await client.managedClusters.listClusterUserCredentials(cluster.resourceGroup, cluster.clusterName);
  } catch (error) {
    const status = httpStatusOf(error);
    const where = `cluster "${cluster.clusterName}" in resource group "${cluster.resourceGroup}" (subscription ${cluster.subscriptionId})`;
    if (status === 404) {
      throw new GuidedError(
        `AKS ${where} was not found: ${errorMessage(error)}`,
        'Check "cluster-name" and "resource-group" (pass the deploy step\'s `cluster-name` and `resource-group-name` outputs), and that the stack has been applied.',
      );
    }
    if (status === 403) {
      throw new GuidedError(
        `The Azure identity may not read the user credentials of AKS ${where}: ${errorMessage(error)}`,
        'Grant it the "Azure Kubernetes Service Cluster User Role" (action Microsoft.ContainerService/managedClusters/listClusterUserCredential/action) on the cluster.',
      );
    }
    throw error;
  }
  const value = result.kubeconfigs?.[0]?.value;
  if (!value || value.length === 0) {
    throw new GuidedError(`AKS returned no kubeconfig for ${cluster.clusterName}`, 'Check that the cluster has finished provisioning (provisioningState Succeeded), then run again.');
  }
  return Buffer.from(value).toString('utf8');
}

/** Turns a parsed kubeconfig into a connection, using `credential` for AAD clusters. */
export function connectionFor(kubeconfig: Kubeconfig, credential: TokenCredential): Omit<AksConnection, 'client'> & { connection: KubernetesConnection } {
  const base = {
    server: kubeconfig.server,
    caData: kubeconfig.caData,
    tlsServerName: kubeconfig.tlsServerName,
    insecureSkipTlsVerify: kubeconfig.insecureSkipTlsVerify,
  };
  const serverAppId = aadServerAppIdOf(kubeconfig);
  if (serverAppId) {
    return {
      kubeconfig,
      authMode: 'azure-ad',
      serverAppId,
      connection: { ...base, bearerToken: renewingToken(credential, `${serverAppId}/.default`) },
    };
  }
  const { user } = kubeconfig;
  if (user.kind === 'token') {
    return { kubeconfig, authMode: 'local-account', connection: { ...base, clientCertificate: user.clientCertificate, bearerToken: async () => user.token } };
  }
  if (user.kind === 'client-certificate') {
    return { kubeconfig, authMode: 'local-account', connection: { ...base, clientCertificate: user.clientCertificate } };
  }
  throw new GuidedError(
    `The kubeconfig AKS returned for context "${kubeconfig.contextName}" carries no credential this action can use (user kind: ${user.kind})`,
    'Enable Azure AD (Entra ID) integration on the cluster (recommended), or local accounts.',
  );
}

/** Everything in one call: credentials from ARM, parsed, wired to a client. */
export async function connectToAks(
  auth: AzureAuth,
  credential: TokenCredential,
  cluster: AksClusterRef,
  clientOptions: KubernetesClientOptions = {},
): Promise<AksConnection> {
  const text = await fetchUserKubeconfig(auth, credential, cluster);
  let kubeconfig: Kubeconfig;
  try {
    kubeconfig = parseKubeconfig(text);
  } catch (error) {
    throw new GuidedError(`The kubeconfig AKS returned for ${cluster.clusterName} could not be read: ${errorMessage(error)}`, 'This is unexpected; run again with ACTIONS_STEP_DEBUG=true and report it.');
  }
  const { connection, ...rest } = connectionFor(kubeconfig, credential);
  return { ...rest, client: new KubernetesClient(connection, clientOptions) };
}
