import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { ConfigurationError, GuidedError } from '../../src/lib/errors.js';
import { defaultResourceGroupName, defaultStorageAccountName } from '../../src/lib/remote-state-names.js';
import { run } from '../../src/setup-remote-state/main.js';
import { registerArmStorage, type ArmStorage } from '../support/arm-storage.js';
import { armError, AzureStandIn, TEST_IDS } from '../support/azure-stand-in.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { runInProcess } from '../support/in-process.js';

// The action against the ARM stand-in (resource group, account, blob service) and an Azurite in OAuth
// mode that the stand-in reports as the account's blob endpoint, as Azure reports *.blob.core.windows.net.

const IDENTIFIER = 'contoso1';
const RG = defaultResourceGroupName(IDENTIFIER);
const ACCOUNT = defaultStorageAccountName(IDENTIFIER);
/** Fast polling of long-running operations; the stand-in's Retry-After 0 alone leaves the SDK at 2 s. */
const FAST = { lroPollIntervalMs: 5 };

let azurite: Azurite;
let standIn: AzureStandIn;
let arm: ArmStorage;
let workDir: string;
let container: string;

beforeAll(async () => {
  azurite = await startAzurite({ oauth: true });
});
afterAll(async () => {
  await azurite?.stop();
});
beforeEach(async () => {
  standIn = await new AzureStandIn().start();
  arm = registerArmStorage(standIn, { blobEndpoint: azurite.blobEndpoint });
  workDir = mkdtempSync(path.join(tmpdir(), 'remote-state-arm-'));
  // Azurite has one account for every ARM account name: a container per test keeps tests apart.
  container = `tfstate-${randomUUID().slice(0, 8)}`;
});
afterEach(async () => {
  await standIn.stop();
});

function runAction(method: 'client-secret' | 'oidc', inputs: Record<string, string> = {}) {
  return runInProcess(() => run(FAST), {
    workDir,
    env: standIn.authEnv(method),
    inputs: { identifier: IDENTIFIER, environment: 'dev', region: 'westeurope', container, 'working-directory': workDir, ...inputs },
  });
}

function azuriteContainerExists(name: string): Promise<boolean> {
  return BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name).exists();
}

