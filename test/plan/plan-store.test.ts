import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import type { AzureAuth } from '../../src/lib/azure-auth.js';
import { blobEndpointFor, parseBackendConfig, readBackendConfig } from '../../src/lib/backend-config.js';
import { ConfigurationError, GuidedError } from '../../src/lib/errors.js';
import { PLAN_ID_PATTERN, StoredPlanMissingError, fetchPlan, planIdFor, planStoreTarget, storePlan, type PlanStoreTarget } from '../../src/lib/plan-store.js';
import { AzureStandIn, TEST_IDS } from '../support/azure-stand-in.js';
import { startAzurite, type Azurite } from '../support/azurite.js';

const COMMIT = '6dcb09b5b57875f334f61aebed695e2e4193db5e';

let azurite: Azurite;
let work: string;
let container: string;
let target: PlanStoreTarget;

/** A plan file with binary content, as Terraform writes (a zip). */
function planFile(content = randomUUID()): string {
  const file = path.join(work, `tfplan-${randomUUID()}`);
  writeFileSync(file, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0xff]), Buffer.from(content)]));
  return file;
}

function meta(planId: string) {
  return { planId, environment: 'dev', commit: COMMIT, workingDirectory: 'terraform/stacks/bakery', destroy: false, hasChanges: true, counts: { add: 1, change: 0, destroy: 0 } };
}

beforeAll(async () => {
  azurite = await startAzurite();
  work = mkdtempSync(path.join(tmpdir(), 'plan-store-'));
  container = `tfstate-${randomUUID().slice(0, 8)}`;
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(container).create();
  target = { kind: 'connection-string', connectionString: azurite.connectionString, containerName: container };
});
afterAll(async () => {
  await azurite?.stop();
});

describe('plan ids', () => {
  it('are <environment>/<commit>/<slug of the working directory>[--<label>]', () => {
    expect(planIdFor('dev', COMMIT, 'terraform/stacks/bakery')).toBe(`dev/${COMMIT}/terraform-stacks-bakery`);
    expect(planIdFor('dev', COMMIT, './terraform/stacks/metaflow/infra/')).toBe(`dev/${COMMIT}/terraform-stacks-metaflow-infra`);
    expect(planIdFor('prod', COMMIT, '.', 'East US')).toBe(`prod/${COMMIT}/root--east-us`);
    for (const id of [planIdFor('dev', COMMIT, 'a/b'), planIdFor('dev', 'local', '.', 'x')]) expect(id).toMatch(PLAN_ID_PATTERN);
  });
});

