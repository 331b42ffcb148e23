import { describe, expect, it } from 'vitest';
import { checkWorkflow, formatProblems, repositoryInMemory, repositoryOnDisk, type RepositoryMetadata } from './workflow-references.js';
import { REPO_ROOT, findStep, readRepoFile, workflowFiles } from './workflow-files.js';

const onDisk = repositoryOnDisk(REPO_ROOT);

describe('the references in every workflow and example', () => {
  // A reference to an action.yml that does not exist (yet) is a finding, not a skip.
  it.each(workflowFiles())('%s: each action and reusable workflow it uses exists, gets only inputs it declares and every required one, and declares every output read', (file) => {
    expect(formatProblems(checkWorkflow(file, readRepoFile(file), onDisk))).toEqual([]);
  });
});

describe('plans for review and plans for deploy', () => {
  // The plan action refuses lock: false with store-plan: true at run time; this catches it before a release.
  it.each([
    ['.github/workflows/plan.yml', 'plan'],
    ['.github/workflows/drift.yml', 'drift'],
  ])('%s plans without the state lock and stores no plan (read-only on the state)', (file, job) => {
    expect(findStep(file, job, 'plan').with).toMatchObject({ lock: false, 'store-plan': false });
  });

  it("deploy.yml's plan, which deploy applies, takes the state lock and is stored", () => {
    const { with: inputs } = findStep('.github/workflows/deploy.yml', 'plan', 'plan') as { with: Record<string, unknown> };
    expect(inputs.lock ?? true).toBe(true);
    expect(inputs['store-plan'] ?? true).toBe(true);
  });
});

// --- the checker itself, on small repositories and broken snippets --------------------------------

const PLAN_ACTION = `
name: Plan
inputs:
  environment:
    description: Environment.
    required: true
  working-directory:
    description: Root module.
    default: .
  backend-config-file:
    description: Backend file.
outputs:
  has-changes:
    description: Whether the plan changes anything.
  plan-id:
    description: Stored plan.
`;
const STATE_ACTION = `
name: State
inputs:
  identifier:
    description: Identifier.
    required: true
  read-only:
    description: Verify only.
    required: false
outputs:
  backend-config-file:
    description: Backend file.
`;
const REUSABLE_DEPLOY = `
on:
  workflow_call:
    inputs:
      environment: { type: string, required: true }
      region: { type: string, required: true, default: westeurope }
      smoke-run: { type: boolean, default: false }
    secrets:
      PREFECT_API_KEY: { required: true }
    outputs:
      image:
        value: \${{ jobs.apply.outputs.image }}
jobs:
  apply:
    runs-on: ubuntu-latest
    outputs:
      image: \${{ steps.build.outputs.image }}
    steps:
      - id: build
        run: echo "image=x" >> "$GITHUB_OUTPUT"
`;
const repository: RepositoryMetadata = repositoryInMemory({ plan: PLAN_ACTION, 'setup-remote-state': STATE_ACTION }, { 'deploy.yml': REUSABLE_DEPLOY });

const CHECKOUT = 'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1';
const BUNDLED_CHECKOUT_STEP = `      - uses: ${CHECKOUT}
        with:
          repository: azure-bakery/azure-bakery-actions
          ref: v1 # azure-bakery-actions release ref
          path: .azure-bakery-actions
          sparse-checkout: |
            .github/workflows/scripts
`;

/** A reusable workflow with one job whose steps are `steps` (YAML, indented for a step list). */
function reusable(steps: string): string {
  return `on:
  workflow_call:
    inputs:
      environment: { type: string, required: true }
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
${steps}`;
}

const GOOD_STEPS = `      - uses: ${CHECKOUT}
      - id: state
        uses: azure-bakery/azure-bakery-actions/actions/setup-remote-state@v1
        with:
          identifier: contoso
          read-only: true
      - id: plan
        uses: azure-bakery/azure-bakery-actions/actions/plan@v1
        with:
          environment: \${{ inputs.environment }}
          backend-config-file: \${{ steps.state.outputs.backend-config-file }}
      - if: steps.plan.outputs.has-changes == 'true'
        run: echo "\${{ steps.plan.outputs['plan-id'] }}"
`;

function problemsOf(text: string, file = '.github/workflows/example.yml', repo = repository): string[] {
  return checkWorkflow(file, text, repo).map((problem) => problem.message);
}

