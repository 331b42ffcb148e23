import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWorkflow, type CallerContext, type RunnerMachine } from './workflow-runner.js';

// The runner the e2e test drives deploy.yml and destroy.yml with: the runner behaviour it reproduces,
// and the refusals that keep a wiring mistake from passing silently. Run steps only (bash), so fast.

const machine: RunnerMachine = {
  env: {},
  oidcEnv: { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://127.0.0.1:1/token', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' },
  cloudInputs: { 'arm-endpoint': 'https://127.0.0.1:1' },
  checkoutCaller: (directory) => writeFileSync(path.join(directory, 'caller.txt'), 'the caller\'s repository\n'),
};

function caller(inputs: CallerContext['inputs'] = {}, vars: Record<string, string> = {}): CallerContext {
  return { inputs, secrets: { TOKEN: 's3cret' }, vars, github: { sha: 'a'.repeat(40), repository: 'octo-org/octo-repo', ref: 'refs/heads/main', token: 'ghs_runner_test' } };
}

function workflowFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'e2e-runner-')), 'workflow.yml');
  writeFileSync(file, text);
  return file;
}

const HEADER = `
on:
  workflow_call:
    inputs:
      environment: { type: string, required: true }
      flag: { type: boolean, default: false }
    secrets:
      TOKEN: { required: false }
    outputs:
      greeting: { value: "\${{ jobs.second.outputs.greeting }}" }
concurrency:
  group: demo-\${{ inputs.environment }}
permissions: {}
`;

