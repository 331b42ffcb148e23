/**
 * What a storage connection string says about its account, without the Azure SDK (so inputs can be
 * checked before anything is loaded). Only names and endpoints are returned, never the credential.
 */
export interface ConnectionStringAccount {
  /** `AccountName=`, or the account a `BlobEndpoint=` addresses. */
  accountName?: string;
  /** `BlobEndpoint=`, or the endpoint the protocol, account name and suffix make. */
  blobEndpoint?: string;
}

function parts(connectionString: string): Map<string, string> {
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
  const values = parts(connectionString);
  const accountName = values.get('accountname')?.toLowerCase();
  let blobEndpoint = values.get('blobendpoint');
  if (!blobEndpoint && accountName) {
    const protocol = values.get('defaultendpointsprotocol') ?? 'https';
    const suffix = values.get('endpointsuffix') ?? 'core.windows.net';
    blobEndpoint = `${protocol}://${accountName}.blob.${suffix}`;
  }
  return { accountName: accountName ?? (blobEndpoint ? accountNameOfBlobEndpoint(blobEndpoint) : undefined), blobEndpoint };
}
