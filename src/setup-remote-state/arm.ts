import type { TokenCredential } from '@azure/core-auth';
import type { ResourceGroup, ResourceManagementClient } from '@azure/arm-resources';
import type { BlobServiceProperties, StorageAccount, StorageAccountUpdateParameters, StorageManagementClient } from '@azure/arm-storage';
import { armClientOptions, type AzureAuth } from '../lib/azure-auth.js';
import { explainAzureError } from '../lib/azure-errors.js';
import { ConfigurationError, GuidedError } from '../lib/errors.js';
import { withStatusLines } from '../lib/progress.js';
import { isNotFound } from '../lib/retry.js';
import type { Inputs } from './inputs.js';
import type { Report } from './report.js';

/**
 * The Azure Resource Manager half of the remote state: the resource group, the storage account and
 * its blob service settings. Every step looks first and changes only what is missing or (with
 * enforce-settings) different, so a second run changes nothing and a run that failed halfway can be
 * repeated. Names are checked before the first resource is created, so a taken account name stops the
 * run with nothing made.
 */

export interface ArmClients {
  resources: ResourceManagementClient;
  storage: StorageManagementClient;
}

export interface ArmOptions {
  /** Poll interval of long-running operations; unset = the SDK's own (Retry-After, else 2 s). */
  lroPollIntervalMs?: number;
}

/** Loads the ARM SDKs (only now: they are most of the bundle's start-up time). */
export async function createArmClients(auth: AzureAuth, credential: TokenCredential): Promise<ArmClients> {
  const [{ ResourceManagementClient }, { StorageManagementClient }] = await Promise.all([import('@azure/arm-resources'), import('@azure/arm-storage')]);
  const options = armClientOptions(auth);
  return {
    resources: new ResourceManagementClient(credential, auth.subscriptionId!, options),
    storage: new StorageManagementClient(credential, auth.subscriptionId!, options),
  };
}

export interface SettingDrift {
  setting: string;
  actual: string;
  wanted: string;
}

export function describeDrift(drift: readonly SettingDrift[]): string {
  return drift.map((d) => `${d.setting} is ${d.actual}, wanted ${d.wanted}`).join('; ');
}

/** The settings a state account must have: the state holds every secret Terraform ever saw. */
export const WANTED_ACCOUNT = {
  kind: 'StorageV2',
  minimumTlsVersion: 'TLS1_2',
  enableHttpsTrafficOnly: true,
  allowBlobPublicAccess: false,
  /** Shared keys bypass Entra ID and its audit; Terraform's backend uses Entra ID (use_azuread_auth). */
  allowSharedKeyAccess: false,
} as const;

const ACCEPTED_TLS = new Set(['TLS1_2', 'TLS1_3']);

function show(value: unknown, unsetMeans: string): string {
  return value === undefined || value === null ? `unset (${unsetMeans})` : String(value);
}

/**
 * How `tags` differ from the wanted ones: a wanted tag missing or with another value. Tags someone
 * else added are left alone.
 */
export function tagDrift(actual: Record<string, string> | undefined, wanted: Record<string, string>): SettingDrift[] {
  return Object.entries(wanted)
    .filter(([name, value]) => actual?.[name] !== value)
    .map(([name, value]) => ({ setting: `tag ${name}`, actual: actual?.[name] === undefined ? 'missing' : JSON.stringify(actual[name]), wanted: JSON.stringify(value) }));
}

/**
 * The account's settings that differ from WANTED_ACCOUNT. An unset property means what the API
 * documents as its default: TLS 1.0, shared keys allowed, HTTPS only, public access off.
 */