describe('setup-remote-state against Azure Resource Manager', () => {
  it('creates the resource group, a hardened account through a long-running operation, blob settings and the container (client secret)', async () => {
    const result = await runAction('client-secret', { tags: 'team=data\ncost-center=42' });
    expect(result.error).toBeUndefined();

    const groupPut = standIn.armRequests('PUT', `/resourcegroups/${RG}`);
    expect(groupPut).toHaveLength(1);
    expect(groupPut[0]!.body).toMatchObject({ location: 'westeurope', tags: { team: 'data', 'cost-center': '42', 'managed-by': 'azure-bakery-actions' } });

    const accountPut = standIn.armRequests('PUT').filter((r) => r.path.endsWith(`/storageAccounts/${ACCOUNT}`));
    expect(accountPut).toHaveLength(1);
    expect(accountPut[0]!.body).toMatchObject({
      kind: 'StorageV2',
      location: 'westeurope',
      sku: { name: 'Standard_LRS' },
      properties: { minimumTlsVersion: 'TLS1_2', supportsHttpsTrafficOnly: true, allowBlobPublicAccess: false, allowSharedKeyAccess: false },
    });
    // The name was checked before anything was created.
    const checkIndex = standIn.requests.findIndex((r) => r.path.endsWith('/checkNameAvailability'));
    const firstPut = standIn.requests.findIndex((r) => r.method === 'PUT');
    expect(checkIndex).toBeGreaterThan(-1);
    expect(checkIndex).toBeLessThan(firstPut);
    // 202 + Location, polled (202 once more) until the final 200.
    const polls = standIn.requests.filter((r) => r.path.startsWith('/__operations/'));
    expect(polls.length).toBe(2);

    const service = standIn.armRequests('PUT', '/blobServices/default');
    expect(service[0]!.body).toEqual({
      properties: { isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true, days: 30 }, containerDeleteRetentionPolicy: { enabled: true, days: 30 } },
    });
    expect(await azuriteContainerExists(container)).toBe(true);

    // Every ARM call carried a token issued for the ARM endpoint's scope (not the public cloud's).
    const scopes = new Set([...standIn.issuedTokens.values()].map((t) => t.scope));
    expect(scopes).toContain(`${standIn.url}/.default`);
    expect(scopes).not.toContain('https://management.azure.com/.default');

    expect(result.outputs).toMatchObject({
      'resource-group': RG,
      'storage-account': ACCOUNT,
      container,
      'state-key': 'bakery/dev.tfstate',
      'backend-config-file': path.join(workDir, 'backend-dev.hcl'),
      'blob-endpoint': `${azurite.blobEndpoint}/`,
    });
    const backend = readFileSync(result.outputs['backend-config-file']!, 'utf8');
    expect(backend).toContain(`resource_group_name  = "${RG}"`);
    expect(backend).toContain(`storage_account_name = "${ACCOUNT}"`);
    expect(backend).toContain('use_azuread_auth     = true');
    expect(backend).not.toContain('use_oidc');
    expect(backend).not.toContain(TEST_IDS.clientSecret);
    expect(result.masked).toContain(TEST_IDS.clientSecret);
    expect(result.log).not.toContain(TEST_IDS.clientSecret);

    expect(result.summary).toMatch(/\| Resource group \| `contoso1-bakery-remote-state-rg` \| created \|/);
    expect(result.summary).toMatch(/\| Storage account \| `contoso1tfstate[0-9a-f]{6}` \| created \|/);
    expect(result.summary).toMatch(/\| Blob service \| .* \| created \|/);
    expect(result.summary).toMatch(new RegExp(`\\| Container \\| \`${container}\` \\| created \\|`));
    expect(result.summary).toContain('not written yet');
  });

  it('signs in with GitHub OIDC (federated client assertion) and writes use_oidc', async () => {
    const result = await runAction('oidc');
    expect(result.error).toBeUndefined();
    expect([...standIn.issuedTokens.values()].every((t) => t.method === 'assertion')).toBe(true);
    expect([...standIn.githubTokens.values()]).toContain('api://AzureADTokenExchange');
    const backend = readFileSync(result.outputs['backend-config-file']!, 'utf8');
    expect(backend).toMatch(/^use_oidc\s+= true$/m);
    expect(backend).toMatch(/^use_azuread_auth\s+= true$/m);
  });

  it('changes nothing on a second run with the same inputs, and says so', async () => {
    expect((await runAction('client-secret')).error).toBeUndefined();
    const writesBefore = standIn.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/subscriptions')).length;
    const second = await runAction('client-secret');
    expect(second.error).toBeUndefined();
    const writes = standIn.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/subscriptions'));
    // Only the name check is not a GET, and it is skipped when the account exists: no write at all.
    expect(writes.length).toBe(writesBefore);
    expect(second.summary).toContain('Nothing changed');
    expect(second.stdout).toContain('Nothing changed');
    expect(second.summary).not.toMatch(/\| (created|fixed) \|/);
    expect(second.summary).toMatch(/\| Backend config \| .* \| unchanged \|/);
  });

  it('stops with a ConfigurationError naming storage-account, before creating anything, when the name is taken elsewhere', async () => {
    arm.takenElsewhere.add(ACCOUNT);
    const result = await runAction('client-secret');
    expect(result.error).toBeInstanceOf(ConfigurationError);
    expect((result.error as ConfigurationError).input).toBe('storage-account');
    expect((result.error as Error).message).toContain(ACCOUNT);
    expect((result.error as Error).message).toMatch(/Set "storage-account"/);
    expect(standIn.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
    expect(arm.resourceGroups.size).toBe(0);
  });

  it('a parallel job that created the account between the look and the name check is not a "name taken"', async () => {
    arm.seedResourceGroup(RG, 'westeurope', { 'managed-by': 'azure-bakery-actions' });
    arm.seedAccount(RG, ACCOUNT, {
      kind: 'StorageV2',
      tags: { 'managed-by': 'azure-bakery-actions' },
      properties: { minimumTlsVersion: 'TLS1_2', supportsHttpsTrafficOnly: true, allowSharedKeyAccess: false },
    });
    // The first look finds no account (the other job's creation had not finished); then it exists.
    arm.failNext('GET', `/storageAccounts/${ACCOUNT}`, armError(404, 'ResourceNotFound', `The Resource 'Microsoft.Storage/storageAccounts/${ACCOUNT}' under resource group '${RG}' was not found.`));
    const result = await runAction('client-secret', { region: 'eastus' });
    expect(result.error).toBeUndefined();
    expect(standIn.armRequests('POST', '/checkNameAvailability')).toHaveLength(1);
    expect(standIn.armRequests('PUT').filter((r) => r.path.endsWith(ACCOUNT))).toHaveLength(0);
    expect(result.summary).toMatch(/\| Storage account \| .* \| unchanged \| StorageV2, Standard_GRS, eastus2\(stage\) \(not eastus; an account cannot move\) \|/);
  });

  it('reports a drifted existing account without changing it', async () => {
    arm.seedResourceGroup(RG, 'westeurope', { 'managed-by': 'azure-bakery-actions' });
    // The GetProperties example: HTTPS-only off, no minimum TLS, shared keys allowed; blob service without container soft delete.
    arm.seedAccount(RG, ACCOUNT);
    const result = await runAction('client-secret');
    expect(result.error).toBeUndefined();
    expect(standIn.armRequests('PATCH')).toHaveLength(0);
    expect(standIn.armRequests('PUT')).toHaveLength(0);
    expect(result.summary).toMatch(/\| Storage account \| .* \| drifted \| .*minimumTlsVersion is unset \(TLS1_0\), wanted TLS1_2/);
    expect(result.summary).toMatch(/supportsHttpsTrafficOnly is false, wanted true/);
    expect(result.summary).toMatch(/allowSharedKeyAccess is unset \(true\), wanted false/);
    expect(result.summary).toMatch(/kind is Storage, wanted StorageV2/);
    expect(result.summary).toMatch(/\| Blob service \| .* \| drifted \| container soft delete is off/);
    expect(result.stdout).toMatch(/::warning::Storage account .*enforce-settings: true/);
    expect(arm.account(ACCOUNT)!.body.properties).toMatchObject({ supportsHttpsTrafficOnly: false });
  });

  it('fixes the drift with enforce-settings: true (PATCH of only what differs, tags merged)', async () => {
    arm.seedResourceGroup(RG, 'westeurope', { owner: 'platform' });
    arm.seedAccount(RG, ACCOUNT, { tags: { owner: 'platform' } });
    const result = await runAction('client-secret', { 'enforce-settings': 'true' });
    expect(result.error).toBeUndefined();
    const patch = standIn.armRequests('PATCH', `/storageAccounts/${ACCOUNT}`);
    expect(patch).toHaveLength(1);
    expect(patch[0]!.body).toEqual({
      kind: 'StorageV2',
      // The upgrade from general-purpose v1 needs an access tier.
      properties: { accessTier: 'Hot', minimumTlsVersion: 'TLS1_2', supportsHttpsTrafficOnly: true, allowSharedKeyAccess: false },
      tags: { owner: 'platform', 'managed-by': 'azure-bakery-actions' },
    });
    expect(standIn.armRequests('PATCH', `/resourcegroups/${RG}`)[0]!.body).toEqual({ tags: { owner: 'platform', 'managed-by': 'azure-bakery-actions' } });
    // The example's blob retention (300 days) is longer than wanted and kept; only container soft delete was missing.
    expect(result.summary).toMatch(/\| Blob service \| .* \| fixed \| container soft delete is off, wanted 30 days \|/);
    expect(result.summary).toMatch(/\| Storage account \| .* \| fixed \|/);
    expect(arm.account(ACCOUNT)!.body).toMatchObject({ kind: 'StorageV2', properties: { allowSharedKeyAccess: false, minimumTlsVersion: 'TLS1_2' } });

    const again = await runAction('client-secret', { 'enforce-settings': 'true' });
    expect(again.error).toBeUndefined();
    expect(again.summary).toContain('Nothing changed');
  });

  it('read-only: verifies without writing, and a missing container names the step that creates it', async () => {
    arm.seedResourceGroup(RG, 'westeurope', { 'managed-by': 'azure-bakery-actions' });
    arm.seedAccount(RG, ACCOUNT, {
      kind: 'StorageV2',
      tags: { 'managed-by': 'azure-bakery-actions' },
      properties: { minimumTlsVersion: 'TLS1_2', supportsHttpsTrafficOnly: true, allowSharedKeyAccess: false },
    });
    const result = await runAction('client-secret', { 'read-only': 'true', region: '' });
    expect(result.error).toBeInstanceOf(GuidedError);
    const message = (result.error as Error).message;
    expect(message).toContain(`Container "${container}" does not exist`);
    expect(message).toMatch(/created by setup-remote-state without read-only/);
    expect(message).toMatch(/Re-running this step with the same inputs is safe/);
    expect(standIn.armRequests().filter((r) => r.method !== 'GET')).toHaveLength(0);
    expect(await azuriteContainerExists(container)).toBe(false);
    expect(result.outputs).toEqual({});
  });

  it('read-only: a missing resource group fails without creating anything', async () => {
    const result = await runAction('client-secret', { 'read-only': 'true' });
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toContain(`Resource group "${RG}" does not exist`);
    expect(standIn.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/subscriptions'))).toHaveLength(0);
  });

  it('a failure halfway says what exists and that re-running is safe; a re-run completes it', async () => {
    // Not retried by the SDK (unlike a 500), so the run fails at once after the account was made.
    arm.failNext('PUT', '/blobServices/default', armError(409, 'StorageAccountOperationInProgress', 'An operation is currently performing on this storage account that requires exclusive access.'));
    const failed = await runAction('client-secret');
    expect(failed.error).toBeInstanceOf(GuidedError);
    const message = (failed.error as Error).message;
    expect(message).toContain('StorageAccountOperationInProgress');
    expect(message).toContain(`Already in place: Resource group ${RG} (created), Storage account ${ACCOUNT} (created)`);
    expect(message).toContain('Re-running this step with the same inputs is safe');
    expect(failed.summary).toContain('failed');
    expect(failed.outputs).toEqual({});

    // Without enforce-settings the half-made account's missing blob settings are reported, not applied...
    const rerun = await runAction('client-secret');
    expect(rerun.error).toBeUndefined();
    expect(rerun.summary).toMatch(/\| Resource group \| .* \| unchanged \|/);
    expect(rerun.summary).toMatch(/\| Storage account \| .* \| unchanged \|/);
    expect(rerun.summary).toMatch(/\| Blob service \| .* \| drifted \| blob versioning is off/);
    // ...and the failure message said how to finish them.
    expect(message).toContain('enforce-settings: true');
    const finish = await runAction('client-secret', { 'enforce-settings': 'true' });
    expect(finish.error).toBeUndefined();
    expect(finish.summary).toMatch(/\| Blob service \| .* \| fixed \|/);
    expect(arm.account(ACCOUNT)!.blobService.properties).toMatchObject({ isVersioningEnabled: true, containerDeleteRetentionPolicy: { enabled: true, days: 30 } });
  });

  it('turns a 403 from ARM into guidance naming the role', async () => {
    arm.failNext(
      'PUT',
      `/resourcegroups/${RG}`,
      armError(
        403,
        'AuthorizationFailed',
        `The client '${TEST_IDS.clientId}' with object id '${randomUUID()}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourcegroups/write' over scope '/subscriptions/${TEST_IDS.subscriptionId}/resourcegroups/${RG}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      ),
    );
    const result = await runAction('client-secret');
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toMatch(/Azure refused creating or updating resource group .* \(403 AuthorizationFailed\)/);
    expect((result.error as Error).message).toContain(`client id ${TEST_IDS.clientId} the Contributor role`);
  });

  it('a wrong client secret gives guidance about the credential, not a stack', async () => {
    const env = standIn.authEnv('client-secret');
    env['INPUT_CLIENT-SECRET'] = 'not-the-secret';
    const result = await runInProcess(() => run(FAST), {
      workDir,
      env,
      inputs: { identifier: IDENTIFIER, environment: 'dev', region: 'westeurope', container, 'working-directory': workDir },
    });
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toMatch(/Could not get an Azure token \(auth: client-secret\)/);
    expect((result.error as Error).message).toMatch(/client secret has not expired/);
    expect(result.masked).toContain('not-the-secret');
    expect(result.log).not.toContain('not-the-secret');
  });
});
