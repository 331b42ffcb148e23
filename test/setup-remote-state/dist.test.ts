import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { defaultResourceGroupName, defaultStorageAccountName } from '../../src/lib/remote-state-names.js';
import { registerArmStorage } from '../support/arm-storage.js';
import { AzureStandIn, TEST_IDS } from '../support/azure-stand-in.js';
import { AZURITE_KEY, startAzurite, type Azurite } from '../support/azurite.js';
import { runDist } from '../support/run-dist.js';

// The built bundle (dist/setup-remote-state/index.js, `npm run bundle setup-remote-state`) run as a
// runner runs it: INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

describe('dist/setup-remote-state as a runner runs it', () => {
  let azurite: Azurite;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('against Azurite with a connection string: outputs, summary, backend file, and no key anywhere', async () => {
    const result = await runDist('setup-remote-state', {
      inputs: { identifier: 'local', environment: 'dev', auth: 'connection-string', 'connection-string': azurite.connectionString, container: 'tfstate-dist' },
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const backendFile = path.join(result.workDir, 'backend-dev.hcl');
    expect(result.outputs).toEqual({
      'backend-config-file': backendFile,
      'resource-group': '',
      'storage-account': 'devstoreaccount1',
      container: 'tfstate-dist',
      'state-key': 'bakery/dev.tfstate',
      'blob-endpoint': azurite.blobEndpoint,
    });
    expect(result.summary).toContain('### Remote state for bakery/dev');
    expect(result.summary).toMatch(/\| Container \| `tfstate-dist` \| created \|/);
    expect(readFileSync(backendFile, 'utf8')).toMatch(/^storage_account_name = "devstoreaccount1"$/m);
    expect(await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('tfstate-dist').exists()).toBe(true);

    // The runner is told to mask the key; nothing else we wrote carries it.
    expect(result.stdout).toContain(`::add-mask::${AZURITE_KEY}`);
    const shown = result.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n');
    const written = filesUnder(result.workDir).map((file) => readFileSync(file, 'utf8'));
    for (const text of [shown, result.stderr, JSON.stringify(result.outputs), result.summary, ...written]) {
      expect(text).not.toContain(AZURITE_KEY);
      expect(text).not.toContain(azurite.connectionString);
      expect(text).not.toContain('AccountKey=');
    }

    const second = await runDist('setup-remote-state', {
      cwd: result.workDir,
      inputs: { identifier: 'local', environment: 'dev', auth: 'connection-string', 'connection-string': azurite.connectionString, container: 'tfstate-dist' },
    });
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('Nothing changed');
  });

  it('fails fast with the input named, and exit code 1, when a required input is missing', async () => {
    const result = await runDist('setup-remote-state', { inputs: { environment: 'dev' } });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('::error::setup-remote-state: Input "identifier" is required but empty.');
    // No stack trace for a user mistake.
    expect(result.stdout).not.toMatch(/\bat .*\.js:\d+/);
    expect(result.durationMs).toBeLessThan(3000);
  });

  it('against the ARM stand-in with GitHub OIDC: the lazily loaded SDK chunks work in the bundle', async () => {
    const oauthAzurite = await startAzurite({ oauth: true });
    const standIn = await new AzureStandIn().start();
    try {
      // createPolls 0: one 202, then the final answer (the bundle polls at the SDK's 2 s default).
      const arm = registerArmStorage(standIn, { blobEndpoint: oauthAzurite.blobEndpoint, createPolls: 0 });
      const result = await runDist('setup-remote-state', {
        inputs: { identifier: 'contoso1', environment: 'prod', region: 'westeurope', container: 'tfstate' },
        env: standIn.authEnv('oidc'),
      });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(result.outputs).toMatchObject({
        'resource-group': defaultResourceGroupName('contoso1'),
        'storage-account': defaultStorageAccountName('contoso1'),
        'state-key': 'bakery/prod.tfstate',
      });
      expect(arm.account(defaultStorageAccountName('contoso1'))).toBeDefined();
      expect(readFileSync(result.outputs['backend-config-file']!, 'utf8')).toMatch(/^use_oidc\s+= true$/m);
      expect(result.summary).toMatch(/\| Storage account \| .* \| created \|/);
      expect([...standIn.issuedTokens.values()].every((token) => token.method === 'assertion' && token.clientId === TEST_IDS.clientId)).toBe(true);
    } finally {
      await standIn.stop();
      await oauthAzurite.stop();
    }
  });
});