describe('stored plans in the state container (Azurite)', () => {
  it('stores the plan, its sha256sum line and meta.json, and fetches back the same bytes', async () => {
    const file = planFile();
    const planId = planIdFor('dev', COMMIT, 'terraform/stacks/bakery');
    const stored = await storePlan(target, file, meta(planId));
    const expectedSha = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(stored).toMatchObject({ planId, sha256: expectedSha, size: readFileSync(file).length });
    expect(stored.location).toBe(`${azurite.blobEndpoint}/${container}/plans/${planId}/`);

    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(container);
    const names: string[] = [];
    for await (const blob of blobs.listBlobsFlat({ prefix: `plans/${planId}/` })) names.push(blob.name);
    expect(names.sort()).toEqual([`plans/${planId}/meta.json`, `plans/${planId}/tfplan`, `plans/${planId}/tfplan.sha256`]);
    expect((await blobs.getBlockBlobClient(`plans/${planId}/tfplan.sha256`).downloadToBuffer()).toString()).toBe(`${expectedSha}  tfplan\n`);

    const dest = path.join(work, 'fetched', 'tfplan');
    const fetched = await fetchPlan(target, planId, dest, { expectedSha256: expectedSha });
    expect(readFileSync(dest)).toEqual(readFileSync(file));
    expect(fetched).toMatchObject({ planId, sha256: expectedSha, environment: 'dev', commit: COMMIT, hasChanges: true, counts: { add: 1 } });
  });

  it('refuses a plan that was changed after it was stored, and says to re-plan', async () => {
    const planId = planIdFor('dev', COMMIT, 'tampered');
    await storePlan(target, planFile(), meta(planId));
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(container);
    await blobs.getBlockBlobClient(`plans/${planId}/tfplan`).upload('PK other plan', 13);
    const error = await fetchPlan(target, planId, path.join(work, 'tampered.tfplan')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuidedError);
    expect(error).not.toBeInstanceOf(StoredPlanMissingError);
    expect((error as GuidedError).message).toMatch(/does not match its tfplan\.sha256: expected SHA-256 [0-9a-f]{64}, the file is [0-9a-f]{64}/);
    expect((error as GuidedError).guidance).toContain('Re-plan');
  });

  it('refuses a stored plan that is not the one the caller reviewed', async () => {
    const planId = planIdFor('dev', COMMIT, 'reviewed');
    await storePlan(target, planFile(), meta(planId));
    const error = await fetchPlan(target, planId, path.join(work, 'reviewed.tfplan'), { expectedSha256: 'a'.repeat(64) }).catch((e: unknown) => e);
    expect((error as GuidedError).message).toContain('does not match the SHA-256 that was reviewed');
  });

  it('says to re-plan when there is no stored plan for the id', async () => {
    const error = await fetchPlan(target, `dev/${'0'.repeat(40)}/nothing`, path.join(work, 'missing.tfplan')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoredPlanMissingError);
    expect((error as GuidedError).message).toContain(`No stored plan "dev/${'0'.repeat(40)}/nothing"`);
    expect((error as GuidedError).guidance).toContain('Re-plan');
  });

  it('names setup-remote-state when the state container does not exist', async () => {
    const error = await storePlan({ ...target, containerName: 'no-such-container' }, planFile(), meta('dev/x/y')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuidedError);
    expect((error as GuidedError).guidance).toContain('setup-remote-state');
  });

  it('reaches the account with an Entra ID token when auth is not a connection string', async () => {
    const https = await startAzurite({ oauth: true });
    const standIn = await new AzureStandIn().start();
    try {
      standIn.authEnv('client-secret'); // registers the client secret with the Entra stand-in
      const auth: AzureAuth = { method: 'client-secret', ...TEST_IDS, armEndpoint: standIn.url, authorityHost: standIn.url };
      const backend = readBackendConfigText('storage_account_name = "devstoreaccount1"\ncontainer_name = "tfstate"\nkey = "dev.tfstate"\n');
      const tokenTarget = planStoreTarget(backend, auth, https.blobEndpoint);
      expect(tokenTarget).toMatchObject({ kind: 'token', blobEndpoint: https.blobEndpoint, containerName: 'tfstate' });
      await BlobServiceClient.fromConnectionString(https.connectionString).getContainerClient('tfstate').create();
      const stored = await storePlan(tokenTarget, planFile(), meta(`dev/${COMMIT}/oauth`));
      const fetched = await fetchPlan(tokenTarget, `dev/${COMMIT}/oauth`, path.join(work, 'oauth.tfplan'));
      expect(fetched.sha256).toBe(stored.sha256);
      expect([...standIn.issuedTokens.values()].some((token) => token.scope === 'https://storage.azure.com/.default')).toBe(true);
    } finally {
      await Promise.all([https.stop(), standIn.stop()]);
    }
  });
});

function readBackendConfigText(text: string) {
  const file = path.join(work, `backend-${randomUUID()}.hcl`);
  writeFileSync(file, text);
  return readBackendConfig(file);
}

describe('backend config files', () => {
  it('reads what setup-remote-state writes: strings with HCL escapes, booleans, comments', () => {
    const config = readBackendConfigText(
      [
        '# Terraform azurerm backend settings, written by the setup-remote-state action.',
        'subscription_id      = "00000000-0000-0000-0000-000000000000"',
        'resource_group_name  = "contoso1-bakery-remote-state-rg"',
        'storage_account_name = "contoso1bakerystate"',
        'container_name       = "tfstate"',
        'key                  = "bakery/$${env}.tfstate" // a literal ${env}',
        'use_azuread_auth     = true',
        'use_oidc             = true',
        'environment          = "usgovernment"',
      ].join('\n'),
    );
    expect(config).toMatchObject({ resource_group_name: 'contoso1-bakery-remote-state-rg', storage_account_name: 'contoso1bakerystate', container_name: 'tfstate', key: 'bakery/${env}.tfstate', use_azuread_auth: true, use_oidc: true });
    expect(config.attributes.subscription_id).toBe('00000000-0000-0000-0000-000000000000');
    expect(blobEndpointFor(config)).toBe('https://contoso1bakerystate.blob.core.usgovcloudapi.net');
  });

  it('names the input and the problem for a missing file, a bad line or a missing setting', () => {
    expect(() => readBackendConfig(path.join(work, 'nope.hcl'))).toThrow(ConfigurationError);
    expect(() => readBackendConfig(path.join(work, 'nope.hcl'))).toThrow(/Input "backend-config-file" is ".*nope\.hcl", which cannot be read/);
    expect(() => readBackendConfigText('storage_account_name = "a"\ncontainer_name = "b"\n')).toThrow(/sets no key/);
    expect(() => readBackendConfigText('storage_account_name = "a"\nthis is not hcl\n')).toThrow(/line 2 is not a "name = value" attribute/);
    expect(() => parseBackendConfig('key = var.x')).toThrow(/not a string, number or boolean/);
  });
});