export function accountDrift(account: StorageAccount, tags: Record<string, string>): SettingDrift[] {
  const drift: SettingDrift[] = [];
  if (account.kind !== WANTED_ACCOUNT.kind) drift.push({ setting: 'kind', actual: show(account.kind, 'Storage'), wanted: WANTED_ACCOUNT.kind });
  if (!ACCEPTED_TLS.has(account.minimumTlsVersion ?? 'TLS1_0')) {
    drift.push({ setting: 'minimumTlsVersion', actual: show(account.minimumTlsVersion, 'TLS1_0'), wanted: WANTED_ACCOUNT.minimumTlsVersion });
  }
  if (account.enableHttpsTrafficOnly === false) drift.push({ setting: 'supportsHttpsTrafficOnly', actual: 'false', wanted: 'true' });
  if (account.allowBlobPublicAccess === true) drift.push({ setting: 'allowBlobPublicAccess', actual: 'true', wanted: 'false' });
  if (account.allowSharedKeyAccess !== false) {
    drift.push({ setting: 'allowSharedKeyAccess', actual: show(account.allowSharedKeyAccess, 'true'), wanted: 'false' });
  }
  return [...drift, ...tagDrift(account.tags, tags)];
}

/** The PATCH that turns the drifted settings into the wanted ones (and only those). */
export function accountFix(account: StorageAccount, drift: readonly SettingDrift[], tags: Record<string, string>): StorageAccountUpdateParameters {
  const settings = new Set(drift.map((d) => d.setting));
  const patch: StorageAccountUpdateParameters = {};
  if (settings.has('kind')) {
    // Upgrading a general-purpose v1 or BlobStorage account to v2 needs an access tier.
    patch.kind = WANTED_ACCOUNT.kind;
    patch.accessTier = account.accessTier ?? 'Hot';
  }
  if (settings.has('minimumTlsVersion')) patch.minimumTlsVersion = WANTED_ACCOUNT.minimumTlsVersion;
  if (settings.has('supportsHttpsTrafficOnly')) patch.enableHttpsTrafficOnly = WANTED_ACCOUNT.enableHttpsTrafficOnly;
  if (settings.has('allowBlobPublicAccess')) patch.allowBlobPublicAccess = WANTED_ACCOUNT.allowBlobPublicAccess;
  if (settings.has('allowSharedKeyAccess')) patch.allowSharedKeyAccess = WANTED_ACCOUNT.allowSharedKeyAccess;
  // PATCH replaces the whole tag set: keep the tags others added.
  if (drift.some((d) => d.setting.startsWith('tag '))) patch.tags = { ...account.tags, ...tags };
  return patch;
}

/**
 * Blob versioning and soft delete (blobs and containers) keep a damaged or deleted state recoverable.
 * A retention already longer than wanted is kept.
 */
export function blobServiceDrift(service: BlobServiceProperties | undefined, retentionDays: number): SettingDrift[] {
  const drift: SettingDrift[] = [];
  if (service?.isVersioningEnabled !== true) drift.push({ setting: 'blob versioning', actual: 'off', wanted: 'on' });
  const policies = [
    ['blob soft delete', service?.deleteRetentionPolicy],
    ['container soft delete', service?.containerDeleteRetentionPolicy],
  ] as const;
  for (const [setting, policy] of policies) {
    if (policy?.enabled !== true) drift.push({ setting, actual: 'off', wanted: `${retentionDays} days` });
    else if ((policy.days ?? 0) < retentionDays) drift.push({ setting, actual: `${policy.days ?? 0} days`, wanted: `${retentionDays} days` });
  }
  return drift;
}

export function blobServiceFix(retentionDays: number): BlobServiceProperties {
  const policy = { enabled: true, days: retentionDays };
  return { isVersioningEnabled: true, deleteRetentionPolicy: policy, containerDeleteRetentionPolicy: policy };
}

/** The result, or undefined when ARM answers 404. */
async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const CREATED_BY = 'setup-remote-state without read-only (the first step of the deploy workflow)';

function missing(what: string, name: string, inputs: Inputs): GuidedError {
  return new GuidedError(
    `${what} "${name}" does not exist, and read-only: true never creates it.`,
    `It is created by ${CREATED_BY}; run that once for this identifier ("${inputs.identifier}"), or check "identifier", "resource-group" and "storage-account".`,
  );
}

export interface AccountResult {
  /** The blob endpoint ARM reports for the account (right for sovereign clouds and private setups). */
  blobEndpoint: string;
}

