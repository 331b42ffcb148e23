import type { TokenCredential } from '@azure/core-auth';
import type { AzureAuth } from '../lib/azure-auth.js';
import { errorCodeOf, explainAzureError } from '../lib/azure-errors.js';
import { GuidedError } from '../lib/errors.js';
import { httpStatusOf, isNotFound } from '../lib/retry.js';
import type { Inputs } from './inputs.js';
import type { Report } from './report.js';

/**
 * The data-plane half: the state container, through @azure/storage-blob (the Terraform backend talks
 * to the same endpoint with the same kind of credential, so a permission problem shows up here first).
 */
export type BlobAccess = { connectionString: string } | { blobEndpoint: string; credential: TokenCredential };

function explainBlobError(error: unknown, auth: AzureAuth, account: string, doing: string): unknown {
  const code = errorCodeOf(error);
  if (auth.method === 'connection-string' && httpStatusOf(error) === 403) {
    if (code === 'KeyBasedAuthenticationNotPermitted') {
      return new GuidedError(
        `Storage account "${account}" refuses shared keys, so its connection string cannot be used (403 ${code}).`,
        'Use auth: oidc (or client-secret) with a "Storage Blob Data Contributor" role on the account instead of a connection string.',
      );
    }
    return new GuidedError(`The storage account refused the connection string while ${doing} (403 ${code ?? ''}).`, 'The key may have been rotated: copy a current connection string into the secret.');
  }
  return explainAzureError(error, {
    doing,
    auth,
    roleHint:
      `the "Storage Blob Data Contributor" role on storage account "${account}" (Contributor or Owner alone do not reach blob data, ` +
      'and Terraform\'s backend with use_azuread_auth needs the same role to read and lock the state)',
  });
}

export async function ensureContainer(access: BlobAccess, inputs: Inputs, report: Report): Promise<void> {
  const { BlobServiceClient } = await import('@azure/storage-blob');
  const service = 'connectionString' in access ? BlobServiceClient.fromConnectionString(access.connectionString) : new BlobServiceClient(access.blobEndpoint, access.credential);
  const container = service.getContainerClient(inputs.container);
  const fail = (doing: string) => (error: unknown): never => {
    throw explainBlobError(error, inputs.auth, inputs.storageAccount, doing);
  };

  if (inputs.readOnly) {
    const exists = await container.exists().catch(fail(`reading container "${inputs.container}"`));
    if (!exists) {
      throw new GuidedError(
        `Container "${inputs.container}" does not exist in storage account "${inputs.storageAccount}", and read-only: true never creates it.`,
        'It is created by setup-remote-state without read-only (the first step of the deploy workflow); run that once for this environment, or check "container".',
      );
    }
    report.add('Container', inputs.container, 'unchanged', 'exists');
  } else {
    const result = await container.createIfNotExists().catch(fail(`creating container "${inputs.container}"`));
    report.add('Container', inputs.container, result.succeeded ? 'created' : 'unchanged', 'private (no anonymous access)');
  }

  // Not a resource we make, but what a reader of the summary wants to know next.
  const state = await container
    .getBlobClient(inputs.stateKey)
    .getProperties()
    .catch((error: unknown) => (isNotFound(error) ? undefined : fail(`reading state blob "${inputs.stateKey}"`)(error)));
  const details = !state
    ? 'not written yet: the first terraform apply writes it'
    : `exists, ${state.contentLength ?? 0} bytes, last written ${state.lastModified?.toISOString() ?? 'at an unknown time'}${state.leaseState === 'leased' ? '; locked (a Terraform run holds its lease)' : ''}`;
  report.add('State', inputs.stateKey, 'unchanged', details);
}
