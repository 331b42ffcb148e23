import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GuidedError } from '../../src/lib/errors.js';
import { MetaflowOutput } from '../../src/register-flow/metaflow.js';
import { AzureStandIn, TEST_IDS } from '../support/azure-stand-in.js';
import { makeWorkspace, runInProcess } from './helpers.js';

/** A `python` on PATH that is test/register-flow/fake-python.mjs: it checks argv/env and prints Metaflow's output. */
function fakePythonDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-python-'));
  const shim = path.join(dir, 'python');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${path.resolve('test/register-flow/fake-python.mjs')}" "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

const CONFIG = {
  METAFLOW_DEFAULT_DATASTORE: 'azure',
  METAFLOW_DATASTORE_SYSROOT_AZURE: 'metaflow/metaflow',
  METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT: 'https://metaflowdata.blob.core.windows.net/',
  METAFLOW_DEFAULT_METADATA: 'service',
  METAFLOW_SERVICE_URL: 'http://127.0.0.1:8080/',
  METAFLOW_KUBERNETES_NAMESPACE: 'metaflow',
  METAFLOW_KUBERNETES_SERVICE_ACCOUNT: 'metaflow-steps',
  METAFLOW_ARGO_WORKFLOWS_UI_URL: 'https://argo.bakery.example.org/',
};

let azure: AzureStandIn;
let pythonDir: string;
let workspace: string;

beforeAll(async () => {
  azure = await new AzureStandIn().start();
  pythonDir = fakePythonDir();
  workspace = makeWorkspace({ 'flows/train.py': 'from metaflow import FlowSpec, step\n\nclass TrainFlow(FlowSpec):\n    @step\n    def start(self):\n        self.next(self.end)\n\n    @step\n    def end(self):\n        pass\n' });
});

afterAll(async () => {
  await azure?.stop();
});

function run(extraInputs: Record<string, string>, env: Record<string, string>, expectation: object, scenario = 'first-deploy'): ReturnType<typeof runInProcess> {
  return runInProcess(
    { orchestrator: 'metaflow', flows: 'flows/train.py', 'working-directory': workspace, 'metaflow-config': JSON.stringify(CONFIG), tags: 'bakery', ...extraInputs },
    { PATH: `${pythonDir}${path.delimiter}${process.env.PATH}`, FAKE_METAFLOW_EXPECT: JSON.stringify(expectation), FAKE_METAFLOW_SCENARIO: scenario, ...env },
  );
}

