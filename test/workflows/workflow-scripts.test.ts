import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { STACK_OUTPUTS } from '../../src/lib/stack-outputs.js';
import { runShellStep, type ShellStepRun } from '../support/run-shell-step.js';
import { checkWorkflow, repositoryOnDisk } from './workflow-references.js';
import { METAFLOW_REUSABLE_WORKFLOWS, REPO_ROOT, REUSABLE_WORKFLOWS, findStep, readRepoFile } from './workflow-files.js';

/**
 * The shell the workflows run: .github/workflows/scripts/resolve-stack.sh, destroy-guard.sh and the
 * release steps, each run with bash exactly as a runner runs a `run:` step
 * (bash --noprofile --norc -eo pipefail <file>), with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.
 */

const temporary: string[] = [];
afterEach(() => {
  for (const directory of temporary.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function tempDir(): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'bakery-workflow-'));
  temporary.push(directory);
  return directory;
}

type StepRun = ShellStepRun;

function runBash(script: string, env: Record<string, string>, cwd: string): StepRun {
  return runShellStep(script, { cwd, env, runnerTemp: tempDir() });
}

function runStep(file: string, job: string, step: string, env: Record<string, string>, cwd: string): StepRun {
  return runBash(String(findStep(file, job, step).run), env, cwd);
}

// --- resolve-stack.sh ------------------------------------------------------------------------------

const RESOLVE_STACK = readRepoFile('.github/workflows/scripts/resolve-stack.sh');
const BUNDLED = '.azure-bakery-actions/terraform/stacks/bakery';

