import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ConfigurationError, GuidedError } from '../../src/lib/errors.js';
import { PrefectClient, deploymentUrl, flowRunUrl, parsePrefectApiUrl, prefectDetail, type PrefectConnection } from '../../src/lib/prefect.js';
import { startPrefectApi, type PrefectStandIn } from '../support/prefect-api.js';

const noWait = { sleep: async (): Promise<void> => {}, baseDelayMs: 1 };
let api: PrefectStandIn | undefined;

afterEach(async () => {
  await api?.stop();
  api = undefined;
});

function connect(stand: PrefectStandIn, extra: Partial<PrefectConnection> = {}): PrefectConnection {
  return { ...parsePrefectApiUrl(stand.apiUrl), ...extra };
}

describe('parsePrefectApiUrl', () => {
  const account = randomUUID();
  const workspace = randomUUID();

  it('reads a Prefect Cloud URL and derives the app URL of the workspace', () => {
    const parsed = parsePrefectApiUrl(`https://api.prefect.cloud/api/accounts/${account}/workspaces/${workspace}/`);
    expect(parsed).toMatchObject({ kind: 'cloud', accountId: account, workspaceId: workspace, apiUrl: `https://api.prefect.cloud/api/accounts/${account}/workspaces/${workspace}` });
    expect(deploymentUrl(parsed, 'd1')).toBe(`https://app.prefect.cloud/account/${account}/workspace/${workspace}/deployments/deployment/d1`);
    expect(flowRunUrl(parsed, 'r1')).toBe(`https://app.prefect.cloud/account/${account}/workspace/${workspace}/runs/flow-run/r1`);
  });

  it('reads a self-hosted URL, whose UI is the same origin without /api', () => {
    const parsed = parsePrefectApiUrl('http://prefect.bakery.svc:4200/api');
    expect(parsed).toMatchObject({ kind: 'server', uiUrl: 'http://prefect.bakery.svc:4200' });
    expect(deploymentUrl(parsed, 'abc')).toBe('http://prefect.bakery.svc:4200/deployments/deployment/abc');
    expect(parsePrefectApiUrl('https://ops.example.org/prefect/api', 'x', 'https://prefect.example.org/').uiUrl).toBe('https://prefect.example.org');
  });

  it.each([
    ['not a url', 'is "not a url", which is not a URL'],
    ['ftp://host/api', 'neither https: nor http:'],
    ['https://user:pw@host/api', 'holds a user name or password'],
    ['http://host:4200', 'ends neither in /api'],
    ['https://api.prefect.cloud/api', 'must name the account and workspace'],
    ['https://host/api?x=1', 'query or fragment'],
  ])('refuses %s with an error naming the input', (value, problem) => {
    let caught: unknown;
    try {
      parsePrefectApiUrl(value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect((caught as ConfigurationError).input).toBe('prefect-api-url');
    expect((caught as Error).message).toContain(problem);
  });
});

describe('PrefectClient against the schema-checking stand-in', () => {
  it('reads a missing work pool as undefined, creates it, and reads it back', async () => {
    api = await startPrefectApi();
    const prefect = new PrefectClient(connect(api), noWait);
    expect(await prefect.readWorkPool('bakery pool')).toBeUndefined();
    const created = await prefect.createWorkPool({ name: 'bakery pool', type: 'kubernetes', description: 'Bakery AKS' });
    expect(created).toMatchObject({ name: 'bakery pool', type: 'kubernetes' });
    expect((await prefect.readWorkPool('bakery pool'))?.id).toBe(created.id);
    expect(api.calls('create_work_pool')[0]!.body).toEqual({ name: 'bakery pool', type: 'kubernetes', description: 'Bakery AKS' });
    await expect(prefect.createWorkPool({ name: 'bakery pool', type: 'kubernetes' })).rejects.toThrow(/409.*already exists/);
    await expect(prefect.createWorkPool({ name: 'prefect-pool', type: 'kubernetes' })).rejects.toThrow(/403.*reserved/);
    expect(api.problems).toEqual([]);
  });

  it('upserts a flow by name and a deployment by (flow, name)', async () => {
    api = await startPrefectApi();
    api.addWorkPool('bakery');
    const prefect = new PrefectClient(connect(api), noWait);
    const first = await prefect.createFlow({ name: 'oisst' });
    const again = await prefect.createFlow({ name: 'oisst' });
    expect(first.wasCreated).toBe(true);
    expect(again).toMatchObject({ id: first.id, wasCreated: false });
    const deployment = await prefect.createDeployment({ name: 'bakery', flow_id: first.id, work_pool_name: 'bakery', entrypoint: 'flow.py:oisst', tags: ['a'] });
    const updated = await prefect.createDeployment({ name: 'bakery', flow_id: first.id, work_pool_name: 'bakery', entrypoint: 'flow.py:oisst', tags: ['b'] });
    expect(deployment.wasCreated).toBe(true);
    expect(updated).toMatchObject({ id: deployment.id, wasCreated: false, tags: ['b'] });
    expect(api.deployments.size).toBe(1);
    expect(api.problems).toEqual([]);
  });

  it('answers a malformed body with Prefect\'s 422 shape, which the client reports with the field', async () => {
    api = await startPrefectApi();
    const prefect = new PrefectClient(connect(api), noWait);
    const bad = { name: 'x', flow_id: 'not-a-uuid', schedule: '* * * * *' } as never;
    const error = await prefect.createDeployment(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuidedError);
    expect((error as Error).message).toMatch(/^Prefect answered 422 to POST \/deployments\/: Invalid request received\./);
    expect((error as Error).message).toContain('body.flow_id: Input should be a valid UUID');
    expect((error as Error).message).toContain('body.schedule: Extra inputs are not permitted');
    expect(api.requests.at(-1)!.status).toBe(422);
    expect(api.deployments.size).toBe(0);
    // Path parameters are checked against their schema as well.
    await expect(prefect.readFlowRun('not-a-uuid')).rejects.toThrow(/422 to GET \/flow_runs\/not-a-uuid: Invalid request received\. path\.id: Input should be a valid UUID/);
  });

  it('retries 429 (honouring Retry-After) and 503 before succeeding', async () => {
    api = await startPrefectApi();
    const waits: number[] = [];
    const prefect = new PrefectClient(connect(api), { baseDelayMs: 1, sleep: async (ms) => void waits.push(ms) });
    api.failNext({ method: 'POST', path: '/flows/' }, [{ status: 429, retryAfter: '7' }, { status: 503 }]);
    const flow = await prefect.createFlow({ name: 'retry-me' });
    expect(flow.name).toBe('retry-me');
    expect(api.calls('create_flow').map((r) => r.status)).toEqual([429, 503, 201]);
    expect(waits[0]).toBe(7000);
    expect(waits).toHaveLength(2);
  });

  it('gives up after the attempts with a GuidedError, and does not retry a 404', async () => {
    api = await startPrefectApi();
    const prefect = new PrefectClient(connect(api), { ...noWait, attempts: 3 });
    api.failNext({ path: /^\/flow_runs\// }, [{ status: 503 }, { status: 503 }, { status: 503 }]);
    await expect(prefect.readFlowRun(randomUUID())).rejects.toThrow(/answered 503.*kept failing after retries/s);
    expect(api.calls('read_flow_run')).toHaveLength(3);
    await expect(prefect.readFlowRun(randomUUID())).rejects.toThrow(/404.*Flow run not found/);
    expect(api.calls('read_flow_run')).toHaveLength(4);
  });

  it('sends the Cloud key as a Bearer token over HTTPS and explains a refused key', async () => {
    api = await startPrefectApi({ cloud: { apiKey: 'pnu_0123456789abcdefghijklmnopqrstuvwxyz' } });
    const good = new PrefectClient(connect(api, { apiKey: 'pnu_0123456789abcdefghijklmnopqrstuvwxyz' }), noWait);
    expect(await good.readWorkPool('none')).toBeUndefined();
    expect(api.requests[0]!.headers.authorization).toBe('Bearer pnu_0123456789abcdefghijklmnopqrstuvwxyz');
    const bad = new PrefectClient(connect(api, { apiKey: 'pnu_wrongwrongwrongwrongwrongwrongwrong' }), noWait);
    await expect(bad.readWorkPool('none')).rejects.toThrow(/401[\s\S]*did not accept "prefect-api-key"/);
  });

  it('checks its own answers against the response schema too, and flags operations it does not implement', async () => {
    api = await startPrefectApi();
    api.addWorkPool('bakery');
    const prefect = new PrefectClient(connect(api), noWait);
    const flow = await prefect.createFlow({ name: 'oisst' });
    const deployment = await prefect.createDeployment({ name: 'bakery', flow_id: flow.id, work_pool_name: 'bakery' });
    expect(api.problems).toEqual([]);
    api.deployments.get(deployment.id)!.paused = 'sometimes'; // what a broken server would answer
    await prefect.readDeployment(deployment.id);
    expect(api.problems).toEqual([expect.stringMatching(/^response of read_deployment_deployments__id__get breaks the schema: \/paused must be boolean/)]);
    const raw = await fetch(`${api.apiUrl}/flows/filter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(raw.status).toBe(501);
    expect(api.problems.at(-1)).toBe('the stand-in does not implement read_flows_flows_filter_post');
    api.problems.length = 0;
  });

  it('explains an unreachable API and a UI URL given in place of the API', async () => {
    const prefect = new PrefectClient(parsePrefectApiUrl('http://127.0.0.1:9/api'), { ...noWait, attempts: 2 });
    await expect(prefect.readWorkPool('x')).rejects.toThrow(/Could not reach the Prefect API/);
    expect(prefectDetail('{"detail":"Deployment not found"}')).toBe('Deployment not found');
  });
});
