import type { AccessToken, TokenCredential } from '@azure/core-auth';
import * as core from '@actions/core';
import { PUBLIC_CLOUD } from './azure-clouds.js';
import { ConfigurationError } from './errors.js';
import { rawInput, readEnum, readGuid, readString, readUrl } from './inputs.js';
import { registerConnectionString, registerSecret } from './mask.js';

/**
 * How an action authenticates to Azure: the auth inputs, the credential, the tokens our own fetch
 * clients send (renewingToken), and the environment Terraform gets for the same identity. Reading the
 * inputs imports no Azure SDK, so an action with a bad input fails in milliseconds; the SDK is loaded
 * only by `createTokenCredential`.
 */
export const AUTH_METHODS = ['oidc', 'client-secret', 'azure-cli', 'connection-string'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** GitHub's OIDC audience that Entra ID federated credentials expect by default. */
export const OIDC_AUDIENCE = 'api://AzureADTokenExchange';
export const DEFAULT_ARM_ENDPOINT = PUBLIC_CLOUD.armEndpoint;

export interface AzureAuth {
  method: AuthMethod;
  subscriptionId?: string;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Only with `connection-string`: a pre-provisioned storage account or a local emulator. */
  connectionString?: string;
  /** Azure Resource Manager endpoint; another for a sovereign cloud (e.g. https://management.usgovcloudapi.net). */
  armEndpoint: string;
  /** Entra ID authority for a sovereign cloud (e.g. https://login.microsoftonline.us); default: public cloud. */
  authorityHost?: string;
}

export interface AuthRules {
  /** Whether the action can work from a storage connection string alone. */
  allowConnectionString: boolean;
  /** Whether ARM calls (and so a subscription) are needed with the non-connection-string methods. */
  needsSubscription: boolean;
}

/**
 * Masks `client-secret` and `connection-string` whatever `auth` says (a secret the chosen method does
 * not use is still a secret). readAzureAuth does it first; an action that reads its auth inputs after
 * others (because they decide which methods fit) calls this before anything else.
 */
export function maskAzureCredentials(): void {
  registerSecret(rawInput('client-secret'));
  registerConnectionString(rawInput('connection-string'));
}

export function readAzureAuth(rules: AuthRules): AzureAuth {
  maskAzureCredentials();
  const method = readEnum('auth', AUTH_METHODS, 'oidc');
  const armEndpoint = readUrl('arm-endpoint', {
    default: DEFAULT_ARM_ENDPOINT,
    httpsOnly: true,
    expected: 'an https:// URL of an Azure Resource Manager endpoint',
    example: DEFAULT_ARM_ENDPOINT,
  });
  const authorityHost = readUrl('authority-host', {
    httpsOnly: true,
    expected: 'an https:// URL of an Entra ID authority',
    example: 'https://login.microsoftonline.com',
  });

  if (method === 'connection-string') {
    if (!rules.allowConnectionString) {
      throw new ConfigurationError('auth', 'is "connection-string", which this action cannot use: it calls Azure Resource Manager', 'Set "auth" to oidc, client-secret or azure-cli.');
    }
    const connectionString = readString('connection-string', {
      required: true,
      secret: true,
      expected: 'a storage connection string (DefaultEndpointsProtocol=…;AccountName=…;AccountKey=… or BlobEndpoint=…)',
    });
    registerConnectionString(connectionString);
    if (!/(^|;)\s*(AccountName|BlobEndpoint)=/i.test(connectionString)) {
      throw new ConfigurationError(
        'connection-string',
        'holds neither AccountName= nor BlobEndpoint=, so it names no storage account',
        'Copy the whole connection string from the storage account\'s "Access keys" page (or Azurite\'s documented one), and pass it from a secret.',
      );
    }
    return { method, connectionString, armEndpoint, authorityHost };
  }

  const needsIdentity = method !== 'azure-cli';
  const auth: AzureAuth = {
    method,
    subscriptionId: readGuid('subscription-id', rules.needsSubscription, 'the Azure subscription id'),
    tenantId: readGuid('tenant-id', needsIdentity, 'the Entra ID tenant id'),
    clientId: readGuid('client-id', needsIdentity, 'the application (client) id of the app registration or managed identity'),
    armEndpoint,
    authorityHost,
  };
  if (method === 'client-secret') {
    auth.clientSecret = readString('client-secret', { required: true, secret: true, expected: 'the app registration\'s client secret, passed from a GitHub secret' });
  }
  if (method === 'oidc' && (!process.env.ACTIONS_ID_TOKEN_REQUEST_URL || !process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)) {
    throw new ConfigurationError(
      'auth',
      'is "oidc", but this job cannot request a GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are not set)',
      'Add `permissions: id-token: write` to the job (and `contents: read`), or choose another "auth".',
    );
  }
  return auth;
}

// ---------------------------------------------------------------------------------------------------
// Tokens: each is fetched once and reused until shortly before it expires, and registered as a secret.

/**
 * A source of `fetch()`'s value that reuses it until `renewAt(value)` (ms since the epoch; undefined:
 * do not reuse), with concurrent callers sharing one request in flight.
 */
function reusedUntil<T>(fetch: () => Promise<T>, renewAt: (value: T) => number | undefined, now: () => number): () => Promise<T> {
  let current: { value: T; renewAtMs: number } | undefined;
  let pending: Promise<T> | undefined;
  return async () => {
    if (current && now() < current.renewAtMs) return current.value;
    pending ??= fetch();
    try {
      const value = await pending;
      const renewAtMs = renewAt(value);
      current = renewAtMs === undefined ? undefined : { value, renewAtMs };
      return value;
    } finally {
      pending = undefined;
    }
  };
}

/** Reuse a GitHub ID token until this long before its `exp`. */
const ID_TOKEN_REUSE_MARGIN_S = 60;

/**
 * The GitHub OIDC token as the client assertion. ClientAssertionCredential asks for an assertion on
 * every token request (one per SDK client and scope), so the token is reused until shortly before it
 * expires rather than fetched from GitHub each time. A token whose expiry cannot be read is not reused.
 */
export function reusedGithubIdToken(now: () => number = Date.now): () => Promise<string> {
  const fetchToken = async () => {
    const token = await core.getIDToken(OIDC_AUDIENCE);
    registerSecret(token);
    return token;
  };
  return reusedUntil(fetchToken, (token) => {
    const exp = jwtExpiry(token);
    return exp ? (exp - ID_TOKEN_REUSE_MARGIN_S) * 1000 : undefined;
  }, now);
}

/** Renew an Entra ID access token this long before it expires, so no request goes out with one about to lapse. */
const TOKEN_RENEW_MARGIN_MS = 5 * 60_000;

/**
 * A bearer-token source for `scope` for our own fetch/https clients (the Azure SDKs manage theirs): it
 * reuses the token until shortly before it expires (or the credential's refreshAfter hint).
 */
export function renewingToken(credential: TokenCredential, scope: string, now: () => number = Date.now): () => Promise<string> {
  const fetchToken = async (): Promise<AccessToken> => {
    const token = await credential.getToken(scope);
    if (!token) throw new Error(`no token was issued for ${scope}`);
    registerSecret(token.token);
    return token;
  };
  const source = reusedUntil(fetchToken, (token) => token.refreshAfterTimestamp ?? token.expiresOnTimestamp - TOKEN_RENEW_MARGIN_MS, now);
  return async () => (await source()).token;
}

/** The `exp` claim (seconds since the epoch) of a JWT, without verifying it; undefined if unreadable. */
export function jwtExpiry(jwt: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

/** The credential for ARM and Blob calls. Loads @azure/identity only now. */
export async function createTokenCredential(auth: AzureAuth): Promise<TokenCredential> {
  const identity = await import('@azure/identity');
  const common = auth.authorityHost
    ? // A custom authority (sovereign cloud, or a stand-in) is not in Microsoft's instance list.
      { authorityHost: auth.authorityHost, disableInstanceDiscovery: true }
    : {};
  switch (auth.method) {
    case 'oidc':
      return new identity.ClientAssertionCredential(auth.tenantId!, auth.clientId!, reusedGithubIdToken(), common);
    case 'client-secret':
      return new identity.ClientSecretCredential(auth.tenantId!, auth.clientId!, auth.clientSecret!, common);
    case 'azure-cli':
      return new identity.AzureCliCredential(auth.tenantId ? { tenantId: auth.tenantId } : {});
    case 'connection-string':
      throw new Error('a connection string carries its own credential; no token credential exists for it');
  }
}

/**
 * Options every ARM management client gets: the endpoint and its token scope. The installed ARM SDKs
 * (arm-resources 8, arm-storage 21, arm-containerservice, arm-containerregistry) are the TypeSpec
 * generated ones, which read the scope from `credentials.scopes` (the older `credentialScopes` option
 * is silently ignored, and they would ask Entra ID for a public-cloud token in a sovereign cloud).
 */
export function armClientOptions(auth: AzureAuth): { endpoint: string; credentials: { scopes: string[] } } {
  return { endpoint: auth.armEndpoint, credentials: { scopes: [`${auth.armEndpoint}/.default`] } };
}

/**
 * The environment Terraform's azurerm provider and backend read for the same identity. Under OIDC
 * Terraform requests its own GitHub token (it reads ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN itself).
 */
export function terraformAuthEnv(auth: AzureAuth): Record<string, string> {
  const env: Record<string, string> = {};
  if (auth.subscriptionId) env.ARM_SUBSCRIPTION_ID = auth.subscriptionId;
  if (auth.tenantId) env.ARM_TENANT_ID = auth.tenantId;
  if (auth.clientId) env.ARM_CLIENT_ID = auth.clientId;
  if (auth.method === 'connection-string') return env;
  // Every Entra ID method: the backend reaches the state with the identity's token, not a key.
  env.ARM_USE_AZUREAD = 'true';
  if (auth.method === 'oidc') env.ARM_USE_OIDC = 'true';
  if (auth.method === 'client-secret') env.ARM_CLIENT_SECRET = auth.clientSecret!;
  if (auth.method === 'azure-cli') env.ARM_USE_CLI = 'true';
  return env;
}
