import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from '@cdktf/hcl2json';
import { parseBackendConfig } from '../../src/lib/backend-config.js';
import { registerSecret, resetSecretsForTesting } from '../../src/lib/mask.js';
import { hclString, renderBackendConfig, writeBackendConfig, type BackendValues } from '../../src/setup-remote-state/backend-file.js';

const BASE: BackendValues = {
  method: 'oidc',
  armEndpoint: 'https://management.azure.com',
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'contoso1-bakery-remote-state-rg',
  storageAccount: 'contoso1tfstate81a10b',
  container: 'tfstate',
  stateKey: 'bakery/dev.tfstate',
};

afterEach(() => resetSecretsForTesting());

describe('backend-<environment>.hcl', () => {
  it('is HCL that HashiCorp\'s parser reads to the azurerm backend settings (OIDC)', async () => {
    expect(await parse('backend-dev.hcl', renderBackendConfig(BASE))).toEqual({
      subscription_id: '00000000-0000-0000-0000-000000000000',
      resource_group_name: 'contoso1-bakery-remote-state-rg',
      storage_account_name: 'contoso1tfstate81a10b',
      container_name: 'tfstate',
      key: 'bakery/dev.tfstate',
      use_azuread_auth: true,
      use_oidc: true,
    });
  });

  it('is what plan, deploy and destroy read back (src/lib/backend-config.ts)', () => {
    expect(parseBackendConfig(renderBackendConfig(BASE))).toMatchObject({ storage_account_name: BASE.storageAccount, key: BASE.stateKey, use_oidc: true });
  });

  it('client-secret and azure-cli: Entra ID auth without use_oidc', async () => {
    for (const method of ['client-secret', 'azure-cli'] as const) {
      const parsed = await parse('b.hcl', renderBackendConfig({ ...BASE, method }));
      expect(parsed).toMatchObject({ use_azuread_auth: true });
      expect(parsed).not.toHaveProperty('use_oidc');
    }
  });

  it('connection-string: names only, no auth settings, and the comment says where the key goes', async () => {
    const text = renderBackendConfig({ method: 'connection-string', armEndpoint: 'https://management.azure.com', storageAccount: 'devstoreaccount1', container: 'tfstate', stateKey: 'bakery/dev.tfstate' });
    expect(await parse('b.hcl', text)).toEqual({ storage_account_name: 'devstoreaccount1', container_name: 'tfstate', key: 'bakery/dev.tfstate' });
    expect(text).toMatch(/^# .*ARM_ACCESS_KEY/m);
  });

  it('names the sovereign cloud for Terraform', async () => {
    expect(await parse('b.hcl', renderBackendConfig({ ...BASE, armEndpoint: 'https://management.usgovcloudapi.net' }))).toMatchObject({ environment: 'usgovernment' });
    expect(await parse('b.hcl', renderBackendConfig({ ...BASE, armEndpoint: 'https://management.chinacloudapi.cn' }))).toMatchObject({ environment: 'china' });
    expect(await parse('b.hcl', renderBackendConfig(BASE))).not.toHaveProperty('environment');
  });

  it('quotes strings so HCL reads them back literally', async () => {
    const tricky = 'a"b\\c ${var.x} %{if} \n';
    // HashiCorp's parser reads it as one string (not an interpolation of var.x, which would fail here).
    const parsed = (await parse('b.hcl', `v = ${hclString(tricky)}\n`)) as { v: string };
    expect(parsed.v).toMatch(/^a"b\\c \$?\$\{var\.x\} %?%\{if\} \n$/);
    expect(parseBackendConfig(`key = ${hclString(tricky)}`).key).toBe(tricky);
  });

  it('writes once, then reports the file unchanged; different content is rewritten; secrets are scrubbed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'backend-file-'));
    const file = path.join(dir, 'backend-dev.hcl');
    const text = renderBackendConfig(BASE);
    expect(await writeBackendConfig(file, text)).toBe('created');
    expect(await writeBackendConfig(file, text)).toBe('unchanged');
    writeFileSync(file, 'old');
    expect(await writeBackendConfig(file, text)).toBe('written');
    expect(readFileSync(file, 'utf8')).toBe(text);
    registerSecret('sup3r-secret-value');
    await writeBackendConfig(file, `${text}# sup3r-secret-value\n`);
    expect(readFileSync(file, 'utf8')).not.toContain('sup3r-secret-value');
  });
});