describe('register-flow with Metaflow', () => {
  it('runs `python <flow.py> --with kubernetes argo-workflows create` with the config and identity as environment, and reports the template', async () => {
    const record = path.join(mkdtempSync(path.join(tmpdir(), 'mf-')), 'seen.json');
    const result = await run(
      {},
      { ...azure.authEnv('client-secret'), FAKE_METAFLOW_RECORD: record },
      {
        args: ['flows/train.py', '--with', 'kubernetes', 'argo-workflows', 'create', '--tag', 'bakery'],
        env: { ...CONFIG, AZURE_CLIENT_ID: TEST_IDS.clientId, AZURE_TENANT_ID: TEST_IDS.tenantId, AZURE_CLIENT_SECRET: TEST_IDS.clientSecret, AZURE_AUTHORITY_HOST: azure.url },
      },
    );
    expect(result.error).toBeUndefined();
    expect(JSON.parse(readFileSync(record, 'utf8')).cwd).toBe(workspace);
    expect(result.outputs['deployment-id']).toBe('trainflow');
    expect(result.outputs['deployment-url']).toBe('https://argo.bakery.example.org/workflow-templates/metaflow/trainflow');
    expect(result.outputs['flow-run-id']).toBe('');
    expect(JSON.parse(result.outputs.deployments!)).toEqual([{ flow: 'TrainFlow', file: 'flows/train.py', workflow_template: 'trainflow', url: 'https://argo.bakery.example.org/workflow-templates/metaflow/trainflow' }]);
    expect(result.summary).toContain('[trainflow](https://argo.bakery.example.org/workflow-templates/metaflow/trainflow)');
    expect(result.summary).toContain('| No triggers defined. You need to launch this workflow manually. |');

    // Metaflow's output is in the log, but the production token (it authorises redeploys) is masked.
    const printed = result.log.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n');
    expect(printed).toContain('Workflow trainflow for flow TrainFlow pushed to Argo Workflows successfully.');
    expect(printed).toContain('production:***');
    expect(printed).not.toContain('trainflow-0-xqzv');
    expect(printed).not.toContain(TEST_IDS.clientSecret);
    expect(result.log).toContain('::add-mask::trainflow-0-xqzv');
  });

  it('gives Metaflow the job\'s OIDC identity as a federated token file, removed afterwards', async () => {
    const record = path.join(mkdtempSync(path.join(tmpdir(), 'mf-')), 'seen.json');
    const result = await run({}, { ...azure.authEnv('oidc'), FAKE_METAFLOW_RECORD: record }, {
      env: { AZURE_CLIENT_ID: TEST_IDS.clientId, AZURE_TENANT_ID: TEST_IDS.tenantId },
      absent: ['AZURE_CLIENT_SECRET'],
      federatedToken: true,
    });
    expect(result.error).toBeUndefined();
    const { tokenFile } = JSON.parse(readFileSync(record, 'utf8')) as { tokenFile: string };
    expect(tokenFile).toBeTruthy();
    expect(existsSync(tokenFile)).toBe(false);
    expect(azure.githubTokens.size).toBeGreaterThan(0);
  });

  it('fails with Metaflow\'s last lines when it exits non-zero', async () => {
    const result = await run({ auth: 'azure-cli' }, {}, {}, 'fail');
    expect(result.error).toBeInstanceOf(GuidedError);
    expect(result.error!.message).toContain('Metaflow exited with 1 deploying flows/train.py');
    expect(result.error!.message).toContain('Unable to find kubernetes config file');
    expect(result.error!.message).toContain('a kubeconfig for the cluster');
  });

  it('fails when Metaflow exits 0 without pushing a workflow', async () => {
    const result = await run({ auth: 'azure-cli' }, {}, {}, 'only-json');
    expect(result.error).toBeInstanceOf(GuidedError);
    expect(result.error!.message).toContain('reported no workflow pushed to Argo Workflows');
  });

  it('prints status lines while Metaflow is quiet (packaging and uploading the code)', async () => {
    const result = await runInProcess(
      { orchestrator: 'metaflow', flows: 'flows/train.py', 'working-directory': workspace, 'metaflow-config': JSON.stringify(CONFIG), auth: 'azure-cli' },
      { PATH: `${pythonDir}${path.delimiter}${process.env.PATH}`, FAKE_METAFLOW_QUIET_MS: '600' },
      { metaflow: { statusIntervalMs: 100 } },
    );
    expect(result.error).toBeUndefined();
    const log = result.log.split('\n');
    const deploying = log.findIndex((line) => line.startsWith('Deploying trainflow to Argo Workflows'));
    const next = log.findIndex((line) => line.startsWith('It seems this is the first time'));
    const statusLines = log.slice(deploying, next).filter((line) => /^… still deploying flows\/train\.py with Metaflow \(\d+ s\)$/.test(line));
    expect(statusLines.length).toBeGreaterThanOrEqual(2);
    // Once Metaflow is done, no status line follows.
    expect(log.slice(next).some((line) => line.startsWith('… still deploying'))).toBe(false);
  });

  it('fails the step when the fake sees the wrong command line (the check is real)', async () => {
    const result = await run({ auth: 'azure-cli' }, {}, { args: ['flows/train.py', 'run'] });
    expect(result.error).toBeInstanceOf(GuidedError);
    expect(result.error!.message).toContain('Metaflow exited with 97');
    expect(result.error!.message).toContain('fake python: argv');
  });
});

describe('MetaflowOutput', () => {
  it('reads the template through ANSI colours and erase-to-end-of-line', () => {
    const output = new MetaflowOutput();
    output.accept('\x1b[1mWorkflow \x1b[31mtrainflow\x1b[0m\x1b[1m for flow \x1b[31mTrainFlow\x1b[0m\x1b[1m pushed to Argo Workflows successfully.\x1b[0m\x1b[K');
    output.accept('What will trigger execution of the workflow:');
    output.accept('    This workflow triggers automatically via the CronWorkflow trainflow.');
    expect(output.workflowTemplate).toBe('trainflow');
    expect(output.flowName).toBe('TrainFlow');
    expect(output.triggers).toBe('This workflow triggers automatically via the CronWorkflow trainflow.');
  });
});
