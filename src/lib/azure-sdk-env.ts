import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as core from '@actions/core';
import { OIDC_AUDIENCE, type AzureAuth } from './azure-auth.js';
import { registerSecret } from './mask.js';
import { runnerTemp } from './runner-env.js';

/**
 * The environment that the Azure SDKs' DefaultAzureCredential (Python's included, as used by Metaflow,
 * adlfs or prefect-azure in a child process) reads to act as the same identity as this action:
 * - oidc: the GitHub ID token written to a private file as AZURE_FEDERATED_TOKEN_FILE, with
 *   AZURE_CLIENT_ID and AZURE_TENANT_ID — the WorkloadIdentityCredential path;
 * - client-secret: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET — the EnvironmentCredential path;
 * - azure-cli: nothing; the child finds the CLI login itself.
 * GitHub ID tokens live a few minutes: enough for a deploy command, not for a long job. `cleanup()`
 * removes the token file.
 */
export async function azureSdkEnvironment(auth: AzureAuth): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  const env: Record<string, string> = {};
  if (auth.authorityHost) env.AZURE_AUTHORITY_HOST = auth.authorityHost;
  if (auth.method === 'client-secret') {
    Object.assign(env, { AZURE_CLIENT_ID: auth.clientId!, AZURE_TENANT_ID: auth.tenantId!, AZURE_CLIENT_SECRET: auth.clientSecret! });
    return { env, cleanup: async () => {} };
  }
  if (auth.method !== 'oidc') return { env, cleanup: async () => {} };
  const token = await core.getIDToken(OIDC_AUDIENCE);
  registerSecret(token);
  const dir = await mkdtemp(path.join(runnerTemp(), 'azure-federated-'));
  const file = path.join(dir, 'token');
  await writeFile(file, token, { mode: 0o600 });
  await chmod(file, 0o600);
  Object.assign(env, { AZURE_CLIENT_ID: auth.clientId!, AZURE_TENANT_ID: auth.tenantId!, AZURE_FEDERATED_TOKEN_FILE: file });
  return { env, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
