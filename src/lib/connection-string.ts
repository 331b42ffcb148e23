import { PUBLIC_CLOUD } from './azure-clouds.js';

/**
 * What a storage connection string says, without the Azure SDK (so inputs can be checked before
 * anything is loaded): its account and endpoint (parseConnectionString, never the credential), and
 * its `name=value` parts for the two places that must handle the credential itself — masking it
 * (mask.ts) and handing it to Terraform's backend (terraform.ts).
 */
export interface ConnectionStringAccount {
  /** `AccountName=`, or the account a `BlobEndpoint=` addresses. */
  accountName?: string;
  /** `BlobEndpoint=`, or the endpoint the protocol, account name and suffix make. */
  blobEndpoint?: string;
}

/** The parts that are credentials: the account key, a SAS token, or (other services) a shared access key. */
export const CREDENTIAL_PARTS: ReadonlySet<string> = new Set(['accountkey', 'sharedaccesssignature', 'sharedaccesskey']);

/** Each `name=value` part, by its lowercased name (the value is everything after the first `=`, trimmed). */
export function connectionStringParts(connectionString: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) result.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return result;
}

/**
 * The account of a blob endpoint: the first host label of `https://<account>.blob.<suffix>`, or the
 * first path segment of an emulator's `http://127.0.0.1:10000/<account>`.
 */
export function accountNameOfBlobEndpoint(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  const hostMatch = /^([a-z0-9]+)\.blob\./i.exec(url.hostname);
  if (hostMatch) return hostMatch[1]!.toLowerCase();
  const segment = url.pathname.split('/').find(Boolean);
  return segment?.toLowerCase();
}

export function parseConnectionString(connectionString: string): ConnectionStringAccount {
  const values = connectionStringParts(connectionString);
  const accountName = values.get('accountname')?.toLowerCase();
  let blobEndpoint = values.get('blobendpoint');
  if (!blobEndpoint && accountName) {
    const protocol = values.get('defaultendpointsprotocol') ?? 'https';
    const suffix = values.get('endpointsuffix') ?? PUBLIC_CLOUD.storageSuffix;
    blobEndpoint = `${protocol}://${accountName}.blob.${suffix}`;
  }
  return { accountName: accountName ?? (blobEndpoint ? accountNameOfBlobEndpoint(blobEndpoint) : undefined), blobEndpoint };
}