describe('checkWorkflow', () => {
  it('accepts a correct workflow', () => {
    expect(problemsOf(reusable(GOOD_STEPS))).toEqual([]);
  });

  it('reports an input the action does not declare', () => {
    const text = reusable(GOOD_STEPS.replace('read-only: true', 'read-only: true\n          readonly: true'));
    expect(problemsOf(text)).toEqual([expect.stringContaining("actions/setup-remote-state has no input 'readonly'")]);
  });

  it('reports a required input that is not passed, and names its line', () => {
    const text = reusable(GOOD_STEPS.replace('          identifier: contoso\n', ''));
    const problems = checkWorkflow('w.yml', text, repository);
    expect(problems.map((problem) => problem.message)).toEqual([expect.stringContaining("requires input 'identifier'")]);
    expect(text.split('\n')[problems[0]!.line - 1]).toContain('actions/setup-remote-state@v1');
  });

  it('does not require an input that has a default even when marked required', () => {
    const repo = repositoryInMemory({ plan: PLAN_ACTION.replace('    description: Root module.\n    default: .', '    description: Root module.\n    required: true\n    default: .'), 'setup-remote-state': STATE_ACTION });
    expect(problemsOf(reusable(GOOD_STEPS), undefined, repo)).toEqual([]);
  });

  it('reports an output the action does not declare', () => {
    const text = reusable(GOOD_STEPS.replace("steps.plan.outputs['plan-id']", 'steps.plan.outputs.plan-sha256'));
    expect(problemsOf(text)).toEqual([expect.stringContaining("actions/plan declares no output 'plan-sha256'")]);
  });

  it('reports an output read in an if: expression (no ${{ }})', () => {
    const text = reusable(GOOD_STEPS.replace("if: steps.plan.outputs.has-changes == 'true'", "if: steps.plan.outputs.changed == 'true'"));
    expect(problemsOf(text)).toEqual([expect.stringContaining("declares no output 'changed'")]);
  });

  it('reports a read of a step that does not exist, and of one that runs later', () => {
    const missing = reusable(GOOD_STEPS.replace('steps.state.outputs.backend-config-file', 'steps.remote-state.outputs.backend-config-file'));
    expect(problemsOf(missing)).toEqual([expect.stringContaining("no step with id 'remote-state'")]);
    const later = reusable(GOOD_STEPS.replace('steps.state.outputs.backend-config-file', 'steps.plan.outputs.plan-id'));
    expect(problemsOf(later)).toEqual([expect.stringContaining("step 'plan' runs in the same step")]);
  });

  it("reports a run step's output that the script never writes", () => {
    const text = reusable(`      - id: tag
        run: echo "major=v1" >> "$GITHUB_OUTPUT"
      - run: echo "\${{ steps.tag.outputs.major }} \${{ steps.tag.outputs.minor }}"
`);
    expect(problemsOf(text)).toEqual([expect.stringContaining("step 'tag' never writes 'minor='")]);
  });

  it("follows a run step into this repository's script from the bundled checkout", () => {
    const text = reusable(`${BUNDLED_CHECKOUT_STEP}      - id: stack
        run: bash .azure-bakery-actions/.github/workflows/scripts/stack.sh
      - run: echo "\${{ steps.stack.outputs.var-files }} \${{ steps.stack.outputs.working-directory }}"
`);
    const script = 'echo "var-files<<$delimiter" >> "$GITHUB_OUTPUT"\n';
    const withScript = repositoryInMemory({}, {}, { '.github/workflows/scripts/stack.sh': script });
    expect(problemsOf(text, undefined, withScript)).toEqual([expect.stringContaining("step 'stack' never writes 'working-directory='")]);
    expect(problemsOf(text, undefined, repositoryInMemory({}))).toEqual([
      expect.stringContaining('runs .github/workflows/scripts/stack.sh of this repository, which does not exist'),
      expect.stringContaining('runs .github/workflows/scripts/stack.sh of this repository, which does not exist'),
    ]);
  });

  describe("a run step that calls this repository's file", () => {
    const script = { '.github/workflows/scripts/guard.sh': 'exit 0\n' };
    const withScript = repositoryInMemory({}, {}, script);
    const RUN_GUARD = `      - run: bash .azure-bakery-actions/.github/workflows/scripts/guard.sh\n`;
    const checkoutStep = (options: { path?: string; sparse?: string[]; ref?: string } = {}) =>
      [
        `      - uses: ${CHECKOUT}`,
        '        with:',
        '          repository: azure-bakery/azure-bakery-actions',
        options.ref ?? '          ref: v1 # azure-bakery-actions release ref',
        `          path: ${options.path ?? '.azure-bakery-actions'}`,
        ...(options.sparse ? ['          sparse-checkout: |', ...options.sparse.map((entry) => `            ${entry}`)] : []),
        '',
      ]
        .filter((line) => line !== '')
        .join('\n') + '\n';

    it('passes after a checkout of this release that brings it (sparse or whole)', () => {
      expect(problemsOf(reusable(checkoutStep({ sparse: ['.github/workflows/scripts'] }) + RUN_GUARD), undefined, withScript)).toEqual([]);
      expect(problemsOf(reusable(checkoutStep({ sparse: ['terraform', '.github/workflows/scripts/'] }) + RUN_GUARD), undefined, withScript)).toEqual([]);
      expect(problemsOf(reusable(checkoutStep() + RUN_GUARD), undefined, withScript)).toEqual([]);
    });

    it('reports it without any checkout of this repository (the file would not be on the runner)', () => {
      expect(problemsOf(reusable(RUN_GUARD), undefined, withScript)).toEqual([expect.stringContaining("no earlier step checks out azure-bakery/azure-bakery-actions into .azure-bakery-actions: a called workflow sees only the caller's files")]);
    });

    it('reports it before the checkout, or after one into another folder', () => {
      expect(problemsOf(reusable(RUN_GUARD + checkoutStep({ sparse: ['.github/workflows/scripts'] })), undefined, withScript)).toEqual([expect.stringContaining('no earlier step checks out')]);
      expect(problemsOf(reusable(checkoutStep({ path: 'bakery-actions', sparse: ['.github/workflows/scripts'] }) + RUN_GUARD), undefined, withScript)).toEqual([expect.stringContaining('no earlier step checks out')]);
    });

    it("reports a sparse checkout that does not bring the file's folder", () => {
      expect(problemsOf(reusable(checkoutStep({ sparse: ['terraform'] }) + RUN_GUARD), undefined, withScript)).toEqual([expect.stringContaining('does not bring it: add its folder to sparse-checkout')]);
      expect(problemsOf(reusable(checkoutStep({ sparse: ['.github/workflows/script'] }) + RUN_GUARD), undefined, withScript)).toEqual([expect.stringContaining('does not bring it')]);
    });

    it('reports a checkout of this repository without the release ref that release.yml pins', () => {
      const noRef = checkoutStep({ sparse: ['.github/workflows/scripts'], ref: '          fetch-depth: 1' });
      expect(problemsOf(reusable(noRef + RUN_GUARD), undefined, withScript)).toEqual([expect.stringContaining('without the release ref')]);
      const uncommented = checkoutStep({ sparse: ['.github/workflows/scripts'], ref: '          ref: main' });
      expect(problemsOf(reusable(uncommented + RUN_GUARD), undefined, withScript)).toEqual([expect.stringContaining("write 'ref: v1 # azure-bakery-actions release ref'")]);
    });
  });

  it('reports an action whose action.yml does not exist, loudly, instead of skipping it', () => {
    const text = reusable(`      - uses: azure-bakery/azure-bakery-actions/actions/build-image@v1
        with:
          image-name: flows
`);
    expect(problemsOf(text)).toEqual([expect.stringContaining('actions/build-image/action.yml does not exist')]);
  });

  it('reports ./ references in a reusable workflow and in an example, but not in an ordinary workflow', () => {
    const local = `      - uses: ./actions/plan
        with:
          environment: dev
`;
    expect(problemsOf(reusable(local))).toEqual([expect.stringContaining("./ is the caller's checkout")]);
    const example = `on: push\njobs:\n  deploy:\n    uses: ./.github/workflows/deploy.yml\n`;
    expect(problemsOf(example, 'examples/workflows/release.yml')).toEqual([expect.stringContaining("./ is the caller's checkout")]);
    const ordinary = `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n${local}`;
    expect(problemsOf(ordinary, '.github/workflows/ci.yml')).toEqual([]);
  });

  it('reports third-party actions that are not pinned to a full SHA with a version comment', () => {
    const steps = (uses: string) => reusable(`      - uses: ${uses}\n`);
    expect(problemsOf(steps('actions/checkout@v4'))).toEqual([expect.stringContaining('full 40-character commit SHA')]);
    expect(problemsOf(steps('actions/checkout@3d3c42e'))).toEqual([expect.stringContaining('full 40-character commit SHA')]);
    expect(problemsOf(steps('actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1'))).toEqual([expect.stringContaining('# vX.Y.Z')]);
    expect(problemsOf(steps('docker://alpine:3.20'))).toEqual([expect.stringContaining('pin the image by digest')]);
    expect(problemsOf(steps(CHECKOUT))).toEqual([]);
  });

  it("reports this repository's actions used at two refs in one file", () => {
    const text = reusable(GOOD_STEPS.replace('actions/plan@v1', 'actions/plan@main'));
    const problems = problemsOf(text);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('different refs (main, v1)');
  });

  it('reports a call of a reusable workflow with an unknown input, a missing required one, a wrong literal type and an unknown secret', () => {
    const caller = `on: push
jobs:
  dev:
    uses: azure-bakery/azure-bakery-actions/.github/workflows/deploy.yml@v1
    with:
      enviroment: dev
      smoke-run: "yes"
    secrets:
      PREFECT_KEY: \${{ secrets.PREFECT_KEY }}
`;
    const problems = problemsOf(caller, 'examples/workflows/release.yml');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("has no input 'enviroment'"),
        expect.stringContaining("requires input 'environment'"),
        expect.stringContaining("input 'smoke-run' is a boolean"),
        expect.stringContaining("declares no secret 'PREFECT_KEY'"),
        expect.stringContaining("requires secret 'PREFECT_API_KEY'"),
      ]),
    );
    expect(problems).toHaveLength(5);
    // An input with a default is not required; `inherit` passes every secret.
    const fixed = caller.replace('enviroment: dev', 'environment: dev').replace('"yes"', 'true').replace(/ {4}secrets:\n.*\n/, '    secrets: inherit\n');
    expect(problemsOf(fixed, 'examples/workflows/release.yml')).toEqual([]);
  });

  it('reports a call of a reusable workflow that does not exist', () => {
    const caller = `on: push\njobs:\n  dev:\n    uses: azure-bakery/azure-bakery-actions/.github/workflows/apply.yml@v1\n`;
    expect(problemsOf(caller, 'examples/workflows/release.yml')).toEqual([expect.stringContaining('.github/workflows/apply.yml does not exist')]);
  });

  it('reports needs outputs that the needed job or called workflow does not declare, or a job not in needs', () => {
    const caller = `on: push
jobs:
  dev:
    uses: azure-bakery/azure-bakery-actions/.github/workflows/deploy.yml@v1
    with: { environment: dev }
    secrets: inherit
  staging:
    needs: dev
    uses: azure-bakery/azure-bakery-actions/.github/workflows/deploy.yml@v1
    with:
      environment: staging
      region: \${{ needs.dev.outputs.region }}
    secrets: inherit
  prod:
    uses: azure-bakery/azure-bakery-actions/.github/workflows/deploy.yml@v1
    with:
      environment: prod
      region: \${{ needs.staging.outputs.image }}
    secrets: inherit
`;
    expect(problemsOf(caller, 'examples/workflows/release.yml')).toEqual([
      expect.stringContaining("job 'dev' declares no output 'region' (it has: image)"),
      expect.stringContaining("does not list 'staging' in needs"),
    ]);
  });

  it("reports a reusable workflow output that reads an output its job does not declare", () => {
    const broken = REUSABLE_DEPLOY.replace('jobs.apply.outputs.image', 'jobs.apply.outputs.digest');
    expect(problemsOf(broken, '.github/workflows/deploy.yml')).toEqual([expect.stringContaining("workflow output 'image' reads jobs.apply.outputs.digest")]);
    expect(problemsOf(REUSABLE_DEPLOY, '.github/workflows/deploy.yml')).toEqual([]);
  });

  it('reports YAML that does not parse', () => {
    expect(problemsOf('on: [push\njobs: {}')[0]).toMatch(/^YAML: /);
  });
});