/** A caller's workspace: the bundled stack checked out, environments/<env>.tfvars, and `files`. */
function workspace(files: Record<string, string> = {}): string {
  const root = tempDir();
  const all = { [`${BUNDLED}/main.tf`]: 'terraform {}\n', 'environments/dev.tfvars': 'location = "westeurope"\n', ...files };
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

function resolveStack(root: string, env: Record<string, string>): StepRun {
  return runBash(RESOLVE_STACK, { ENVIRONMENT: 'dev', IDENTIFIER: 'contoso01', STACK_DIRECTORY: '', BUNDLED_STACK: BUNDLED, VAR_FILES: 'environments/{environment}.tfvars', VARIABLES: '', ...env }, root);
}

describe('resolve-stack.sh', () => {
  it('every reusable workflow runs it the same way, from the checkout of this release', () => {
    for (const file of REUSABLE_WORKFLOWS) {
      const jobs = file === 'deploy.yml' ? ['plan', 'apply'] : file === 'destroy.yml' ? ['destroy'] : file === 'plan.yml' ? ['plan'] : ['drift'];
      for (const job of jobs) {
        const step = findStep(`.github/workflows/${file}`, job, 'stack');
        expect(step.run, `${file} ${job}`).toBe('bash .azure-bakery-actions/.github/workflows/scripts/resolve-stack.sh');
        expect(Object.keys(step.env as object).sort(), `${file} ${job}`).toEqual(['BUNDLED_STACK', 'DEPLOYER_OBJECT_ID', 'ENVIRONMENT', 'IDENTIFIER', 'STACK_DIRECTORY', 'VARIABLES', 'VAR_FILES']);
        // plan.yml and drift.yml pick the bundled stack by their stack input, whose default is the Bakery's.
        const pickedByInput = file === 'plan.yml' || file === 'drift.yml';
        expect((step.env as Record<string, string>).BUNDLED_STACK, `${file} ${job}`).toBe(pickedByInput ? '.azure-bakery-actions/terraform/stacks/${{ inputs.stack }}' : BUNDLED);
        if (pickedByInput) {
          const inputs = (parseDocument(readRepoFile(`.github/workflows/${file}`)).toJS() as { on: { workflow_call: { inputs: Record<string, { default?: string }> } } }).on.workflow_call.inputs;
          expect(inputs.stack?.default, file).toBe('bakery');
          // The same stack names the state that setup-remote-state finds.
          expect((findStep(`.github/workflows/${file}`, job, 'state').with as Record<string, string>).stack, file).toBe('${{ inputs.stack }}');
        }
      }
    }
  });

  it('picks the bundled Bakery stack and sets identifier and environment for it', () => {
    const root = workspace();
    const run = resolveStack(root, { VARIABLES: 'owner=data-platform\n# a comment\n\ntags={ Team = "{environment}" }' });
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs).toEqual({
      'working-directory': BUNDLED,
      'resource-group': 'rg-bakery-contoso01-dev',
      'cluster-name': 'aks-bakery-contoso01-dev',
      'var-files': path.join(root, 'environments/dev.tfvars'),
      variables: 'identifier=contoso01\nenvironment=dev\nowner=data-platform\ntags={ Team = "dev" }',
    });
    expect(run.stdout).toContain('the Bakery stack of this release');
  });

  it('names the deploy identity to the Bakery stack, so every plan grants the same principal', () => {
    const objectId = '2a4b8f06-1c7e-4b5a-9d3e-0f6a7b8c9d10';
    const run = resolveStack(workspace(), { DEPLOYER_OBJECT_ID: objectId });
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs.variables).toBe(`identifier=contoso01\nenvironment=dev\ndeployer_object_id=${objectId}`);
  });

  // Terraform refuses -var for a variable the root module does not declare.
  it('sets only variables that the Bakery stack declares', () => {
    const run = resolveStack(workspace(), { DEPLOYER_OBJECT_ID: '2a4b8f06-1c7e-4b5a-9d3e-0f6a7b8c9d10' });
    const set = run.outputs.variables!.split('\n').map((line) => line.split('=')[0]);
    const declared = [...readRepoFile('terraform/stacks/bakery/variables.tf').matchAll(/^variable "([^"]+)"/gm)].map((match) => match[1]);
    expect(set.filter((name) => !declared.includes(name))).toEqual([]);
  });

  // destroy.yml passes them so that the destroy action removes the worker's namespace first.
  it('names the resource group and cluster as the Bakery stack names them', () => {
    const conventions = readRepoFile('terraform/modules/conventions/main.tf');
    const stack = readRepoFile('terraform/stacks/bakery/main.tf');
    const workload = /module "conventions"[\s\S]*?workload\s*=\s*"([^"]+)"/.exec(stack)?.[1];
    const qualifier = /qualifier\s*=\s*"([^"]+)"/.exec(conventions)?.[1];
    const pattern = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]+)"`, 'm').exec(conventions)?.[1];
    const expand = (template: string) =>
      template
        .replace('${local.qualifier}', qualifier!)
        .replace('${var.workload}', workload!)
        .replace('${var.identifier}', 'contoso01')
        .replace('${var.environment}', 'dev');
    const run = resolveStack(workspace(), {});
    expect(run.outputs['resource-group']).toBe(expand(expand(pattern('resource_group')!)));
    expect(run.outputs['cluster-name']).toBe(expand(expand(pattern('kubernetes_cluster')!)));
  });

  it("uses the caller's root module as it is, with comma-separated var files and absolute paths", () => {
    const root = workspace({ 'infra/bakery/main.tf': '', 'infra/common.tfvars': '', 'infra/prod.tfvars': '' });
    const run = resolveStack(root, { ENVIRONMENT: 'prod', STACK_DIRECTORY: 'infra/bakery/', VAR_FILES: 'infra/common.tfvars, infra/{environment}.tfvars', DEPLOYER_OBJECT_ID: '2a4b8f06-1c7e-4b5a-9d3e-0f6a7b8c9d10' });
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs).toEqual({
      'working-directory': 'infra/bakery',
      'resource-group': '',
      'cluster-name': '',
      'var-files': `${path.join(root, 'infra/common.tfvars')}\n${path.join(root, 'infra/prod.tfvars')}`,
      variables: '',
    });
  });

  it('passes values that look like the output delimiter through unchanged', () => {
    const root = workspace();
    const run = resolveStack(root, { VARIABLES: 'a=EOF\nb=x<<EOF' });
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs.variables).toBe('identifier=contoso01\nenvironment=dev\na=EOF\nb=x<<EOF');
  });

  it.each([
    ['a var file that does not exist', { ENVIRONMENT: 'prod' }, "::error title=Input var-files::'environments/prod.tfvars' does not exist"],
    ['a working directory without Terraform files', { STACK_DIRECTORY: 'environments' }, "::error title=Input working-directory::'environments' has no Terraform files"],
    ['a working directory outside the repository', { STACK_DIRECTORY: '../elsewhere' }, "::error title=Input working-directory::'../elsewhere' leaves the repository"],
    ['an environment that is not a plain name', { ENVIRONMENT: 'dev/../prod' }, "::error title=Input environment::'dev/../prod' is not a usable environment name"],
    ['an empty identifier', { IDENTIFIER: '' }, '::error title=Input identifier::identifier is empty'],
    ['a variables line that is not name=value', { VARIABLES: 'owner data-platform' }, "::error title=Input variables::'owner data-platform' is not a name=value line"],
    ['a deployer object ID that is not a GUID', { DEPLOYER_OBJECT_ID: 'bakery-dev-deploy' }, "::error title=Input deployer-object-id::'bakery-dev-deploy' is not an object ID"],
  ])('refuses %s before anything else runs, naming the input', (_case, env, message) => {
    const run = resolveStack(workspace(), env);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(message);
    expect(run.outputs).toEqual({});
  });

  it('reports a missing bundled stack', () => {
    const root = workspace();
    rmSync(path.join(root, BUNDLED), { recursive: true });
    const run = resolveStack(root, {});
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('the Bakery stack was not found');
  });
});