/** Ensures the resource group, the storage account and its blob service; returns the blob endpoint. */
export async function ensureStateAccount(clients: ArmClients, inputs: Inputs, report: Report, options: ArmOptions = {}): Promise<AccountResult> {
  const rgName = inputs.resourceGroup!;
  const accountName = inputs.storageAccount;
  const explain = (doing: string, roleHint: string) => (error: unknown) => {
    throw explainAzureError(error, { doing, auth: inputs.auth, roleHint });
  };
  const readerRole = `the Reader role on resource group "${rgName}" (or its subscription)`;
  const contributorRole = `the Contributor role on the subscription (to create resource group "${rgName}"), or on that resource group once it exists`;

  // Look before touching anything: a taken name must stop the run before anything is created.
  const group = await getOrUndefined(() => clients.resources.resourceGroups.get(rgName)).catch(explain(`reading resource group "${rgName}"`, readerRole));
  let account = group
    ? await getOrUndefined(() => clients.storage.storageAccounts.getProperties(rgName, accountName)).catch(explain(`reading storage account "${accountName}"`, readerRole))
    : undefined;
  if (!group && inputs.readOnly) throw missing('Resource group', rgName, inputs);
  if (!account) {
    if (inputs.readOnly) throw missing('Storage account', accountName, inputs);
    const availability = await clients.storage.storageAccounts
      .checkNameAvailability({ name: accountName, type: 'Microsoft.Storage/storageAccounts' })
      .catch(explain(`checking whether the storage account name "${accountName}" is free`, readerRole));
    if (availability.nameAvailable === false && availability.reason === 'AlreadyExists' && group) {
      // A parallel job (another environment of the same identifier) may have just created it here.
      account = await getOrUndefined(() => clients.storage.storageAccounts.getProperties(rgName, accountName)).catch(explain(`reading storage account "${accountName}"`, readerRole));
    }
    if (!account && availability.nameAvailable === false) {
      const taken = availability.reason === 'AlreadyExists';
      throw new ConfigurationError(
        'storage-account',
        taken
          ? `is "${accountName}", a name already taken in Azure — by another subscription, or by another resource group than "${rgName}" (storage account names are global)`
          : `is "${accountName}", which Azure refuses: ${availability.message ?? availability.reason ?? 'invalid name'}`,
        taken
          ? 'Set "storage-account" to a free name of 3–24 lowercase letters and digits (or change "identifier"); if the account is yours, set "resource-group" to its resource group.'
          : 'Set "storage-account" to 3–24 lowercase letters and digits.',
      );
    }
  }

  await ensureResourceGroup(clients, inputs, report, group).catch(explain(`creating or updating resource group "${rgName}"`, contributorRole));

  const accountRole = `the Contributor role (or Storage Account Contributor) on resource group "${rgName}"`;
  if (!account) {
    const poller = clients.storage.storageAccounts.create(
      rgName,
      accountName,
      {
        location: inputs.region!,
        kind: WANTED_ACCOUNT.kind,
        sku: { name: 'Standard_LRS' },
        tags: inputs.tags,
        minimumTlsVersion: WANTED_ACCOUNT.minimumTlsVersion,
        enableHttpsTrafficOnly: WANTED_ACCOUNT.enableHttpsTrafficOnly,
        allowBlobPublicAccess: WANTED_ACCOUNT.allowBlobPublicAccess,
        allowSharedKeyAccess: WANTED_ACCOUNT.allowSharedKeyAccess,
        // The portal and tools then use Entra ID for data access too.
        defaultToOAuthAuthentication: true,
      },
      { updateIntervalInMs: options.lroPollIntervalMs },
    );
    account = await withStatusLines(`creating storage account ${accountName}`, poller.pollUntilDone()).catch(explain(`creating storage account "${accountName}"`, accountRole));
    report.add('Storage account', accountName, 'created', `StorageV2, Standard_LRS, ${inputs.region}; TLS 1.2, HTTPS only, no public access, no shared keys`);
  } else {
    account = await reconcileAccount(clients, inputs, report, account).catch(explain(`updating storage account "${accountName}"`, accountRole));
  }

  await ensureBlobService(clients, inputs, report).catch(explain(`setting versioning and soft delete on "${accountName}"`, accountRole));

  const blobEndpoint = account.primaryEndpoints?.blob;
  if (!blobEndpoint) throw new Error(`Azure reported no blob endpoint for storage account "${accountName}"`);
  return { blobEndpoint };
}

