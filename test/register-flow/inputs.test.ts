import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/lib/errors.js';
import { resetSecretsForTesting, scrub } from '../../src/lib/mask.js';
import { findFlowFunctions, resolveMetaflowFlows, resolvePrefectFlows } from '../../src/register-flow/entrypoints.js';
import { checkCron, readInputs } from '../../src/register-flow/inputs.js';
import { platformEnvironment } from '../../src/register-flow/prefect-flows.js';
import { configurationErrorOf, readWith } from '../support/action-inputs.js';
import { OISST_FLOW, makeWorkspace } from './helpers.js';

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  resetSecretsForTesting();
});

const PREFECT = {
  flows: 'flows/oisst/flow.py',
  'prefect-api-url': 'http://127.0.0.1:4200/api',
  'work-pool': 'bakery',
  image: 'bakeryacr.azurecr.io/bakery-flows:1.0',
  'flow-storage-blob-endpoint': 'https://bakeryflows.blob.core.windows.net/',
  'flow-storage-container': 'flows',
  auth: 'azure-cli',
};

function read(inputs: Record<string, string>): ReturnType<typeof readInputs> {
  return readWith(inputs, readInputs);
}

function configurationError(inputs: Record<string, string>): ConfigurationError {
  return configurationErrorOf(() => read(inputs));
}