describe('resolve-stack.sh for each stack of this release', () => {
  const METAFLOW_INFRA = '.azure-bakery-actions/terraform/stacks/metaflow/infra';
  const METAFLOW_SERVICES = '.azure-bakery-actions/terraform/stacks/metaflow/services';
  const OBJECT_ID = '2a4b8f06-1c7e-4b5a-9d3e-0f6a7b8c9d10';

  /** A caller's workspace with this repository checked out as .azure-bakery-actions (every real stack). */
  function checkedOut(): string {
    const root = tempDir();
    symlinkSync(REPO_ROOT, path.join(root, '.azure-bakery-actions'));
    mkdirSync(path.join(root, 'environments'));
    writeFileSync(path.join(root, 'environments/dev.tfvars'), '');
    return root;
  }

  const declaredBy = (stack: string): string[] => {
    const directory = path.join(REPO_ROOT, 'terraform/stacks', stack);
    return readdirSync(directory)
      .filter((file) => file.endsWith('.tf'))
      .flatMap((file) => [...readFileSync(path.join(directory, file), 'utf8').matchAll(/^variable "([^"]+)"/gm)].map((match) => match[1]!));
  };

  /** The resource group and cluster the stack's conventions module names, or '' when it has none. */
  function conventionNames(stack: string): { resourceGroup: string; cluster: string } {
    const main = readRepoFile(`terraform/stacks/${stack}/main.tf`);
    const workload = /module "conventions"[\s\S]*?workload\s*=\s*"([^"]+)"/.exec(main)?.[1];
    if (!workload) return { resourceGroup: '', cluster: '' };
    const conventions = readRepoFile('terraform/modules/conventions/main.tf');
    const qualifier = /qualifier\s*=\s*"([^"]+)"/.exec(conventions)![1]!.replace('${var.workload}', workload).replace('${var.identifier}', 'contoso01').replace('${var.environment}', 'dev');
    const pattern = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]+)"`, 'm').exec(conventions)![1]!.replace('${local.qualifier}', qualifier);
    return { resourceGroup: pattern('resource_group'), cluster: pattern('kubernetes_cluster') };
  }

  // STACK_OUTPUTS names every stack the actions know (src/lib/stack-outputs.ts); each is a folder here.
  it.each(Object.keys(STACK_OUTPUTS))('%s: sets only variables it declares, identifier and environment whenever it declares them, and its own resource names', (stack) => {
    const run = resolveStack(checkedOut(), { BUNDLED_STACK: `.azure-bakery-actions/terraform/stacks/${stack}`, DEPLOYER_OBJECT_ID: OBJECT_ID, VAR_FILES: '' });
    expect(run.status, run.stdout).toBe(0);
    const set = run.outputs.variables ? run.outputs.variables.split('\n').map((line) => line.split('=')[0]!) : [];
    const declared = declaredBy(stack);
    expect(set.filter((name) => !declared.includes(name))).toEqual([]);
    for (const name of ['identifier', 'environment', 'deployer_object_id']) expect(set.includes(name), name).toBe(declared.includes(name));
    const names = conventionNames(stack);
    expect({ resourceGroup: run.outputs['resource-group'], cluster: run.outputs['cluster-name'] }).toEqual(names);
    expect(run.stdout).toContain('of this release)');
  });

  it('picks the bundled metaflow/infra stack by its name, with the names and wording of that stack', () => {
    const run = resolveStack(checkedOut(), { BUNDLED_STACK: METAFLOW_INFRA, DEPLOYER_OBJECT_ID: OBJECT_ID });
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({
      'working-directory': METAFLOW_INFRA,
      'resource-group': 'rg-metaflow-contoso01-dev',
      'cluster-name': 'aks-metaflow-contoso01-dev',
      variables: `identifier=contoso01\nenvironment=dev\ndeployer_object_id=${OBJECT_ID}`,
    });
    expect(run.stdout).toContain('(the metaflow/infra stack of this release)');
    expect(run.stdout).not.toContain('Bakery');
  });

  it('gives the bundled metaflow/services stack only the caller\'s variables, and no resource names', () => {
    const run = resolveStack(checkedOut(), { BUNDLED_STACK: METAFLOW_SERVICES, DEPLOYER_OBJECT_ID: OBJECT_ID, VAR_FILES: '', VARIABLES: 'metadata_service_replicas=2' });
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs).toEqual({ 'working-directory': METAFLOW_SERVICES, 'resource-group': '', 'cluster-name': '', 'var-files': '', variables: 'metadata_service_replicas=2' });
  });

  it('names the Metaflow stack that the checkout did not bring', () => {
    const root = workspace();
    rmSync(path.join(root, BUNDLED), { recursive: true });
    const run = resolveStack(root, { BUNDLED_STACK: METAFLOW_INFRA });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error title=Input working-directory::the metaflow/infra stack was not found at .azure-bakery-actions/terraform/stacks/metaflow/infra: the checkout of azure-bakery-actions did not bring terraform/stacks/metaflow/infra.');
    expect(run.stdout).not.toContain('Bakery');
  });

  it('refuses a stack this release does not have, listing the ones it has', () => {
    const run = resolveStack(checkedOut(), { BUNDLED_STACK: '.azure-bakery-actions/terraform/stacks/metaflow/service' });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("::error title=Input stack::the metaflow/service stack was not found at .azure-bakery-actions/terraform/stacks/metaflow/service: this release's stacks are bakery, metaflow/infra, metaflow/services.");
    expect(run.outputs).toEqual({});
  });

  it.each(['../../../etc', 'Metaflow/infra', 'metaflow/infra/extra', 'metaflow_infra', 'metaflow//infra'])('refuses the stack name %s before looking for files', (stack) => {
    const run = resolveStack(checkedOut(), { BUNDLED_STACK: `.azure-bakery-actions/terraform/stacks/${stack}` });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error title=Input stack::');
    expect(run.stdout).toContain('is not a stack name');
  });

  it("uses the caller's root module under any stack name, setting nothing for it", () => {
    const root = workspace({ 'infra/services/main.tf': '' });
    const run = resolveStack(root, { STACK_DIRECTORY: 'infra/services', BUNDLED_STACK: '.azure-bakery-actions/terraform/stacks/metaflow/infra', DEPLOYER_OBJECT_ID: OBJECT_ID, VAR_FILES: '' });
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs).toEqual({ 'working-directory': 'infra/services', 'resource-group': '', 'cluster-name': '', 'var-files': '', variables: '' });
  });
});