async function ensureResourceGroup(clients: ArmClients, inputs: Inputs, report: Report, group: ResourceGroup | undefined): Promise<void> {
  const name = inputs.resourceGroup!;
  if (!group) {
    await clients.resources.resourceGroups.createOrUpdate(name, { location: inputs.region!, tags: inputs.tags });
    report.add('Resource group', name, 'created', inputs.region!);
    return;
  }
  // A group's location only says where its metadata lives; it cannot change and does not matter here.
  const where = inputs.region && group.location !== inputs.region ? `in ${group.location} (not ${inputs.region}; a group's location cannot change and only holds metadata)` : `in ${group.location}`;
  const drift = tagDrift(group.tags, inputs.tags);
  if (!drift.length) return report.add('Resource group', name, 'unchanged', where);
  if (!inputs.enforceSettings) return report.add('Resource group', name, 'drifted', describeDrift(drift));
  await clients.resources.resourceGroups.update(name, { tags: { ...group.tags, ...inputs.tags } });
  report.add('Resource group', name, 'fixed', describeDrift(drift));
}

async function reconcileAccount(clients: ArmClients, inputs: Inputs, report: Report, account: StorageAccount): Promise<StorageAccount> {
  const name = inputs.storageAccount;
  if (account.provisioningState && account.provisioningState !== 'Succeeded') {
    throw new GuidedError(
      `Storage account "${name}" is ${account.provisioningState}, not ready yet.`,
      'An earlier run may still be creating it: wait a minute and re-run this step (re-running is safe).',
    );
  }
  const drift = accountDrift(account, inputs.tags);
  // Location is fixed at creation; a different `region` is worth a note, not a failure or a fix.
  const where = inputs.region && account.location !== inputs.region ? `${account.location} (not ${inputs.region}; an account cannot move)` : account.location;
  if (!drift.length) {
    report.add('Storage account', name, 'unchanged', `${account.kind}, ${account.sku?.name ?? 'sku unknown'}, ${where}`);
    return account;
  }
  if (!inputs.enforceSettings) {
    report.add('Storage account', name, 'drifted', describeDrift(drift));
    return account;
  }
  const fixed = await clients.storage.storageAccounts.update(inputs.resourceGroup!, name, accountFix(account, drift, inputs.tags));
  report.add('Storage account', name, 'fixed', describeDrift(drift));
  return fixed;
}

async function ensureBlobService(clients: ArmClients, inputs: Inputs, report: Report): Promise<void> {
  const rgName = inputs.resourceGroup!;
  const name = inputs.storageAccount;
  const newAccount = report.rows.some((row) => row.resource === 'Storage account' && row.outcome === 'created');
  const service = await getOrUndefined(() => clients.storage.blobServices.getServiceProperties(rgName, name));
  const drift = blobServiceDrift(service, inputs.retentionDays);
  const resource = 'Blob service';
  const label = `${name}/default`;
  if (!drift.length) return report.add(resource, label, 'unchanged', `versioning on; soft delete ≥ ${inputs.retentionDays} days`);
  // A brand-new account gets the settings as part of its creation, not as a fix of someone's choice.
  if (!newAccount && !inputs.enforceSettings) return report.add(resource, label, 'drifted', describeDrift(drift));
  await clients.storage.blobServices.setServiceProperties(rgName, name, blobServiceFix(inputs.retentionDays));
  const settings = `versioning on; soft delete of blobs and containers ${inputs.retentionDays} days`;
  report.add(resource, label, newAccount ? 'created' : 'fixed', newAccount ? settings : describeDrift(drift));
}