describe('readInputs', () => {
  it('reads a Prefect registration with its defaults', () => {
    const inputs = read(PREFECT);
    expect(inputs).toMatchObject({
      orchestrator: 'prefect',
      workPool: 'bakery',
      deploymentName: 'bakery',
      namespace: 'bakery',
      serviceAccount: 'bakery-worker',
      blobEndpoint: 'https://bakeryflows.blob.core.windows.net',
      codePrefix: 'flows',
      run: false,
      runTimeoutMs: 30 * 60_000,
      pollIntervalMs: 5000,
      parameters: {},
    });
  });

  it.each([
    [{ flows: '' }, 'flows', 'is required but empty'],
    // Checked up front, so a typo is not reported later as a flow file that does not exist.
    [{ 'working-directory': 'no/such/dir' }, 'working-directory', 'is "no/such/dir", which is not a directory in the workspace'],
    [{ 'work-pool': '' }, 'work-pool', 'is required'],
    [{ image: 'Not An Image' }, 'image', 'is not an image reference'],
    [{ 'flow-storage-container': 'Flows_Container' }, 'flow-storage-container', 'is not a blob container name'],
    [{ 'flow-cache-container': 'flow--cache' }, 'flow-cache-container', 'is not a blob container name'],
    [{ 'flow-storage-blob-endpoint': 'http://bakeryflows.blob.core.windows.net' }, 'flow-storage-blob-endpoint', 'plain http://'],
    [{ namespace: 'Bakery' }, 'namespace', 'is not a Kubernetes namespace name'],
    [{ parameters: '["a"]' }, 'parameters', 'is JSON array, not an object'],
    [{ parameters: '{"start": ' }, 'parameters', 'is not valid JSON'],
    [{ cron: '0 6 * *' }, 'cron', 'has 4 fields, not 5'],
    [{ cron: '0 0 6 * * *' }, 'cron', 'a seconds field is not supported'],
    [{ cron: '@daily' }, 'cron', 'write a macro such as @daily as "0 0 * * *"'],
    [{ cron: '0 25 * * *' }, 'cron', 'has 25 in its hour field, outside 0–23'],
    [{ cron: '0 6 * * *', timezone: 'Mars/Olympus' }, 'timezone', 'is not an IANA time zone'],
    [{ 'run-timeout': '5s' }, 'run-timeout', 'outside the accepted range'],
    [{ 'run-timeout': 'soon' }, 'run-timeout', 'is not a duration'],
    [{ 'log-analytics-workspace-id': 'bakery-logs' }, 'log-analytics-workspace-id', 'neither a workspace resource id nor a workspace GUID'],
    [{ 'prefect-api-url': 'https://api.prefect.cloud/api/accounts/6b7c1b4e-3d0c-4b4e-9d5e-2f6a1c0e8a11/workspaces/0f2c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f' }, 'prefect-api-key', 'Prefect Cloud refuses calls without an API key'],
    [{ 'prefect-api-url': 'http://prefect.example.org/api', 'prefect-api-auth-string': 'admin:pass' }, 'prefect-api-url', 'would send the credential unencrypted'],
    [{ orchestrator: 'airflow' }, 'orchestrator', 'is not one of the accepted values'],
    [{ 'flow-pod-tolerations': '{"key":"spot"}' }, 'flow-pod-tolerations', 'is JSON object, not a list of tolerations'],
    [{ 'flow-pod-node-selector': '{"pool":true}' }, 'flow-pod-node-selector', 'which is not a valid label value'],
  ])('refuses %j naming "%s"', (override, input, problem) => {
    const error = configurationError({ ...PREFECT, ...override });
    expect(error.input).toBe(input);
    expect(error.message).toContain(problem);
  });

  it("gives flow runs the platform's facts as job_variables.env, the cache container only when given", () => {
    const inputs = read({ ...PREFECT, namespace: 'pangeo', 'service-account': 'pangeo-worker', 'flow-cache-container': 'flow-cache' });
    if (inputs.orchestrator !== 'prefect') throw new Error('expected Prefect inputs');
    expect(platformEnvironment(inputs)).toEqual({
      BAKERY_IMAGE: 'bakeryacr.azurecr.io/bakery-flows:1.0',
      BAKERY_NAMESPACE: 'pangeo',
      BAKERY_SERVICE_ACCOUNT: 'pangeo-worker',
      BAKERY_FLOW_STORAGE_ACCOUNT: 'bakeryflows',
      BAKERY_FLOW_STORAGE_BLOB_ENDPOINT: 'https://bakeryflows.blob.core.windows.net',
      BAKERY_FLOW_STORAGE_CONTAINER: 'flows',
      BAKERY_FLOW_CACHE_CONTAINER: 'flow-cache',
    });
    const withoutCache = read(PREFECT);
    if (withoutCache.orchestrator !== 'prefect') throw new Error('expected Prefect inputs');
    expect(Object.keys(platformEnvironment(withoutCache))).not.toContain('BAKERY_FLOW_CACHE_CONTAINER');
    // A sovereign cloud's endpoint names its account the same way.
    const usGov = read({ ...PREFECT, 'flow-storage-blob-endpoint': 'https://bakeryflowsgov.blob.core.usgovcloudapi.net/' });
    if (usGov.orchestrator !== 'prefect') throw new Error('expected Prefect inputs');
    expect(platformEnvironment(usGov)).toMatchObject({ BAKERY_FLOW_STORAGE_ACCOUNT: 'bakeryflowsgov', BAKERY_FLOW_STORAGE_BLOB_ENDPOINT: 'https://bakeryflowsgov.blob.core.usgovcloudapi.net' });
  });

  it('passes the flow pods\' tolerations and node selector on as JSON, for the pods a flow starts (Dask), only when given', () => {
    const tolerations = '[{"key":"kubernetes.azure.com/scalesetpriority","operator":"Equal","value":"spot","effect":"NoSchedule"}]';
    const inputs = read({ ...PREFECT, 'flow-pod-tolerations': tolerations, 'flow-pod-node-selector': '{"bakery.pangeo-forge.org/pool":"workers"}' });
    if (inputs.orchestrator !== 'prefect') throw new Error('expected Prefect inputs');
    const env = platformEnvironment(inputs);
    expect(JSON.parse(env.BAKERY_FLOW_POD_TOLERATIONS!)).toEqual(JSON.parse(tolerations));
    expect(JSON.parse(env.BAKERY_FLOW_POD_NODE_SELECTOR!)).toEqual({ 'bakery.pangeo-forge.org/pool': 'workers' });
    // The stack's outputs without a Spot pool: an empty list, which sets nothing.
    const regular = read({ ...PREFECT, 'flow-pod-tolerations': '[]' });
    if (regular.orchestrator !== 'prefect') throw new Error('expected Prefect inputs');
    expect(Object.keys(platformEnvironment(regular))).not.toContain('BAKERY_FLOW_POD_TOLERATIONS');
    expect(Object.keys(platformEnvironment(regular))).not.toContain('BAKERY_FLOW_POD_NODE_SELECTOR');
  });

  it('accepts cron steps, lists, ranges and names within range', () => {
    for (const expression of ['*/15 * * * *', '0 6,18 * * 1-5', '30 2 1 JAN-MAR SUN', '0 0 L * *', '0 0 * * 5#3']) expect(() => checkCron(expression)).not.toThrow();
  });

  it('reads the Metaflow configuration as environment and masks secret-looking values', () => {
    const inputs = read({
      orchestrator: 'metaflow',
      flows: 'flows/train.py',
      'metaflow-config': JSON.stringify({ METAFLOW_DEFAULT_DATASTORE: 'azure', METAFLOW_SERVICE_AUTH_KEY: 'svc-key-1234567' }),
      auth: 'azure-cli',
    });
    expect(inputs).toMatchObject({ orchestrator: 'metaflow', python: 'python', metaflowConfig: { METAFLOW_DEFAULT_DATASTORE: 'azure' } });
    expect(scrub('key=svc-key-1234567 store=azure')).toBe('key=*** store=azure');
  });

  it.each([
    [{ 'metaflow-config': '' }, 'metaflow-config', 'is required with "orchestrator: metaflow"'],
    [{ 'metaflow-config': '{"METAFLOW_X": 1}' }, 'metaflow-config', 'set to a number, not a string'],
    [{ 'metaflow-config': '{"not a name": "x"}' }, 'metaflow-config', 'is not an environment variable name'],
    [{ 'metaflow-config': '{}' }, 'metaflow-config', 'is an empty object'],
    [{ run: 'true' }, 'run', 'with "orchestrator: prefect" only'],
    [{ auth: 'connection-string', 'connection-string': 'AccountName=a;AccountKey=b' }, 'auth', 'which Metaflow cannot use'],
  ])('refuses Metaflow input %j naming "%s"', (override, input, problem) => {
    const error = configurationError({ orchestrator: 'metaflow', flows: 'flows/train.py', 'metaflow-config': '{"METAFLOW_DEFAULT_DATASTORE": "azure"}', auth: 'azure-cli', ...override });
    expect(error.input).toBe(input);
    expect(error.message).toContain(problem);
  });

  it('never quotes a secret-bearing JSON input back', () => {
    const error = configurationError({ orchestrator: 'metaflow', flows: 'f.py', 'metaflow-config': '{"METAFLOW_SERVICE_AUTH_KEY": "s3cr3t-value-9876" oops}', auth: 'azure-cli' });
    expect(error.message).toContain('is not valid JSON');
    expect(error.message).not.toContain('s3cr3t');
  });
});

