import type { TokenCredential } from '@azure/core-auth';
import * as core from '@actions/core';
import { ConfigurationError } from './errors.js';
import { rawInput, readEnum, readGuid, readString } from './inputs.js';
import { registerConnectionString, registerSecret } from './mask.js';

/**
 * How an action authenticates to Azure. Reading the inputs imports no Azure SDK, so an action with a
 * bad input fails in milliseconds; the SDK is loaded only by `createTokenCredential`.
 */
export const AUTH_METHODS = ['oidc', 'client-secret', 'azure-cli', 'connection-string'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** GitHub's OIDC audience that Entra ID federated credentials expect by default. */
export const OIDC_AUDIENCE = 'api://AzureADTokenExchange';
export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com';

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

const HTTPS_URL = /^https:\/\/[^\s/]+(:\d+)?(\/[^\s]*)?$/;

export function readAzureAuth(rules: AuthRules): AzureAuth {
  // A secret the chosen method does not use is still a secret: mask it before anything could print it.
  registerSecret(rawInput('client-secret'));
  registerConnectionString(rawInput('connection-string'));
  const method = readEnum('auth', AUTH_METHODS, 'oidc');
  const armEndpoint = readString('arm-endpoint', {
    default: DEFAULT_ARM_ENDPOINT,
    pattern: HTTPS_URL,
    expected: 'an https:// URL of an Azure Resource Manager endpoint',
    example: DEFAULT_ARM_ENDPOINT,
  }).replace(/\/+$/, '');
  const authorityHost = readString('authority-host', {
    pattern: HTTPS_URL,
    expected: 'an https:// URL of an Entra ID authority',
    example: 'https://login.microsoftonline.com',
  })?.replace(/\/+$/, '');

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

/** Reuse a GitHub ID token until this long before its `exp`. */
const ID_TOKEN_REUSE_MARGIN_S = 60;

/**
 * The GitHub OIDC token as the client assertion. ClientAssertionCredential asks for an assertion on
 * every token request (one per SDK client and scope), so the token is reused until shortly before it
 * expires rather than fetched from GitHub each time. A token whose expiry cannot be read is not reused.
 */
export function reusedGithubIdToken(now: () => number = Date.now): () => Promise<string> {
  let cached: { token: string; reuseUntilMs: number } | undefined;
  return async () => {
    if (cached && now() < cached.reuseUntilMs) return cached.token;
    const token = await core.getIDToken(OIDC_AUDIENCE);
    const exp = jwtExpiry(token);
    cached = exp ? { token, reuseUntilMs: (exp - ID_TOKEN_REUSE_MARGIN_S) * 1000 } : undefined;
    return token;
  };
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
  switch (auth.method) {
    case 'oidc':
      env.ARM_USE_OIDC = 'true';
      env.ARM_USE_AZUREAD = 'true';
      break;
    case 'client-secret':
      env.ARM_CLIENT_SECRET = auth.clientSecret!;
      env.ARM_USE_AZUREAD = 'true';
      break;
    case 'azure-cli':
      env.ARM_USE_CLI = 'true';
      env.ARM_USE_AZUREAD = 'true';
      break;
    case 'connection-string':
      break;
  }
  return env;
}
