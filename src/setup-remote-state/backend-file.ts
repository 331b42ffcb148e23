import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AuthMethod } from '../lib/azure-auth.js';
import { PUBLIC_CLOUD, cloudOfArmEndpoint } from '../lib/azure-clouds.js';
import { scrub } from '../lib/mask.js';
import { workspaceRoot } from '../lib/runner-env.js';
import type { Outcome } from './report.js';

/**
 * The partial configuration of Terraform's azurerm backend (`terraform init -backend-config=<file>`).
 * It holds names only: under Entra ID auth Terraform needs no key, and under a connection string the
 * key must reach Terraform through its environment, never through a file that could be committed or
 * uploaded as an artifact.
 */
export interface BackendValues {
  method: AuthMethod;
  armEndpoint: string;
  subscriptionId?: string;
  resourceGroup?: string;
  storageAccount: string;
  container: string;
  stateKey: string;
}

/** An HCL quoted string: escapes, and `${`/`%{` doubled so Terraform reads them literally. */
export function hclString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(/\$\{/g, '$${')
    .replace(/%\{/g, '%%{');
  return `"${escaped}"`;
}

function assignments(entries: [string, string | boolean][]): string[] {
  const width = Math.max(...entries.map(([name]) => name.length));
  return entries.map(([name, value]) => `${name.padEnd(width)} = ${typeof value === 'boolean' ? String(value) : hclString(value)}`);
}

export function renderBackendConfig(values: BackendValues): string {
  const entries: [string, string | boolean][] = [];
  if (values.subscriptionId) entries.push(['subscription_id', values.subscriptionId]);
  if (values.resourceGroup) entries.push(['resource_group_name', values.resourceGroup]);
  entries.push(['storage_account_name', values.storageAccount], ['container_name', values.container], ['key', values.stateKey]);
  const cloud = cloudOfArmEndpoint(values.armEndpoint);
  // The public cloud is the backend's default; a sovereign one is named.
  const environment = cloud && cloud !== PUBLIC_CLOUD ? cloud.terraformName : undefined;
  if (environment) entries.push(['environment', environment]);

  const header = ['# Terraform azurerm backend settings, written by the setup-remote-state action.'];
  if (values.method === 'connection-string') {
    header.push(
      '# No key is written here on purpose. Give Terraform the account key through its environment, from a',
      '# secret: ARM_ACCESS_KEY (the AccountKey part of the connection string) or ARM_SAS_TOKEN.',
    );
  } else {
    entries.push(['use_azuread_auth', true]);
    if (values.method === 'oidc') entries.push(['use_oidc', true]);
    header.push(
      '# Entra ID auth: no key. The identity needs "Storage Blob Data Contributor" on the account; Terraform',
      `# reads ARM_CLIENT_ID/ARM_TENANT_ID${values.method === 'oidc' ? ' and the GitHub OIDC token' : values.method === 'client-secret' ? '/ARM_CLIENT_SECRET' : ' and the Azure CLI login'} from its environment.`,
    );
  }
  if (!cloud) {
    header.push(`# ARM endpoint ${values.armEndpoint} is not a cloud Terraform knows by name: set ARM_METADATA_HOSTNAME if needed.`);
  }
  return `${header.join('\n')}\n${assignments(entries).join('\n')}\n`;
}

/** Writes the file unless it already holds exactly this; says which. */
export async function writeBackendConfig(file: string, content: string): Promise<Outcome> {
  const safe = scrub(content);
  const previous = await readFile(file, 'utf8').catch(() => undefined);
  if (previous === safe) return 'unchanged';
  await writeFile(file, safe, 'utf8');
  return previous === undefined ? 'created' : 'written';
}

export function displayPath(file: string): string {
  const relative = path.relative(workspaceRoot(), file);
  return relative && !relative.startsWith('..') ? relative : file;
}
