import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  armClientOptions,
  createTokenCredential,
  jwtExpiry,
  readAzureAuth,
  reusedGithubIdToken,
  terraformAuthEnv,
  type AzureAuth,
} from '../../src/lib/azure-auth.js';
import { ConfigurationError } from '../../src/lib/errors.js';
import { registerArmStorage } from '../support/arm-storage.js';
import { AzureStandIn, TEST_IDS, makeJwt } from '../support/azure-stand-in.js';
import { runInProcess } from '../support/in-process.js';

const IDS = {
  'subscription-id': TEST_IDS.subscriptionId,
  'tenant-id': TEST_IDS.tenantId,
  'client-id': TEST_IDS.clientId,
};
const RULES = { allowConnectionString: true, needsSubscription: true };

let touched: string[] = [];
afterEach(() => {
  for (const key of touched) delete process.env[key];
  touched = [];
});
function withEnv(env: Record<string, string>): void {
  Object.assign(process.env, env);
  touched.push(...Object.keys(env));
}

async function read(inputs: Record<string, string>, env: Record<string, string> = {}, rules = RULES) {
  let auth: AzureAuth | undefined;
  const result = await runInProcess(async () => {
    auth = readAzureAuth(rules);
  }, { inputs, env });
  return { ...result, auth };
}