// --- destroy-guard.sh ------------------------------------------------------------------------------

const GUARD_SCRIPT = '.github/workflows/scripts/destroy-guard.sh';
const DESTROY_WORKFLOWS = ['.github/workflows/destroy.yml', '.github/workflows/metaflow-destroy.yml'];

describe('destroy-guard.sh', () => {
  const guard = (env: Record<string, string>) => runBash(readRepoFile(GUARD_SCRIPT), { ENVIRONMENT: 'dev', CONFIRM: 'dev', PROTECTED_ENVIRONMENTS: 'prod*', ALLOW_PROTECTED: 'false', ...env }, tempDir());

  it('lets a confirmed, unprotected environment through', () => {
    const run = guard({});
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toContain("Destroying 'dev' is confirmed");
    expect(run.stdout).not.toContain('::error');
  });

  it.each([
    ['an empty confirm', { CONFIRM: '' }],
    ['a confirm that differs', { CONFIRM: 'prod' }],
    ['a confirm that differs only in case', { CONFIRM: 'Dev' }],
    ['a confirm with surrounding spaces', { CONFIRM: ' dev ' }],
  ])('refuses %s', (_case, env) => {
    const run = guard(env);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("::error title=Input confirm::confirm must be exactly 'dev' to destroy it");
    expect(run.stdout).toContain('Nothing was destroyed.');
  });

  it('refuses an empty environment, even when confirm is empty too', () => {
    const run = guard({ ENVIRONMENT: '', CONFIRM: '' });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error title=Input environment::environment is empty');
  });

  it.each(['prod', 'prod-eu', 'production'])('refuses the protected environment %s unless allowed', (environment) => {
    const refused = guard({ ENVIRONMENT: environment, CONFIRM: environment });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain(`::error title=Protected environment::'${environment}' matches the protected pattern 'prod*'`);
    expect(refused.stdout).toContain('Nothing was destroyed.');
    const allowed = guard({ ENVIRONMENT: environment, CONFIRM: environment, ALLOW_PROTECTED: 'true' });
    expect(allowed.status, allowed.stdout).toBe(0);
    expect(allowed.stdout).toContain('::warning title=Protected environment::');
  });

  it('reads several patterns, one per line or comma-separated; only the literal true allows', () => {
    expect(guard({ ENVIRONMENT: 'qa', CONFIRM: 'qa', PROTECTED_ENVIRONMENTS: 'prod*, qa\nshared-*' }).status).toBe(1);
    expect(guard({ ENVIRONMENT: 'shared-eu', CONFIRM: 'shared-eu', PROTECTED_ENVIRONMENTS: 'prod*, qa\nshared-*' }).status).toBe(1);
    expect(guard({ ENVIRONMENT: 'staging', CONFIRM: 'staging', PROTECTED_ENVIRONMENTS: 'prod*, qa\nshared-*' }).status).toBe(0);
    expect(guard({ ENVIRONMENT: 'prod', CONFIRM: 'prod', PROTECTED_ENVIRONMENTS: '' }).status).toBe(0);
    expect(guard({ ENVIRONMENT: 'prod', CONFIRM: 'prod', ALLOW_PROTECTED: 'yes' }).status).toBe(1);
  });

  it('runs under set -u with none of its variables set (a step that forgot env) and refuses', () => {
    const run = runBash(readRepoFile(GUARD_SCRIPT), {}, tempDir());
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error title=Input environment::');
  });
});

