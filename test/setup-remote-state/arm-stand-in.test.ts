import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientSecretCredential } from '@azure/identity';
import { ResourceManagementClient } from '@azure/arm-resources';
import { StorageManagementClient } from '@azure/arm-storage';
import { registerArmStorage, type ArmStorage } from '../support/arm-storage.js';
import { AzureStandIn, TEST_IDS, loadArmFixture } from '../support/azure-stand-in.js';

// The ARM storage stand-in itself, driven by the real SDKs: it must answer like ARM (shapes from the
// official examples, ARM's error codes, long-running operations) or the action tests prove nothing.

let standIn: AzureStandIn;
let arm: ArmStorage;
let resources: ResourceManagementClient;
let storage: StorageManagementClient;
let credential: ClientSecretCredential;

beforeAll(async () => {
  standIn = await new AzureStandIn().start();
  arm = registerArmStorage(standIn, { createPolls: 2 });
  standIn.clientSecrets.set(TEST_IDS.clientId, TEST_IDS.clientSecret);
  credential = new ClientSecretCredential(TEST_IDS.tenantId, TEST_IDS.clientId, TEST_IDS.clientSecret, { authorityHost: standIn.url, disableInstanceDiscovery: true });
  const options = { endpoint: standIn.url, credentials: { scopes: [`${standIn.url}/.default`] } };
  resources = new ResourceManagementClient(credential, TEST_IDS.subscriptionId, options);
  storage = new StorageManagementClient(credential, TEST_IDS.subscriptionId, options);
});
afterAll(async () => {
  await standIn?.stop();
});

function keysDeep(value: unknown, prefix = ''): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) => [`${prefix}${key}`, ...keysDeep(inner, `${prefix}${key}.`)]);
}

describe('ARM storage stand-in', () => {
  it('creates a resource group (201, then 200) with the example\'s shape', async () => {
    const group = await resources.resourceGroups.createOrUpdate('rg-a', { location: 'westeurope', tags: { a: '1' } });
    expect(group).toMatchObject({ name: 'rg-a', location: 'westeurope', tags: { a: '1' }, properties: { provisioningState: 'Succeeded' } });
    expect(group.id).toBe(`/subscriptions/${TEST_IDS.subscriptionId}/resourceGroups/rg-a`);
    await resources.resourceGroups.createOrUpdate('rg-a', { location: 'westeurope' });
    const statuses = standIn.armRequests('PUT', '/resourcegroups/rg-a').length;
    expect(statuses).toBe(2);
    await expect(resources.resourceGroups.createOrUpdate('rg-a', { location: 'eastus' })).rejects.toMatchObject({ statusCode: 409, code: 'InvalidResourceGroupLocation' });
    await expect(resources.resourceGroups.get('missing-rg')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceGroupNotFound' });
  });

  it('creates an account through 202 + Location polling; the body holds only the example\'s fields', async () => {
    const polls = () => standIn.requests.filter((r) => r.path.startsWith('/__operations/')).length;
    const before = polls();
    const account = await storage.storageAccounts
      .create('rg-a', 'standinacct1', { location: 'westeurope', kind: 'StorageV2', sku: { name: 'Standard_LRS' }, allowSharedKeyAccess: false, minimumTlsVersion: 'TLS1_2' }, { updateIntervalInMs: 1 })
      .pollUntilDone();
    expect(polls() - before).toBe(3);
    expect(account).toMatchObject({ name: 'standinacct1', kind: 'StorageV2', location: 'westeurope', allowSharedKeyAccess: false, minimumTlsVersion: 'TLS1_2', provisioningState: 'Succeeded' });
    expect(account.primaryEndpoints?.blob).toBe('https://standinacct1.blob.core.windows.net/');
    // What the example only echoed from its own request (HNS, SFTP, key policy...) is not invented here.
    expect(account.isHnsEnabled).toBeUndefined();
    expect(account.extendedLocation).toBeUndefined();
    const example = loadArmFixture('Microsoft.Storage/2026-09-01/StorageAccountCreate.json').responses['200']!.body;
    const stored = arm.account('standinacct1')!.body;
    const known = new Set([...keysDeep(example), ...keysDeep({ properties: { allowSharedKeyAccess: false, minimumTlsVersion: 'TLS1_2' } })]);
    expect(keysDeep(stored).filter((key) => !known.has(key))).toEqual([]);
  });

  it('answers name checks as Microsoft.Storage does', async () => {
    expect(await storage.storageAccounts.checkNameAvailability({ name: 'freename123', type: 'Microsoft.Storage/storageAccounts' })).toEqual({ nameAvailable: true });
    arm.takenElsewhere.add('takenname1');
    expect(await storage.storageAccounts.checkNameAvailability({ name: 'takenname1', type: 'Microsoft.Storage/storageAccounts' })).toMatchObject({ nameAvailable: false, reason: 'AlreadyExists' });
    expect(await storage.storageAccounts.checkNameAvailability({ name: 'standinacct1', type: 'Microsoft.Storage/storageAccounts' })).toMatchObject({ nameAvailable: false, reason: 'AlreadyExists' });
    expect(await storage.storageAccounts.checkNameAvailability({ name: 'Bad_Name', type: 'Microsoft.Storage/storageAccounts' })).toMatchObject({ nameAvailable: false, reason: 'AccountNameInvalid' });
    await expect(storage.storageAccounts.create('rg-a', 'takenname1', { location: 'westeurope', kind: 'StorageV2', sku: { name: 'Standard_LRS' } }).pollUntilDone()).rejects.toMatchObject({ statusCode: 409, code: 'StorageAccountAlreadyTaken' });
  });

  it('keeps blob service settings, and patches accounts', async () => {
    const initial = await storage.blobServices.getServiceProperties('rg-a', 'standinacct1');
    expect(initial.isVersioningEnabled).toBeUndefined();
    expect(initial.deleteRetentionPolicy).toMatchObject({ enabled: false });
    await storage.blobServices.setServiceProperties('rg-a', 'standinacct1', { isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true, days: 30 } });
    expect(await storage.blobServices.getServiceProperties('rg-a', 'standinacct1')).toMatchObject({ isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true, days: 30 } });
    const patched = await storage.storageAccounts.update('rg-a', 'standinacct1', { tags: { b: '2' }, allowBlobPublicAccess: false });
    expect(patched).toMatchObject({ tags: { b: '2' }, allowBlobPublicAccess: false, allowSharedKeyAccess: false });
    await expect(storage.storageAccounts.getProperties('rg-a', 'nosuchacct')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('refuses a request without api-version or with an unknown subscription, and one without a token', async () => {
    const token = (await credential.getToken(`${standIn.url}/.default`))!.token;
    const headers = { authorization: `Bearer ${token}` };
    const noVersion = await fetch(`${standIn.url}/subscriptions/${TEST_IDS.subscriptionId}/resourcegroups/rg-a`, { headers });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
    const otherSub = await fetch(`${standIn.url}/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg-a?api-version=2025-04-01`, { headers });
    expect(otherSub.status).toBe(404);
    const anonymous = await fetch(`${standIn.url}/subscriptions/${TEST_IDS.subscriptionId}/resourcegroups/rg-a?api-version=2025-04-01`);
    expect(anonymous.status).toBe(401);
  });

  it('deletes a resource group as a long-running operation, with its accounts', async () => {
    await resources.resourceGroups.delete('rg-a', { updateIntervalInMs: 1 }).pollUntilDone();
    expect(arm.resourceGroups.has('rg-a')).toBe(false);
    expect(arm.account('standinacct1')).toBeUndefined();
  });
});