async function refusal(inputs: Record<string, string>, env: Record<string, string> = {}, rules = RULES): Promise<ConfigurationError> {
  const { error } = await read(inputs, env, rules);
  expect(error).toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

const OIDC_ENV = { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://127.0.0.1:1/token', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' };

describe('readAzureAuth', () => {
  it('defaults to OIDC, needing tenant, client and subscription ids', async () => {
    const { auth, error } = await read(IDS, OIDC_ENV);
    expect(error).toBeUndefined();
    expect(auth).toEqual({
      method: 'oidc',
      subscriptionId: TEST_IDS.subscriptionId,
      tenantId: TEST_IDS.tenantId,
      clientId: TEST_IDS.clientId,
      armEndpoint: 'https://management.azure.com',
      authorityHost: undefined,
    });
  });

  it('OIDC without `id-token: write` says which permission to add', async () => {
    const error = await refusal(IDS);
    expect(error.input).toBe('auth');
    expect(error.message).toMatch(/permissions: id-token: write/);
    expect((await refusal(IDS, { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x' })).input).toBe('auth');
  });

  it.each(['tenant-id', 'client-id', 'subscription-id'])('OIDC names a missing %s', async (input) => {
    expect((await refusal({ ...IDS, [input]: '' }, OIDC_ENV)).input).toBe(input);
  });

  it('client-secret needs the secret, masks it, and never echoes it', async () => {
    expect((await refusal({ ...IDS, auth: 'client-secret' })).input).toBe('client-secret');
    const { auth, masked, log } = await read({ ...IDS, auth: 'client-secret', 'client-secret': 'the-secret-value' });
    expect(auth?.clientSecret).toBe('the-secret-value');
    expect(masked).toContain('the-secret-value');
    expect(log).not.toContain('the-secret-value');
  });

  it('azure-cli needs only the subscription (when the action calls ARM)', async () => {
    const { auth, error } = await read({ auth: 'azure-cli', 'subscription-id': TEST_IDS.subscriptionId });
    expect(error).toBeUndefined();
    expect(auth).toMatchObject({ method: 'azure-cli', subscriptionId: TEST_IDS.subscriptionId, tenantId: undefined });
    expect((await refusal({ auth: 'azure-cli' })).input).toBe('subscription-id');
    expect((await read({ auth: 'azure-cli' }, {}, { allowConnectionString: false, needsSubscription: false })).error).toBeUndefined();
  });

  it('connection-string: masked whole and by key, and refused where the action needs ARM', async () => {
    const connectionString = 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5LXZhbHVlLXRoYXQtaXMtc2VjcmV0;EndpointSuffix=core.windows.net';
    const { auth, masked } = await read({ auth: 'connection-string', 'connection-string': connectionString });
    expect(auth).toMatchObject({ method: 'connection-string', connectionString });
    expect(masked).toEqual(expect.arrayContaining([connectionString, 'a2V5LXZhbHVlLXRoYXQtaXMtc2VjcmV0']));
    const refused = await refusal({ auth: 'connection-string', 'connection-string': connectionString }, {}, { allowConnectionString: false, needsSubscription: true });
    expect(refused.input).toBe('auth');
    expect((await refusal({ auth: 'connection-string' })).input).toBe('connection-string');
  });

  it('a connection string naming no account is refused without echoing it', async () => {
    const error = await refusal({ auth: 'connection-string', 'connection-string': 'SharedAccessSignature=sv=2022&sig=c2VjcmV0' });
    expect(error.input).toBe('connection-string');
    expect(error.message).not.toContain('c2VjcmV0');
  });

  it('masks a secret input even when the chosen method does not use it', async () => {
    const { masked } = await read({ ...IDS, auth: 'azure-cli', 'client-secret': 'unused-secret-1', 'connection-string': 'AccountName=a;AccountKey=dW51c2VkLWtleQ==' }, {});
    expect(masked).toEqual(expect.arrayContaining(['unused-secret-1', 'dW51c2VkLWtleQ==']));
  });

  it('sovereign clouds: https endpoints only, trailing slashes dropped', async () => {
    const { auth } = await read({ ...IDS, 'arm-endpoint': 'https://management.usgovcloudapi.net/', 'authority-host': 'https://login.microsoftonline.us/' }, OIDC_ENV);
    expect(auth).toMatchObject({ armEndpoint: 'https://management.usgovcloudapi.net', authorityHost: 'https://login.microsoftonline.us' });
    expect((await refusal({ ...IDS, 'arm-endpoint': 'http://management.azure.com' }, OIDC_ENV)).input).toBe('arm-endpoint');
    expect((await refusal({ ...IDS, 'authority-host': 'login.microsoftonline.us' }, OIDC_ENV)).input).toBe('authority-host');
  });

  it.each(['OIDC', 'Client-Secret'])('auth is case-insensitive (%s)', async (value) => {
    const { auth } = await read({ ...IDS, auth: value, 'client-secret': 'x-secret' }, OIDC_ENV);
    expect(auth?.method).toBe(value.toLowerCase());
  });

  it('refuses an unknown auth with the list', async () => {
    expect((await refusal({ auth: 'managed-identity' })).message).toMatch(/Set "auth" to one of: oidc, client-secret, azure-cli, connection-string\./);
  });
});

describe('Terraform environment', () => {
  const base: AzureAuth = { method: 'oidc', subscriptionId: 's', tenantId: 't', clientId: 'c', armEndpoint: 'https://management.azure.com' };
  it('sets the ARM_* variables per method', () => {
    expect(terraformAuthEnv(base)).toEqual({ ARM_SUBSCRIPTION_ID: 's', ARM_TENANT_ID: 't', ARM_CLIENT_ID: 'c', ARM_USE_OIDC: 'true', ARM_USE_AZUREAD: 'true' });
    expect(terraformAuthEnv({ ...base, method: 'client-secret', clientSecret: 'x' })).toMatchObject({ ARM_CLIENT_SECRET: 'x', ARM_USE_AZUREAD: 'true' });
    expect(terraformAuthEnv({ ...base, method: 'client-secret', clientSecret: 'x' })).not.toHaveProperty('ARM_USE_OIDC');
    expect(terraformAuthEnv({ method: 'azure-cli', armEndpoint: base.armEndpoint, subscriptionId: 's' })).toEqual({ ARM_SUBSCRIPTION_ID: 's', ARM_USE_CLI: 'true', ARM_USE_AZUREAD: 'true' });
    expect(terraformAuthEnv({ method: 'connection-string', armEndpoint: base.armEndpoint, connectionString: 'x' })).toEqual({});
  });
});

describe('credentials against the Entra ID and GitHub OIDC stand-in', () => {
  let standIn: AzureStandIn;
  beforeAll(async () => {
    standIn = await new AzureStandIn().start();
    registerArmStorage(standIn).seedResourceGroup('rg1', 'westeurope');
  });
  afterAll(async () => {
    await standIn?.stop();
  });

  function authFor(method: 'oidc' | 'client-secret'): AzureAuth {
    const env = standIn.authEnv(method);
    withEnv(Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('ACTIONS_'))));
    return {
      method,
      tenantId: TEST_IDS.tenantId,
      clientId: TEST_IDS.clientId,
      subscriptionId: TEST_IDS.subscriptionId,
      clientSecret: method === 'client-secret' ? TEST_IDS.clientSecret : undefined,
      armEndpoint: standIn.url,
      authorityHost: standIn.url,
    };
  }

  it('client-secret gets a token for the requested scope', async () => {
    const credential = await createTokenCredential(authFor('client-secret'));
    const token = await credential.getToken(`${standIn.url}/.default`);
    expect(standIn.issuedTokens.get(token!.token)).toMatchObject({ method: 'secret', clientId: TEST_IDS.clientId });
  });

  it('oidc exchanges a GitHub ID token (audience api://AzureADTokenExchange) for an Azure token', async () => {
    const credential = await createTokenCredential(authFor('oidc'));
    const token = await credential.getToken('https://storage.azure.com/.default');
    expect(standIn.issuedTokens.get(token!.token)).toMatchObject({ method: 'assertion', scope: 'https://storage.azure.com/.default' });
    expect([...standIn.githubTokens.values()]).toContain('api://AzureADTokenExchange');
  });

  it('oidc reuses one GitHub ID token across scopes instead of asking GitHub each time', async () => {
    const credential = await createTokenCredential(authFor('oidc'));
    const before = standIn.requests.filter((r) => r.path === '/_github/oidc/token').length;
    await credential.getToken(`${standIn.url}/.default`);
    await credential.getToken('https://storage.azure.com/.default');
    await credential.getToken('https://vault.azure.net/.default');
    expect(standIn.requests.filter((r) => r.path === '/_github/oidc/token').length - before).toBe(1);
  });

  it('armClientOptions makes the ARM SDKs use the configured endpoint AND its token scope (sovereign clouds)', async () => {
    const auth = authFor('client-secret');
    const { ResourceManagementClient } = await import('@azure/arm-resources');
    const client = new ResourceManagementClient(await createTokenCredential(auth), TEST_IDS.subscriptionId, armClientOptions(auth));
    const group = await client.resourceGroups.get('rg1');
    expect(group.name).toBe('rg1');
    const request = standIn.armRequests('GET', '/resourcegroups/rg1').at(-1)!;
    const token = request.headers.authorization!.replace(/^Bearer /, '');
    expect(standIn.issuedTokens.get(token)?.scope).toBe(`${standIn.url}/.default`);
  });

  it('azure-cli uses the Azure CLI login of the job (az is called only when a token is asked for)', async () => {
    const credential = await createTokenCredential({ method: 'azure-cli', armEndpoint: 'https://management.azure.com' });
    expect(credential.constructor.name).toBe('AzureCliCredential');
  });

  it('there is no token credential for a connection string', async () => {
    await expect(createTokenCredential({ method: 'connection-string', armEndpoint: 'https://management.azure.com', connectionString: 'x' })).rejects.toThrow(/carries its own credential/);
  });
});

describe('reusedGithubIdToken', () => {
  it('reuses a token until a minute before its exp, then fetches a new one', async () => {
    const standIn = await new AzureStandIn().start();
    try {
      withEnv(Object.fromEntries(Object.entries(standIn.authEnv('oidc')).filter(([key]) => key.startsWith('ACTIONS_'))));
      let now = Date.now();
      const next = reusedGithubIdToken(() => now);
      const first = await next();
      expect(await next()).toBe(first);
      const exp = jwtExpiry(first)!;
      now = (exp - 61) * 1000;
      await next();
      expect(standIn.requests.filter((r) => r.path === '/_github/oidc/token')).toHaveLength(1);
      now = (exp - 59) * 1000;
      await next();
      expect(standIn.requests.filter((r) => r.path === '/_github/oidc/token')).toHaveLength(2);
    } finally {
      await standIn.stop();
    }
  });

  it('jwtExpiry reads exp, and nothing from a token that is not a JWT', () => {
    expect(jwtExpiry(makeJwt({ exp: 1234 }))).toBe(1234);
    expect(jwtExpiry('opaque-token')).toBeUndefined();
    expect(jwtExpiry('a.bm90IGpzb24.c')).toBeUndefined();
  });
});
