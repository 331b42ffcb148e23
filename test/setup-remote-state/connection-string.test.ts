import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { ConfigurationError, GuidedError } from '../../src/lib/errors.js';
import { run } from '../../src/setup-remote-state/main.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../support/azurite.js';
import { runInProcess } from '../support/in-process.js';

// auth: connection-string — the account exists (here: Azurite's), no ARM call; only the container.

let azurite: Azurite;
let workDir: string;
let container: string;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});
beforeEach(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'remote-state-cs-'));
  container = `tfstate-${randomUUID().slice(0, 8)}`;
});

function runWith(inputs: Record<string, string> = {}, connectionString = azurite.connectionString) {
  return runInProcess(() => run(), {
    workDir,
    inputs: {
      identifier: 'local',
      environment: 'dev',
      auth: 'connection-string',
      'connection-string': connectionString,
      container,
      'working-directory': workDir,
      ...inputs,
    },
  });
}

function containerClient(name = container) {
  return BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name);
}

function everythingWritten(result: Awaited<ReturnType<typeof runWith>>): string {
  const files = readdirSync(workDir).map((name) => readFileSync(path.join(workDir, name), 'utf8'));
  return [result.log, result.summary, JSON.stringify(result.outputs), String(result.error ?? ''), ...files].join('\n');
}

describe('setup-remote-state with auth: connection-string (Azurite)', () => {
  it('creates the container, writes a key-less backend file and sets the outputs', async () => {
    const result = await runWith();
    expect(result.error).toBeUndefined();
    expect(await containerClient().exists()).toBe(true);
    expect(result.outputs).toEqual({
      'backend-config-file': path.join(workDir, 'backend-dev.hcl'),
      'resource-group': '',
      'storage-account': AZURITE_ACCOUNT,
      container,
      'state-key': 'bakery/dev.tfstate',
      'blob-endpoint': azurite.blobEndpoint,
    });
    const backend = readFileSync(path.join(workDir, 'backend-dev.hcl'), 'utf8');
    expect(backend).toMatch(/^storage_account_name = "devstoreaccount1"$/m);
    expect(backend).toMatch(new RegExp(`^container_name\\s+= "${container}"$`, 'm'));
    expect(backend).toMatch(/^key\s+= "bakery\/dev.tfstate"$/m);
    expect(backend).toContain('ARM_ACCESS_KEY');
    expect(backend).not.toMatch(/use_azuread_auth|use_oidc|resource_group_name|access_key\s*=/);
    expect(result.summary).toMatch(new RegExp(`\\| Container \\| \`${container}\` \\| created \\|`));
    expect(result.summary).not.toMatch(/Resource group|Storage account/);
    expect(result.log).toContain('holds no key: give Terraform ARM_ACCESS_KEY');
  });

  it('never shows the connection string or its AccountKey: masked, and absent from log, outputs, summary and files', async () => {
    const result = await runWith();
    expect(result.masked).toContain(azurite.connectionString);
    expect(result.masked).toContain(AZURITE_KEY);
    const written = everythingWritten(result);
    expect(written).not.toContain(AZURITE_KEY);
    expect(written).not.toContain('AccountKey=');
  });

  it('changes nothing on a second run and says "Nothing changed"', async () => {
    expect((await runWith()).error).toBeUndefined();
    const second = await runWith();
    expect(second.error).toBeUndefined();
    expect(second.summary).toContain('Nothing changed');
    expect(second.summary).toMatch(new RegExp(`\\| Container \\| \`${container}\` \\| unchanged \\|`));
    expect(second.summary).toMatch(/\| Backend config \| `backend-dev.hcl` \| unchanged \|/);
  });

  it('reports the state blob: its size, and a lock held by a running Terraform', async () => {
    await containerClient().create();
    const blob = containerClient().getBlockBlobClient('bakery/dev.tfstate');
    await blob.upload('{"version":4}', 13);
    await blob.getBlobLeaseClient().acquireLease(60);
    const result = await runWith();
    expect(result.error).toBeUndefined();
    expect(result.summary).toMatch(/\| State \| `bakery\/dev.tfstate` \| unchanged \| exists, 13 bytes, last written .*; locked/);
  });

  it('read-only: a missing container fails, names the step that creates it, and creates nothing', async () => {
    const result = await runWith({ 'read-only': 'true' });
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toContain(`Container "${container}" does not exist in storage account "devstoreaccount1"`);
    expect((result.error as Error).message).toContain('created by setup-remote-state without read-only');
    expect(await containerClient().exists()).toBe(false);
    expect(result.summary).toContain('failed');
  });

  it('read-only: an existing container passes', async () => {
    await containerClient().create();
    const result = await runWith({ 'read-only': 'true' });
    expect(result.error).toBeUndefined();
    expect(result.summary).toContain('Verified (read-only)');
  });

  it('writes a given resource-group and state-key into the backend file', async () => {
    const result = await runWith({ 'resource-group': 'pre-provisioned-rg', 'state-key': 'metaflow/infra/prod.tfstate' });
    expect(result.error).toBeUndefined();
    const backend = readFileSync(result.outputs['backend-config-file']!, 'utf8');
    expect(backend).toMatch(/^resource_group_name\s+= "pre-provisioned-rg"$/m);
    expect(backend).toMatch(/^key\s+= "metaflow\/infra\/prod.tfstate"$/m);
    expect(result.outputs['resource-group']).toBe('pre-provisioned-rg');
  });

  it('refuses a storage-account that is not the connection string\'s account, before touching storage', async () => {
    const result = await runWith({ 'storage-account': 'someotheraccount' });
    expect(result.error).toBeInstanceOf(ConfigurationError);
    expect((result.error as ConfigurationError).input).toBe('storage-account');
    expect((result.error as Error).message).toContain('"devstoreaccount1"');
    expect(await containerClient().exists()).toBe(false);
  });

  it('a wrong key gives guidance, and the wrong key is not shown either', async () => {
    const wrongKey = Buffer.from(randomUUID().repeat(2)).toString('base64');
    const result = await runWith({}, azurite.connectionString.replace(AZURITE_KEY, wrongKey));
    expect(result.error).toBeInstanceOf(GuidedError);
    expect((result.error as Error).message).toMatch(/refused the connection string .*\(403/);
    expect(everythingWritten(result)).not.toContain(wrongKey);
  });

  it('works against an HTTPS endpoint too (Azurite in OAuth mode, shared key)', async () => {
    const https = await startAzurite({ oauth: true });
    try {
      const result = await runWith({}, https.connectionString);
      expect(result.error).toBeUndefined();
      expect(result.outputs['blob-endpoint']).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      expect(await BlobServiceClient.fromConnectionString(https.connectionString).getContainerClient(container).exists()).toBe(true);
    } finally {
      await https.stop();
    }
  });
});
