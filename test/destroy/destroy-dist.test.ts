import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AzureStandIn } from '../support/azure-stand-in.js';
import { installFakeTerraform } from '../support/fake-terraform.js';
import { runDist } from '../support/run-dist.js';
import { BAKERY, METAFLOW_INFRA, METAFLOW_SERVICES, makeWorkspace } from '../deploy/helpers.js';

// The built action (dist/destroy/index.js; `npm run bundle destroy`) as a runner runs it.

let azure: AzureStandIn;

beforeAll(async () => {
  azure = await new AzureStandIn().start();
});

afterAll(async () => {
  await azure?.stop();
});

describe('dist/destroy/index.js as a runner runs it', () => {
  it('refuses a wrong confirmation at once, saying what to type, with nothing run', async () => {
    const terraform = installFakeTerraform();
    const run = await runDist('destroy', {
      cwd: makeWorkspace([BAKERY]),
      inputs: { environment: 'dev', confirm: 'yes please', 'working-directories': BAKERY },
      env: { ...azure.authEnv('client-secret'), ...terraform.env },
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('::error::destroy: Input "confirm" is "yes please", which is not the environment\'s name, so nothing was destroyed. To destroy the environment "dev" and everything in it, set "confirm" to exactly: dev');
    expect(terraform.calls()).toEqual([]);
    expect(azure.requests).toEqual([]);
    expect(run.durationMs).toBeLessThan(3000);
  });

  it('refuses a protected environment', async () => {
    const run = await runDist('destroy', { inputs: { environment: 'production', confirm: 'production' } });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('::error::destroy: Input "environment" is "production", which matches the protected-environments pattern "prod*", so nothing was destroyed.');
  });

  it('destroys the root modules in reverse order and sets destroyed', async () => {
    const workspace = makeWorkspace([METAFLOW_INFRA, METAFLOW_SERVICES]);
    const terraform = installFakeTerraform();
    const run = await runDist('destroy', {
      cwd: workspace,
      inputs: {
        environment: 'dev',
        confirm: 'dev',
        'working-directories': `${METAFLOW_INFRA}\n${METAFLOW_SERVICES}`,
        'terraform-binary': path.join(terraform.binDir, 'terraform'),
      },
      env: { ...azure.authEnv('client-secret'), ...terraform.env, FAKE_TF_DESTROYED: '3' },
    });
    expect(run.stderr).toBe('');
    expect(run.exitCode, run.stdout).toBe(0);
    expect(terraform.calls().filter((call) => call.command === 'destroy').map((call) => path.relative(workspace, call.cwd))).toEqual([METAFLOW_SERVICES, METAFLOW_INFRA]);
    expect(run.outputs.destroyed).toBe('true');
    expect(run.summary).toContain('| Root module `terraform/stacks/metaflow/infra` | Destroy complete! Resources: 3 destroyed. | 1 |');
    const log = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n');
    expect(run.stdout).toContain('::add-mask::test-client-secret');
    expect(log).not.toContain('test-client-secret');
  });

  it('action.yml: node24, the bundle, every input and output described', () => {
    const action = YAML.parse(readFileSync(path.resolve(import.meta.dirname, '../../actions/destroy/action.yml'), 'utf8')) as {
      name: string;
      description: string;
      branding: { icon: string; color: string };
      inputs: Record<string, { description: string; required?: boolean; default?: string }>;
      outputs: Record<string, { description: string }>;
      runs: { using: string; main: string };
    };
    expect(action.runs).toEqual({ using: 'node24', main: '../../dist/destroy/index.js' });
    expect(action.branding.icon).toBeTruthy();
    for (const name of ['environment', 'confirm', 'protected-environments', 'allow-protected', 'working-directories', 'backend-config-file', 'resource-group', 'cluster-name', 'namespace', 'destroy-remote-state', 'var-files', 'variables', 'max-attempts']) {
      expect(action.inputs[name]?.description, name).toBeTruthy();
    }
    expect(action.inputs['protected-environments']!.default).toBe('prod*');
    expect(Object.keys(action.outputs)).toEqual(['destroyed']);
  });
});
