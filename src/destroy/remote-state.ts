import type { TokenCredential } from '@azure/core-auth';
import * as core from '@actions/core';
import { armClientOptions, type AzureAuth } from '../lib/azure-auth.js';
import { explainAzureError } from '../lib/azure-errors.js';
import { blobEndpointFor, type BackendConfig } from '../lib/backend-config.js';
import { GuidedError } from '../lib/errors.js';
import { withStatusLines } from '../lib/progress.js';
import { isNotFound } from '../lib/retry.js';
import { UnreadableStateError, parseTerraformState } from '../lib/terraform-state.js';

/**
 * The last step of destroy-remote-state: delete the resource group that holds the Terraform state —
 * but only once every state file in the container is known to manage nothing. One state account
 * serves every stack and environment of a deployment (setup-remote-state keys them
 * `<stack>/<environment>.tfstate`), so the container may hold another environment's live state; and
 * a state that still lists managed resources is the only record of infrastructure that exists.
 */

/** Blobs under this prefix are stored plans (plan-store), not states. */
const PLAN_PREFIX = 'plans/';

export interface StateContainer {
  resourceGroup: string;
  storageAccount: string;
  container: string;
  blobEndpoint: string;
}

export interface StateFinding {
  blob: string;
  /** Managed resource instances still in the state. */
  managed: string[];
  /** Why the blob cannot be ruled out: unreadable, or locked by a running Terraform. */
  problem?: string;
}

export interface ContainerCheck {
  container: StateContainer;
  /** Every blob read (stored plans are counted, not read). */
  states: StateFinding[];
  plans: number;
}

/** The distinct state containers of the root modules' backends (usually one). */
export function stateContainersOf(backends: BackendConfig[], blobEndpoint?: string): StateContainer[] {
  const byKey = new Map<string, StateContainer>();
  for (const backend of backends) {
    const container: StateContainer = {
      resourceGroup: backend.resource_group_name!,
      storageAccount: backend.storage_account_name,
      container: backend.container_name,
      blobEndpoint: blobEndpoint ?? blobEndpointFor(backend),
    };
    byKey.set(`${container.resourceGroup}/${container.storageAccount}/${container.container}`, container);
  }
  return [...byKey.values()];
}

/**
 * Reads every blob of every container in the state account and reports what each still manages.
 * Every container, not only the backend's: deleting the resource group deletes the whole account, so
 * a state another stack keeps in another container would go with it.
 */
export async function checkStateAccount(account: StateContainer, credential: TokenCredential, auth: AzureAuth): Promise<ContainerCheck[]> {
  const { BlobServiceClient } = await import('@azure/storage-blob');
  const service = new BlobServiceClient(account.blobEndpoint, credential);
  const checks: ContainerCheck[] = [];
  try {
    for await (const item of service.listContainers()) {
      const client = service.getContainerClient(item.name);
      const check: ContainerCheck = { container: { ...account, container: item.name }, states: [], plans: 0 };
      for await (const blob of client.listBlobsFlat()) {
        if (blob.name.startsWith(PLAN_PREFIX)) {
          check.plans++;
          continue;
        }
        // The azurerm backend locks a state with a blob lease: a run is using it right now.
        if (blob.properties.leaseState === 'leased') {
          check.states.push({ blob: blob.name, managed: [], problem: 'it is locked (leased) by a running Terraform' });
          continue;
        }
        const text = (await client.getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
        try {
          check.states.push({ blob: blob.name, managed: parseTerraformState(text, blob.name).managed });
        } catch (error) {
          if (!(error instanceof UnreadableStateError)) throw error;
          check.states.push({ blob: blob.name, managed: [], problem: `it cannot be read as a Terraform state (${error.message})` });
        }
      }
      checks.push(check);
    }
  } catch (error) {
    throw explainAzureError(error, {
      doing: `reading the state storage account ${account.storageAccount}`,
      auth,
      roleHint: '"Storage Blob Data Reader" (or Contributor) on the state storage account',
    });
  }
  return checks;
}

/** Why the state storage must stay, as lines for the error; empty when nothing holds it back. */
export function blockingStates(checks: ContainerCheck[]): string[] {
  const lines: string[] = [];
  for (const check of checks) {
    for (const state of check.states) {
      if (state.problem) lines.push(`${check.container.storageAccount}/${check.container.container}/${state.blob}: ${state.problem}`);
      else if (state.managed.length) {
        const shown = state.managed.slice(0, 20).map((address) => `    ${address}`);
        const more = state.managed.length > 20 ? [`    … and ${state.managed.length - 20} more`] : [];
        lines.push(`${check.container.storageAccount}/${check.container.container}/${state.blob} still manages ${state.managed.length} resource${state.managed.length === 1 ? '' : 's'}:`, ...shown, ...more);
      }
    }
  }
  return lines;
}

/** Deletes the state resource group and waits for Azure to finish (a few minutes), with status lines. */
export async function deleteStateResourceGroup(resourceGroup: string, credential: TokenCredential, auth: AzureAuth): Promise<'deleted' | 'absent'> {
  const { ResourceManagementClient } = await import('@azure/arm-resources');
  const client = new ResourceManagementClient(credential, auth.subscriptionId!, armClientOptions(auth));
  try {
    await withStatusLines(`deleting resource group ${resourceGroup}`, client.resourceGroups.delete(resourceGroup).pollUntilDone());
    return 'deleted';
  } catch (error) {
    if (isNotFound(error)) return 'absent';
    throw explainAzureError(error, { doing: `deleting the state resource group ${resourceGroup}`, auth, roleHint: '"Contributor" on the resource group (Microsoft.Resources/subscriptions/resourceGroups/delete)' });
  }
}

/** The whole check-then-delete, for each state account; throws (deleting nothing) when any state holds back. */
export async function destroyRemoteState(containers: StateContainer[], credential: TokenCredential, auth: AzureAuth): Promise<{ checks: ContainerCheck[]; deleted: { resourceGroup: string; outcome: 'deleted' | 'absent' }[] }> {
  const checks: ContainerCheck[] = [];
  const accounts = new Map(containers.map((container) => [`${container.resourceGroup}/${container.storageAccount}`, container]));
  for (const account of accounts.values()) {
    for (const check of await checkStateAccount(account, credential, auth)) {
      const found = check.states.map((state) => `${state.blob}: ${state.problem ? 'cannot be ruled out' : `${state.managed.length} managed`}`).join(', ');
      core.info(`Container ${check.container.storageAccount}/${check.container.container}: ${check.states.length} file${check.states.length === 1 ? '' : 's'} read (${found || 'none'}), ${check.plans} stored plan blob${check.plans === 1 ? '' : 's'} skipped.`);
      checks.push(check);
    }
  }
  const blocking = blockingStates(checks);
  if (blocking.length) {
    throw new GuidedError(
      `Not deleting the remote state: it still records live infrastructure (or cannot be shown not to):\n${blocking.join('\n')}`,
      'Destroy those root modules first (this action with their working directories and environment), or leave destroy-remote-state false. A state holding resources is the only record of them; deleting it would orphan them.',
    );
  }
  const deleted: { resourceGroup: string; outcome: 'deleted' | 'absent' }[] = [];
  for (const resourceGroup of new Set(containers.map((container) => container.resourceGroup))) {
    core.info(`Every state file is empty: deleting the state resource group ${resourceGroup}.`);
    deleted.push({ resourceGroup, outcome: await deleteStateResourceGroup(resourceGroup, credential, auth) });
  }
  return { checks, deleted };
}
