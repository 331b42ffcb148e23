import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenCredential } from '@azure/core-auth';
import { ArmRestClient } from '../../src/lib/arm-rest.js';
import { armErrorOf } from '../../src/lib/azure-errors.js';
import { GuidedError } from '../../src/lib/errors.js';
import { runInProcess } from '../support/in-process.js';
import type { AzureAuth } from '../../src/lib/azure-auth.js';
import { AzureStandIn, armError } from '../support/azure-stand-in.js';

// src/lib/arm-rest.ts in-process against the ARM stand-in: both long-running-operation styles,
// throttling with Retry-After, and ARM's error envelope.

const TOKEN = 'arm-rest-unit-token';
let azure: AzureStandIn;
let arm: ArmRestClient;
const sleeps: number[] = [];

beforeAll(async () => {
  azure = await new AzureStandIn().start();
  azure.issuedTokens.set(TOKEN, { scope: `${azure.url}/.default`, clientId: 'unit', method: 'secret' });
  const credential: TokenCredential = { getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3600_000 }) };
  const auth: AzureAuth = { method: 'client-secret', armEndpoint: azure.url };
  arm = new ArmRestClient(auth, credential, { sleep: async (ms) => void sleeps.push(ms) });
});

afterAll(async () => {
  await azure?.stop();
});

describe('ArmRestClient', () => {
  it('follows a 202 + Location operation to its result', async () => {
    azure.route('POST', /\/things\/lro-location\/start$/, () => azure.accepted(() => ({ status: 200, body: { done: 'location' } }), 2));
    expect(await arm.request('POST', '/subscriptions/s/things/lro-location/start', '2024-01-01')).toEqual({ done: 'location' });
  });

  it('polls Azure-AsyncOperation until Succeeded, then reads the result from Location', async () => {
    let polls = 0;
    azure.route('GET', /\/operations\/op1$/, () => ({ status: 200, body: { status: ++polls < 2 ? 'InProgress' : 'Succeeded' }, headers: { 'retry-after': '1' } }));
    azure.route('GET', /\/things\/async\/result$/, () => ({ status: 200, body: { done: 'async' } }));
    azure.route('PUT', /\/things\/async$/, () => ({
      status: 201,
      body: {},
      headers: { 'azure-asyncoperation': `${azure.url}/subscriptions/s/operations/op1?api-version=2024-01-01`, location: `${azure.url}/subscriptions/s/things/async/result?api-version=2024-01-01` },
    }));
    expect(await arm.request('PUT', '/subscriptions/s/things/async', '2024-01-01', { a: 1 })).toEqual({ done: 'async' });
    expect(polls).toBe(2);
    expect(sleeps).toContain(1000);
  });

  it('reports a failed asynchronous operation with its ARM error', async () => {
    azure.route('GET', /\/operations\/op2$/, () => ({ status: 200, body: { status: 'Failed', error: { code: 'QuotaExceeded', message: 'Not enough cores' } } }));
    azure.route('POST', /\/things\/failing$/, () => ({ status: 202, headers: { 'azure-asyncoperation': `${azure.url}/subscriptions/s/operations/op2` } }));
    const error = await arm.request('POST', '/subscriptions/s/things/failing', '2024-01-01').catch((e: unknown) => e);
    expect(armErrorOf(error)).toEqual({ code: 'QuotaExceeded', message: 'Not enough cores' });
  });

  it('prints status lines while a long-running operation runs, and gives up with guidance after the timeout', async () => {
    const credential: TokenCredential = { getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3600_000 }) };
    const auth: AzureAuth = { method: 'client-secret', armEndpoint: azure.url };
    azure.route('GET', /\/operations\/slow$/, () => ({ status: 200, body: { status: 'InProgress' } }));
    azure.route('POST', /\/things\/slow$/, () => ({ status: 202, headers: { 'azure-asyncoperation': `${azure.url}/subscriptions/s/operations/slow?api-version=2024-01-01` } }));
    const slow = new ArmRestClient(auth, credential, { pollDelayMs: 40, statusIntervalMs: 50, operationTimeoutMs: 400 });
    let error: unknown;
    const run = await runInProcess(async () => {
      error = await slow.request('POST', '/subscriptions/s/things/slow', '2024-01-01').catch((caught: unknown) => caught);
    });
    expect(run.log.split('\n').filter((line) => line.startsWith('… still waiting for Azure to finish POST /subscriptions/s/things/slow')).length).toBeGreaterThanOrEqual(2);
    expect(error).toBeInstanceOf(GuidedError);
    expect((error as GuidedError).headline).toMatch(/^The Azure operation https:\/\/127\.0\.0\.1:\d+\/subscriptions\/s\/operations\/slow did not finish in \d+ s$/);
    expect((error as GuidedError).guidance).toMatch(/Activity log/);
  });

  it('retries throttling after the Retry-After ARM asked for, and not a 404', async () => {
    let calls = 0;
    azure.route('GET', /\/things\/throttled$/, () => (++calls === 1 ? { ...armError(429, 'TooManyRequests', 'slow down'), headers: { 'retry-after': '7' } } : { status: 200, body: { ok: true } }));
    expect(await arm.request('GET', '/subscriptions/s/things/throttled', '2024-01-01')).toEqual({ ok: true });
    expect(sleeps).toContain(7000);
    const before = azure.armRequests('GET', '/things/missing').length;
    azure.route('GET', /\/things\/missing$/, () => armError(404, 'ResourceNotFound', 'gone'));
    const error = await arm.request('GET', '/subscriptions/s/things/missing', '2024-01-01').catch((e: unknown) => e);
    expect(armErrorOf(error)?.code).toBe('ResourceNotFound');
    expect(azure.armRequests('GET', '/things/missing').length - before).toBe(1);
  });
});