describe('runWorkflow', () => {
  it('runs jobs in needs order, passes outputs through job outputs and needs, and evaluates the workflow outputs', async () => {
    const file = workflowFile(`${HEADER}
jobs:
  second:
    needs: first
    runs-on: ubuntu-latest
    outputs:
      greeting: \${{ steps.hello.outputs.text }}
    steps:
      - id: hello
        env:
          NAME: \${{ needs.first.outputs.name }}
          FLAG: \${{ inputs.flag }}
        run: echo "text=hello \${NAME} \${FLAG}" >> "$GITHUB_OUTPUT"
  first:
    runs-on: \${{ inputs.environment }}-runner
    permissions:
      id-token: write
    outputs:
      name: \${{ steps.name.outputs.name }}
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
      - id: name
        run: |
          test -f caller.txt
          test -n "$ACTIONS_ID_TOKEN_REQUEST_URL"
          echo "name=\${{ inputs.environment }}" >> "$GITHUB_OUTPUT"
`);
    const run = await runWorkflow(file, caller({ environment: 'dev' }), machine);
    expect(Object.keys(run.jobs)).toEqual(['first', 'second']);
    expect(run.jobs.first!.runsOn).toBe('dev-runner');
    expect(run.jobs.second!.outputs).toEqual({ greeting: 'hello dev false' });
    expect(run.outputs).toEqual({ greeting: 'hello dev false' });
    expect(run.concurrencyGroup).toBe('demo-dev');
  });

  it('skips the steps after a failure and the jobs that need a failed one; gives no OIDC variables without id-token: write', async () => {
    const file = workflowFile(`${HEADER}
jobs:
  first:
    runs-on: ubuntu-latest
    steps:
      - id: no-oidc
        run: test -z "\${ACTIONS_ID_TOKEN_REQUEST_URL:-}"
      - id: fails
        run: exit 3
      - id: after
        run: echo never
  second:
    needs: first
    runs-on: ubuntu-latest
    outputs:
      greeting: 'unused'
    steps:
      - run: echo never
`);
    const run = await runWorkflow(file, caller({ environment: 'dev' }), machine);
    expect(run.jobs.first!.steps.map((step) => `${step.id}: ${step.status}`)).toEqual(['no-oidc: success', 'fails: failure', 'after: skipped']);
    expect(run.jobs.first!.steps[1]!.exitCode).toBe(3);
    expect(run.jobs.second!.status).toBe('skipped');
    expect(run.outputs).toEqual({ greeting: '' });
  });

  it('drops a job output that holds a masked value, as the runner does', async () => {
    const file = workflowFile(`${HEADER}
jobs:
  second:
    runs-on: ubuntu-latest
    outputs:
      greeting: \${{ steps.a.outputs.value }}
    steps:
      - id: a
        run: |
          echo "::add-mask::hunter2"
          echo "value=password hunter2" >> "$GITHUB_OUTPUT"
`);
    const run = await runWorkflow(file, caller({ environment: 'dev' }), machine);
    expect(run.jobs.second!.skippedOutputs).toEqual(['greeting']);
    expect(run.outputs).toEqual({ greeting: '' });
  });

  it('carries GITHUB_ENV to the later steps of the job, as the runner does', async () => {
    const file = workflowFile(`${HEADER}
jobs:
  second:
    runs-on: ubuntu-latest
    outputs:
      greeting: \${{ steps.read.outputs.value }}
    steps:
      - run: echo "EXPORTED=from-step-one" >> "$GITHUB_ENV"
      - id: read
        run: echo "value=$EXPORTED" >> "$GITHUB_OUTPUT"
`);
    const run = await runWorkflow(file, caller({ environment: 'dev' }), machine);
    expect(run.outputs).toEqual({ greeting: 'from-step-one' });
  });

  it.each([
    ['an output a step that succeeded never set', `steps:\n      - id: a\n        run: echo "other=1" >> "$GITHUB_OUTPUT"\n      - env:\n          X: \${{ steps.a.outputs.missing }}\n        run: echo`, /steps\.a\.outputs\.missing: step 'a' ran but did not set output 'missing' \(it set: other\)/],
    ['a step that has not run yet', `steps:\n      - env:\n          X: \${{ steps.later.outputs.x }}\n        run: echo\n      - id: later\n        run: echo`, /no step 'later' has run before this point/],
    ['an input the workflow does not declare', `steps:\n      - env:\n          X: \${{ inputs.enviroment }}\n        run: echo`, /inputs\.enviroment: .* declares no such input/],
    ['a variable the test context does not define', `steps:\n      - env:\n          X: \${{ vars.AZURE_TENANT }}\n        run: echo`, /does not say whether variable AZURE_TENANT is set/],
    ['a secret the workflow does not declare', `steps:\n      - env:\n          X: \${{ secrets.PREFECT_KEY }}\n        run: echo`, /declares no secret PREFECT_KEY/],
    ['a context it does not model', `steps:\n      - env:\n          X: \${{ runner.temp }}\n        run: echo`, /runner\.temp: this runner cannot evaluate that reference/],
    ['a status function in if:', `steps:\n      - if: always()\n        run: echo`, /function call \(always\(…\)\)/],
    ['a third-party action', `steps:\n      - uses: docker/login-action@v3`, /cannot run docker\/login-action@v3/],
    ['an input this repository\'s action does not declare', `steps:\n      - uses: azure-bakery/azure-bakery-actions/actions/plan@v1\n        with:\n          enviroment: dev`, /actions\/plan declares no input 'enviroment'/],
    ['a cloud input the workflow sets itself', `steps:\n      - uses: azure-bakery/azure-bakery-actions/actions/plan@v1\n        with:\n          environment: dev\n          arm-endpoint: https://management.azure.com`, /passes 'arm-endpoint' itself/],
    ['continue-on-error', `steps:\n      - run: exit 1\n        continue-on-error: true`, /'continue-on-error' is not supported/],
  ])('fails the run on %s', async (_, steps, message) => {
    const file = workflowFile(`${HEADER}
jobs:
  second:
    runs-on: ubuntu-latest
    outputs:
      greeting: ''
    ${steps}
`);
    await expect(runWorkflow(file, caller({ environment: 'dev' }), machine)).rejects.toThrow(message);
  });

  it('fails on a caller input the workflow does not declare, a wrong type, or a missing required input', async () => {
    const file = workflowFile(`${HEADER}
jobs:
  second:
    runs-on: ubuntu-latest
    outputs:
      greeting: ''
    steps:
      - run: echo
`);
    await expect(runWorkflow(file, caller({ environment: 'dev', colour: 'blue' }), machine)).rejects.toThrow(/declares no input 'colour'/);
    await expect(runWorkflow(file, caller({ environment: 'dev', flag: 'true' }), machine)).rejects.toThrow(/input 'flag' is a boolean/);
    await expect(runWorkflow(file, caller({}), machine)).rejects.toThrow(/required input 'environment' was not passed/);
  });
});