describe("the destroy workflows' guard job", () => {
  interface GuardJob {
    permissions?: Record<string, string>;
    environment?: unknown;
    steps: { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> }[];
  }
  const guardJob = (file: string) => (parseDocument(readRepoFile(file)).toJS() as { jobs: { guard: GuardJob } }).jobs.guard;

  it.each(DESTROY_WORKFLOWS)('%s runs destroy-guard.sh from a checkout of only this release\'s scripts, before any Azure token can exist', (file) => {
    const job = guardJob(file);
    // No id-token (so no Azure token), no GitHub Environment (so no reviewer is asked yet).
    expect(job.permissions).toEqual({ contents: 'read' });
    expect(job.environment).toBeUndefined();
    expect(job.steps).toHaveLength(2);
    const [checkout, guard] = job.steps;
    expect(checkout!.uses).toMatch(/^actions\/checkout@[0-9a-f]{40}$/);
    expect(checkout!.with).toEqual({ repository: 'azure-bakery/azure-bakery-actions', ref: 'v1', path: '.azure-bakery-actions', 'persist-credentials': false, 'sparse-checkout': '.github/workflows/scripts\n' });
    // release.yml pins this ref with the others: the guard of a release is that release's script.
    expect(readRepoFile(file)).toMatch(/sparse-checkout: \|\n\s+\.github\/workflows\/scripts\n/);
    expect(guard!.run).toBe(`bash .azure-bakery-actions/${GUARD_SCRIPT}`);
    expect(guard!.env).toEqual({
      ENVIRONMENT: '${{ inputs.environment }}',
      CONFIRM: '${{ inputs.confirm }}',
      PROTECTED_ENVIRONMENTS: '${{ inputs.protected-environments }}',
      ALLOW_PROTECTED: '${{ inputs.allow-protected }}',
    });
    // The destroy job waits for the guard.
    expect((parseDocument(readRepoFile(file)).toJS() as { jobs: { destroy: { needs: string } } }).jobs.destroy.needs).toBe('guard');
  });

  it('the checkout brings the script where the step runs it', () => {
    const root = tempDir();
    // What the sparse checkout puts in the workspace: .github/workflows/scripts of this release.
    cpSync(path.join(REPO_ROOT, '.github/workflows/scripts'), path.join(root, '.azure-bakery-actions/.github/workflows/scripts'), { recursive: true });
    for (const file of DESTROY_WORKFLOWS) {
      const step = guardJob(file).steps[1]!;
      const refused = runBash(step.run!, { ENVIRONMENT: 'dev', CONFIRM: 'dve', PROTECTED_ENVIRONMENTS: 'prod*', ALLOW_PROTECTED: 'false' }, root);
      expect(refused.status, file).toBe(1);
      expect(refused.stdout).toContain("::error title=Input confirm::confirm must be exactly 'dev' to destroy it; it is 'dve'. Nothing was destroyed.");
      expect(runBash(step.run!, { ENVIRONMENT: 'dev', CONFIRM: 'dev', PROTECTED_ENVIRONMENTS: 'prod*', ALLOW_PROTECTED: 'false' }, root).status, file).toBe(0);
    }
  });
});

