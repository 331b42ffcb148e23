import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { parseKubeconfig } from '../../src/lib/kubeconfig.js';
import { KubernetesClient, type KubernetesConnection } from '../../src/lib/kubernetes.js';
import { AKS_AAD_SERVER_APP_ID, aadServerAppIdOf, connectionFor } from '../../src/lib/aks.js';
import { renewingToken } from '../../src/lib/azure-auth.js';
import { GuidedError } from '../../src/lib/errors.js';
import { resetSecretsForTesting, scrub } from '../../src/lib/mask.js';
import { HttpError } from '../../src/lib/retry.js';
import { startKubernetesApi, type KubernetesApiStandIn } from '../support/kubernetes-api.js';

// src/lib/kubernetes.ts and aks.ts in-process, against the Kubernetes API stand-in.

const TOKEN = 'unit-test-token-0123456789';
let kube: KubernetesApiStandIn;
let client: KubernetesClient;

beforeAll(async () => {
  kube = await startKubernetesApi();
  kube.acceptedTokens.add(TOKEN);
  const kubeconfig = parseKubeconfig(kube.kubeconfig('local', { token: TOKEN }));
  const { connection } = connectionFor(kubeconfig, {} as TokenCredential);
  client = new KubernetesClient(connection, { sleep: async () => undefined });
});

afterAll(async () => {
  await kube?.stop();
});

const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

describe('kubeconfig', () => {
  it('reads the current context and registers every credential as a secret', () => {
    resetSecretsForTesting();
    const parsed = parseKubeconfig(kube.kubeconfig('local', { token: TOKEN }));
    expect(parsed.server).toBe(kube.url);
    expect(parsed.caData?.toString()).toContain('BEGIN CERTIFICATE');
    expect(parsed.user.kind).toBe('token');
    expect(scrub(`token ${TOKEN}`)).toBe('token ***');
    const keyLine = (parsed.user.kind === 'token' && parsed.user.clientCertificate!.key.toString().split('\n')[1]) || '';
    expect(scrub(keyLine)).toBe('***');
  });

  it('recognises an AKS Azure AD user (kubelogin exec) and its server application', () => {
    const parsed = parseKubeconfig(kube.kubeconfig('aad'));
    expect(parsed.user.kind).toBe('exec');
    expect(aadServerAppIdOf(parsed)).toBe(AKS_AAD_SERVER_APP_ID);
    expect(connectionFor(parsed, {} as TokenCredential).authMode).toBe('azure-ad');
  });

  it('refuses a kubeconfig without the named context', () => {
    expect(() => parseKubeconfig('apiVersion: v1\nkind: Config\ncontexts: []\n', 'missing')).toThrow(/no context "missing"/);
  });
});

describe('renewing token', () => {
  it('reuses a token until five minutes before it expires, then asks again', async () => {
    let now = 1_000_000;
    const issued: string[] = [];
    const credential: TokenCredential = {
      getToken: async (): Promise<AccessToken> => {
        issued.push(`token-${issued.length + 1}`);
        return { token: issued.at(-1)!, expiresOnTimestamp: now + 60 * 60_000 };
      },
    };
    const token = renewingToken(credential, 'scope/.default', () => now);
    expect(await token()).toBe('token-1');
    now += 50 * 60_000;
    expect(await token()).toBe('token-1');
    now += 6 * 60_000;
    expect(await token()).toBe('token-2');
  });
});

describe('Kubernetes client against the API stand-in', () => {
  it('server-side applies: created, then unchanged, then configured', async () => {
    expect((await client.apply(namespace('unit-a'))).outcome).toBe('created');
    expect((await client.apply(namespace('unit-a'))).outcome).toBe('unchanged');
    const changed = await client.apply({ ...namespace('unit-a'), metadata: { name: 'unit-a', labels: { team: 'bakery' } } });
    expect(changed.outcome).toBe('configured');
    expect(changed.object.metadata?.labels).toEqual({ team: 'bakery' });
  });

  it('gets undefined for a missing object and lists by label', async () => {
    expect(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'unit-none' })).toBeUndefined();
    await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one', namespace: 'unit-a', labels: { pick: 'yes' } } });
    await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'two', namespace: 'unit-a', labels: { pick: 'no' } } });
    const picked = await client.list<{ metadata: { name: string } }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'unit-a' }, { labelSelector: 'pick=yes' });
    expect(picked.map((item) => item.metadata.name)).toEqual(['one']);
  });

  it('surfaces the API server\'s refusal of an invalid object (422) without retrying it', async () => {
    const before = kube.requests.length;
    const error = await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'unit-bad', labels: { n: 5 as unknown as string } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(422);
    expect(kube.requests.length - before).toBe(2); // the GET before, one PATCH
  });

  it('deletes a namespace and waits until it is gone; deleting it again reports absent', async () => {
    await client.apply(namespace('unit-gone'));
    expect(await client.deleteNamespace('unit-gone')).toBe('deleted');
    await client.waitGone({ apiVersion: 'v1', kind: 'Namespace', name: 'unit-gone' }, { timeoutMs: 5000, pollMs: 50 });
    expect(kube.object('v1', 'Namespace', 'unit-gone')).toBeUndefined();
    expect(await client.deleteNamespace('unit-gone')).toBe('absent');
    expect(kube.requests.filter((r) => r.method === 'DELETE').every((r) => r.path === '/api/v1/namespaces/unit-gone')).toBe(true);
  });

  it('says what to look at when an object does not go away in time', async () => {
    kube.namespaceDeletionMs = 60_000;
    try {
      await client.apply(namespace('unit-stuck'));
      await client.deleteNamespace('unit-stuck');
      const error = await client.waitGone({ apiVersion: 'v1', kind: 'Namespace', name: 'unit-stuck' }, { timeoutMs: 100, pollMs: 20 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GuidedError);
      expect((error as GuidedError).message).toMatch(/Namespace unit-stuck still exists after .* \(phase Terminating\)/);
      expect((error as GuidedError).message).toContain('metadata.finalizers');
    } finally {
      kube.namespaceDeletionMs = 300;
    }
  });

  it('refuses plain http so credentials are never sent in the clear', async () => {
    const insecure = new KubernetesClient({ server: 'http://127.0.0.1:1', bearerToken: async () => TOKEN } as KubernetesConnection, { attempts: 1 });
    await expect(insecure.get({ apiVersion: 'v1', kind: 'Namespace', name: 'x' })).rejects.toThrow(/not https/);
  });

  it('retries a dropped connection, then gives up', async () => {
    const retries: string[] = [];
    const unreachable = new KubernetesClient({ server: 'https://127.0.0.1:1' }, { attempts: 3, sleep: async () => undefined, onRetry: (message) => retries.push(message) });
    await expect(unreachable.get({ apiVersion: 'v1', kind: 'Namespace', name: 'x' })).rejects.toThrow(/ECONNREFUSED/);
    expect(retries).toHaveLength(2);
  });

  it('is refused without a token the cluster accepts', async () => {
    const stranger = new KubernetesClient({ ...client.connection, bearerToken: async () => 'not-a-token', clientCertificate: undefined }, { attempts: 1 });
    const error = await stranger.get({ apiVersion: 'v1', kind: 'Namespace', name: 'unit-a' }).catch((e: unknown) => e);
    expect((error as HttpError).status).toBe(401);
  });
});