describe('findFlowFunctions', () => {
  it('finds top-level @flow functions and their Prefect names', () => {
    const source = [
      'from prefect import flow',
      'import prefect',
      '',
      '@flow',
      'def simple_flow():',
      '    pass',
      '',
      '@prefect.flow(',
      '    name="named-flow",',
      '    retries=2,',
      ')',
      '@other_decorator(x=(1, 2))',
      '# a comment',
      'async def named():',
      '    pass',
      '',
      '@flow(name=NAME)',
      'def computed_name():',
      '    pass',
      '',
      'class Holder:',
      '    @flow',
      '    def method(self):',
      '        pass',
      '',
      '@flowery',
      'def not_a_flow():',
      '    pass',
    ].join('\n');
    expect(findFlowFunctions(source)).toEqual([
      { functionName: 'simple_flow', flowName: 'simple-flow', nameIsComputed: false },
      { functionName: 'named', flowName: 'named-flow', nameIsComputed: false },
      { functionName: 'computed_name', flowName: 'computed-name', nameIsComputed: true },
    ]);
  });
});

describe('resolvePrefectFlows', () => {
  const workspace = makeWorkspace({
    'flows/oisst/flow.py': OISST_FLOW,
    'flows/two/flow.py': '@flow\ndef a():\n    pass\n\n@flow\ndef b():\n    pass\n',
    'flows/none/flow.py': 'def plain():\n    pass\n',
    'flows/wrapped/flow.py': 'from prefect import flow\n\ndef impl():\n    pass\n\nwrapped = flow(name="wrapped")(impl)\n',
  });

  it('takes file.py:function as given, checking the function exists', async () => {
    const [entry] = await resolvePrefectFlows(['flows/oisst/flow.py:noaa_oisst'], workspace);
    expect(entry).toMatchObject({ displayPath: 'flows/oisst/flow.py', functionName: 'noaa_oisst', flowName: 'noaa-oisst' });
    const [wrapped] = await resolvePrefectFlows(['flows/wrapped/flow.py:wrapped'], workspace);
    expect(wrapped).toMatchObject({ functionName: 'wrapped', flowName: 'wrapped' });
  });

  it.each([
    [['flows/oisst/flow.py:missing'], 'defines no top-level missing'],
    [['flows/two/flow.py'], 'has 2 @flow functions (a, b)'],
    [['flows/none/flow.py'], 'has no top-level @flow function'],
    [['flows/absent/flow.py'], 'which is not a file'],
    [['flows/*/flow.py:a'], 'combines a glob with a function name'],
    [['flows/none/*.py'], 'matches no file with a @flow function'],
    [['../outside/flow.py'], 'outside the working directory'],
    [['flows/oisst/README.md'], 'does not name a .py file'],
    [['flows/oisst/flow.py', 'flows/oisst/flow.py:noaa_oisst'], 'names the flow "noaa-oisst" twice'],
  ])('refuses %j', async (lines, problem) => {
    const error = await resolvePrefectFlows(lines, workspace).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).input).toBe('flows');
    expect((error as Error).message).toContain(problem);
  });

  it('expands a glob, skipping files without a @flow function', async () => {
    const entries = await resolvePrefectFlows(['flows/[no]*/flow.py'], workspace);
    expect(entries.map((e) => e.displayPath)).toEqual(['flows/oisst/flow.py']);
  });

  it('takes Metaflow flows as files', async () => {
    const entries = await resolveMetaflowFlows(['flows/*/flow.py'], workspace);
    expect(entries.map((e) => e.displayPath)).toEqual(['flows/none/flow.py', 'flows/oisst/flow.py', 'flows/two/flow.py', 'flows/wrapped/flow.py']);
    await expect(resolveMetaflowFlows(['flows/oisst/flow.py:noaa_oisst'], workspace)).rejects.toThrow(/a Metaflow flow is a file/);
  });
});