// --- release.yml -----------------------------------------------------------------------------------

const RELEASE = '.github/workflows/release.yml';

describe("release.yml's tag check", () => {
  it.each([
    ['v1.4.0', 'v1'],
    ['v12.0.3', 'v12'],
    ['v2.0.0-rc.1', 'v2'],
  ])('accepts %s and names its major tag %s', (tag, major) => {
    const run = runStep(RELEASE, 'release', 'tag', { TAG: tag }, tempDir());
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs).toEqual({ major });
  });

  it.each(['1.4.0', 'v1.4', 'v1', 'release-1.4.0'])('refuses %s', (tag) => {
    const run = runStep(RELEASE, 'release', 'tag', { TAG: tag }, tempDir());
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('is not vMAJOR.MINOR.PATCH');
  });
});

/** A copy of this repository's workflows (and the scripts and actions they reference) in a temp directory. */
function workflowsCopy(): string {
  const root = tempDir();
  cpSync(path.join(REPO_ROOT, '.github'), path.join(root, '.github'), { recursive: true });
  return root;
}

describe("release.yml's pinning", () => {
  const PINNED_WORKFLOWS: readonly string[] = [...REUSABLE_WORKFLOWS, ...METAFLOW_REUSABLE_WORKFLOWS];
  const pin = (root: string, tag = 'v1.4.0') => runStep(RELEASE, 'release', 'Pin the reusable workflows to the release', { TAG: tag }, root);

  it("pins every use of this repository's actions and the stack checkout in the reusable workflows to the tag, and nothing else", () => {
    const root = workflowsCopy();
    const run = pin(root);
    expect(run.status, run.stdout).toBe(0);
    for (const file of readdirSync(path.join(root, '.github/workflows')).filter((name) => name.endsWith('.yml'))) {
      const before = readRepoFile(`.github/workflows/${file}`).split('\n');
      const after = readFileSync(path.join(root, '.github/workflows', file), 'utf8').split('\n');
      expect(after).toHaveLength(before.length);
      const changed = after.filter((line, index) => line !== before[index]);
      if (!PINNED_WORKFLOWS.includes(file)) {
        expect(changed, file).toEqual([]);
        continue;
      }
      expect(changed.length, file).toBeGreaterThan(0);
      for (const line of changed) expect(line, file).toMatch(/uses: azure-bakery\/azure-bakery-actions\/actions\/[a-z-]+@v1\.4\.0$|ref: v1\.4\.0 # azure-bakery-actions release ref$/);
      expect(after.join('\n'), file).not.toMatch(/^\s*(- )?uses: azure-bakery\/azure-bakery-actions\/actions\/[a-z-]+@v1$/m);
      // The pinned workflow still uses one ref for all of this repository's actions.
      const problems = checkWorkflow(file, after.join('\n'), repositoryOnDisk(REPO_ROOT)).map((problem) => problem.message);
      expect(problems.filter((message) => message.includes('different refs'))).toEqual([]);
    }
    expect(run.stdout).toMatch(new RegExp(`Pinned \\d+ action references in ${PINNED_WORKFLOWS.length} reusable workflows to v1\\.4\\.0\\.`));
  });

  it('fails on a reference the patterns cannot rewrite, instead of releasing a moving ref', () => {
    const root = workflowsCopy();
    const plan = path.join(root, '.github/workflows/plan.yml');
    writeFileSync(plan, readFileSync(plan, 'utf8').replace('ref: v1 # azure-bakery-actions release ref', 'ref: v1  # azure-bakery-actions release ref'));
    const run = pin(root);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('References not pinned to v1.4.0');
    expect(run.stdout).toContain('plan.yml');
  });

  it('rewrites a quoted reference too', () => {
    const root = workflowsCopy();
    const drift = path.join(root, '.github/workflows/drift.yml');
    writeFileSync(drift, readFileSync(drift, 'utf8').replace('uses: azure-bakery/azure-bakery-actions/actions/plan@v1', "uses: 'azure-bakery/azure-bakery-actions/actions/plan@v1'"));
    const run = pin(root, 'v2.0.0');
    expect(run.status, run.stdout).toBe(0);
    expect(readFileSync(drift, 'utf8')).toContain("uses: 'azure-bakery/azure-bakery-actions/actions/plan@v2.0.0'");
  });

  it('fails when there is no reusable workflow to pin', () => {
    const root = tempDir();
    mkdirSync(path.join(root, '.github/workflows'), { recursive: true });
    writeFileSync(path.join(root, '.github/workflows/ci.yml'), 'on: push\n');
    const run = pin(root);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('No reusable workflow');
  });
});

describe('release.yml against a git remote', () => {
  function git(cwd: string, ...args: string[]): string {
    const result = spawnSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  }

  /** origin (bare) with main holding this repository's .github and the release tag; a clone at the tag. */
  function releaseRepository(tag: string): { origin: string; clone: string; tagged: string } {
    const base = tempDir();
    const origin = path.join(base, 'origin.git');
    const work = path.join(base, 'work');
    git(base, 'init', '--quiet', '--bare', origin);
    git(base, 'clone', '--quiet', origin, work);
    cpSync(path.join(REPO_ROOT, '.github'), path.join(work, '.github'), { recursive: true });
    git(work, 'add', '.github');
    git(work, 'commit', '--quiet', '-m', 'main');
    git(work, 'tag', '-a', tag, '-m', tag);
    git(work, 'push', '--quiet', 'origin', 'main', `refs/tags/${tag}`);
    const clone = path.join(base, 'clone');
    git(base, 'clone', '--quiet', origin, clone);
    git(clone, 'checkout', '--quiet', `refs/tags/${tag}`);
    return { origin, clone, tagged: git(work, 'rev-parse', 'HEAD') };
  }

  it('commits the pins on top of the tag and moves the tag and the major tag there', () => {
    const { origin, clone, tagged } = releaseRepository('v1.4.0');
    const env = { TAG: 'v1.4.0', MAJOR: 'v1', PRERELEASE: 'false', DEFAULT_BRANCH: 'main' };
    expect(runStep(RELEASE, 'release', 'Check that the release is on the default branch', env, clone).status).toBe(0);
    expect(runStep(RELEASE, 'release', 'Pin the reusable workflows to the release', env, clone).status).toBe(0);
    const run = runStep(RELEASE, 'release', 'Commit and move the tags', env, clone);
    expect(run.status, run.stdout).toBe(0);

    const released = git(origin, 'rev-parse', 'v1.4.0^{commit}');
    expect(git(origin, 'rev-parse', 'v1^{commit}')).toBe(released);
    expect(git(origin, 'rev-parse', `${released}^`)).toBe(tagged);
    expect(git(origin, 'rev-parse', 'main')).toBe(tagged);
    expect(git(origin, 'show', `${released}:.github/workflows/deploy.yml`)).toContain('uses: azure-bakery/azure-bakery-actions/actions/deploy@v1.4.0');
    expect(git(origin, 'log', '-1', '--format=%an <%ae>', released)).toBe('github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>');
    expect(run.summary).toContain('v1 moved to v1.4.0');
  });

  it('leaves the major tag alone for a prerelease', () => {
    const { origin, clone } = releaseRepository('v2.0.0-rc.1');
    git(clone, 'push', '--quiet', 'origin', 'refs/tags/v2.0.0-rc.1:refs/tags/v2');
    const before = git(origin, 'rev-parse', 'v2^{commit}');
    const env = { TAG: 'v2.0.0-rc.1', MAJOR: 'v2', PRERELEASE: 'true' };
    expect(runStep(RELEASE, 'release', 'Pin the reusable workflows to the release', env, clone).status).toBe(0);
    const run = runStep(RELEASE, 'release', 'Commit and move the tags', env, clone);
    expect(run.status, run.stdout).toBe(0);
    expect(git(origin, 'rev-parse', 'v2^{commit}')).toBe(before);
    expect(git(origin, 'rev-parse', 'v2.0.0-rc.1^{commit}')).not.toBe(before);
    expect(run.summary).toContain('prerelease: v2 not moved');
  });

  it('refuses a tag that is not on the default branch', () => {
    const { clone } = releaseRepository('v1.5.0');
    git(clone, 'checkout', '--quiet', '-b', 'side');
    writeFileSync(path.join(clone, 'side.txt'), 'x');
    git(clone, 'add', 'side.txt');
    git(clone, 'commit', '--quiet', '-m', 'side');
    git(clone, 'tag', '-f', 'v1.5.1');
    const run = runStep(RELEASE, 'release', 'Check that the release is on the default branch', { TAG: 'v1.5.1', DEFAULT_BRANCH: 'main' }, clone);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('v1.5.1 is not on main');
  });
});
