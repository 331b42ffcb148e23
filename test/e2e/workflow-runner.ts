import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseCommandFile, REPO_ROOT, runDist } from '../support/run-dist.js';
import { ExpressionError, condition, interpolate, toText, type Lookup, type Value } from './expressions.js';

/**
 * Runs a reusable workflow of this repository (.github/workflows/<file>) the way GitHub's runner would,
 * for the parts those workflows use, with the built actions (dist/<name>/index.js through runDist):
 *
 * - jobs in `needs` order, each on a fresh "machine": its own workspace and RUNNER_TEMP, so jobs share
 *   nothing but their outputs (and what the actions store in Azure); a job whose need failed is skipped;
 * - steps in order: `uses: azure-bakery/azure-bakery-actions/actions/<name>@<ref>` runs dist/<name>
 *   with the `with:` map evaluated (plus the action.yml defaults, as the runner sets them);
 *   `uses: actions/checkout@…` is simulated (the caller's repository from the test, or the sparse
 *   paths of this repository); `run:` runs with bash exactly as the runner does
 *   (bash --noprofile --norc -eo pipefail); after a failed step the rest are skipped;
 * - expressions through ./expressions.ts: inputs (declared, with their defaults and types), vars,
 *   secrets (declared), github, steps.<id>.outputs.<name>, needs.<job>.outputs.<name>, and for the
 *   workflow's own outputs jobs.<job>.outputs.<name>. Anything it cannot evaluate — an unknown context,
 *   an output a step that ran did not set, a variable the test did not define — throws, failing the test;
 * - job `permissions`: only a job with `id-token: write` gets the OIDC request variables.
 *
 * Anything else in a workflow (job-level if:, matrix, services, another third-party action,
 * continue-on-error, …) throws: extending the runner is then a deliberate change, not a silent pass.
 */

export interface CallerContext {
  /** The calling workflow's `with:` (typed: booleans as booleans). */
  inputs: Record<string, string | boolean | number>;
  /** Secrets passed to the workflow (by name, or all with `secrets: inherit`). */
  secrets: Record<string, string>;
  /** Configuration variables visible to the jobs. A variable the workflow reads must be listed, '' for unset. */
  vars: Record<string, string>;
  /** The github context: sha, repository, ref, token, run_id, server_url, … (what the workflows read). */
  github: Record<string, string>;
}

export interface RunnerMachine {
  /** Environment of every step's process (PATH with the fake terraform first, FAKE_TF_*, …). */
  env: Record<string, string>;
  /** What GitHub gives a job with `permissions: id-token: write`: ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN. */
  oidcEnv: Record<string, string>;
  /**
   * The cloud the actions talk to: `arm-endpoint` and `authority-host` pointing at the stand-ins. The
   * workflows leave these inputs at their defaults (the public cloud), so they are given to this
   * repository's actions that declare them; a workflow that passes one itself fails the run.
   */
  cloudInputs: Record<string, string>;
  /** Writes the caller's repository into `directory` (what actions/checkout without `repository` does). */
  checkoutCaller(directory: string): void;
}

export type Status = 'success' | 'failure' | 'skipped';

export interface StepRecord {
  index: number;
  id?: string;
  name: string;
  kind: 'action' | 'checkout' | 'run';
  /** This repository's action, for kind `action`. */
  action?: string;
  status: Status;
  /** The inputs the step ran with (evaluated `with:` plus defaults). */
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  stdout: string;
  stderr: string;
  summary: string;
  exitCode?: number;
  startedAt: number;
  durationMs: number;
}

export interface JobRecord {
  id: string;
  name: string;
  /** `runs-on`, evaluated. */
  runsOn: string;
  status: Status;
  steps: StepRecord[];
  /** The job's `outputs:` as evaluated at its end ('' for those the runner skipped). */
  outputs: Record<string, string>;
  /** Outputs the runner dropped because they held a masked value. */
  skippedOutputs: string[];
  environment?: { name: string; url?: string };
  workspace: string;
  durationMs: number;
}

export interface WorkflowRecord {
  file: string;
  /** The workflow's `concurrency.group`, evaluated. */
  concurrencyGroup?: string;
  jobs: Record<string, JobRecord>;
  /** `on.workflow_call.outputs`, evaluated. */
  outputs: Record<string, string>;
  durationMs: number;
  /** Every step of every job that ran, in the order they ran. */
  steps(): (StepRecord & { job: string })[];
  step(job: string, id: string): StepRecord;
}

const OWN_ACTION = /^azure-bakery\/azure-bakery-actions\/actions\/([^@]+)@(.+)$/;
const CHECKOUT = /^actions\/checkout@[0-9a-f]{40}$/;
const THIS_REPOSITORY = 'azure-bakery/azure-bakery-actions';

type Json = Record<string, unknown>;

interface ActionMetadata {
  inputs: Record<string, { default?: unknown }>;
  outputs: Record<string, unknown>;
}

function asMap(value: unknown, what: string): Json {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ExpressionError(`${what} is not a mapping`);
  return value as Json;
}

function readAction(name: string): ActionMetadata {
  const file = path.join(REPO_ROOT, 'actions', name, 'action.yml');
  if (!existsSync(file)) throw new Error(`actions/${name}/action.yml does not exist`);
  const metadata = parseYaml(readFileSync(file, 'utf8')) as Json;
  return { inputs: asMap(metadata.inputs, `actions/${name} inputs`) as ActionMetadata['inputs'], outputs: asMap(metadata.outputs, `actions/${name} outputs`) };
}

/** The environment a runner gives a step process: ours, minus the test process's own GitHub variables. */
function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key, value]) => value !== undefined && !/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/.test(key)),
  ) as Record<string, string>;
}

function orderJobs(jobs: Json): string[] {
  const order: string[] = [];
  const visit = (id: string, trail: string[]) => {
    if (order.includes(id)) return;
    if (trail.includes(id)) throw new Error(`jobs form a cycle: ${[...trail, id].join(' → ')}`);
    for (const need of needsOf(asMap(jobs[id], `job ${id}`))) {
      if (!(need in jobs)) throw new Error(`job ${id} needs ${need}, which does not exist`);
      visit(need, [...trail, id]);
    }
    order.push(id);
  };
  for (const id of Object.keys(jobs)) visit(id, []);
  return order;
}

function needsOf(job: Json): string[] {
  const needs = job.needs;
  if (needs === undefined) return [];
  return (Array.isArray(needs) ? needs : [needs]).map(String);
}

const UNSUPPORTED_JOB_KEYS = ['if', 'uses', 'strategy', 'container', 'services', 'continue-on-error', 'defaults'];
const UNSUPPORTED_STEP_KEYS = ['continue-on-error', 'working-directory', 'shell'];
const CHECKOUT_INPUTS = new Set(['repository', 'ref', 'path', 'persist-credentials', 'sparse-checkout']);

export interface RunOptions {
  /** Called before each job that runs, with the jobs finished so far: what happens in the world between jobs (a reviewer's wait). */
  beforeJob?: (jobId: string, finished: Readonly<Record<string, JobRecord>>) => Promise<void> | void;
}

export async function runWorkflow(file: string, caller: CallerContext, machine: RunnerMachine, options: RunOptions = {}): Promise<WorkflowRecord> {
  const started = performance.now();
  // A file name is one of this repository's workflows; an absolute path is any other (the runner's own tests).
  const workflow = parseYaml(readFileSync(path.isAbsolute(file) ? file : path.join(REPO_ROOT, '.github', 'workflows', file), 'utf8')) as Json;
  const call = asMap(asMap(workflow.on, 'on').workflow_call, 'on.workflow_call');
  const declaredInputs = asMap(call.inputs, 'workflow_call.inputs') as Record<string, { type?: string; required?: boolean; default?: unknown }>;
  const declaredSecrets = asMap(call.secrets, 'workflow_call.secrets');

  // The caller's with: is checked as GitHub checks it when the run starts.
  for (const [name, value] of Object.entries(caller.inputs)) {
    const spec = declaredInputs[name];
    if (!spec) throw new Error(`${file} declares no input '${name}'`);
    if (spec.type === 'boolean' && typeof value !== 'boolean') throw new Error(`${file}: input '${name}' is a boolean; the caller passed ${JSON.stringify(value)}`);
  }
  for (const [name, spec] of Object.entries(declaredInputs)) {
    if (spec.required && !(name in caller.inputs)) throw new Error(`${file}: required input '${name}' was not passed`);
  }
  const inputValue = (name: string): Value => {
    const spec = declaredInputs[name];
    if (!spec) throw new ExpressionError(`inputs.${name}: ${file} declares no such input`);
    if (name in caller.inputs) return caller.inputs[name]!;
    if (spec.default !== undefined) return spec.default as Value;
    return spec.type === 'boolean' ? false : spec.type === 'number' ? 0 : '';
  };

  const jobsSpec = asMap(workflow.jobs, 'jobs');
  const jobs: Record<string, JobRecord> = {};

  /** The contexts every job-level expression may read. */
  const commonLookup = (extra: (path: string[]) => Value | undefined): Lookup => (ref) => {
    const [context, name, ...rest] = ref;
    const whole = ref.join('.');
    const fromExtra = extra(ref);
    if (fromExtra !== undefined) return fromExtra;
    if (context === 'inputs' && name && rest.length === 0) return inputValue(name);
    if (context === 'vars' && name && rest.length === 0) {
      if (!(name in caller.vars)) throw new ExpressionError(`${whole}: the test context does not say whether variable ${name} is set (list it, '' for unset)`);
      return caller.vars[name]!;
    }
    if (context === 'secrets' && name && rest.length === 0) {
      if (!(name in declaredSecrets) && name !== 'GITHUB_TOKEN') throw new ExpressionError(`${whole}: ${file} declares no secret ${name}`);
      return caller.secrets[name] ?? '';
    }
    if (context === 'github' && name && rest.length === 0) {
      if (!(name in caller.github)) throw new ExpressionError(`${whole}: the test's github context has no '${name}'`);
      return caller.github[name]!;
    }
    throw new ExpressionError(`${whole}: this runner cannot evaluate that reference`);
  };

  /** An action.yml default may read the github context only (e.g. `${{ github.token }}`). */
  const actionDefaultsLookup: Lookup = (ref) => {
    if (ref[0] === 'github') return commonLookup(() => undefined)(ref);
    throw new ExpressionError(`${ref.join('.')}: an action's default can read the github context only here`);
  };

  for (const jobId of orderJobs(jobsSpec)) {
    const spec = asMap(jobsSpec[jobId], `job ${jobId}`);
    for (const key of UNSUPPORTED_JOB_KEYS) if (key in spec) throw new Error(`job ${jobId}: '${key}' is not supported by this runner`);
    const needs = needsOf(spec);
    const needsLookup = (ref: string[]): Value | undefined => {
      if (ref[0] !== 'needs') return undefined;
      const [, job, kind, output, ...rest] = ref;
      if (!job || !needs.includes(job)) throw new ExpressionError(`${ref.join('.')}: job ${jobId} does not need ${job}`);
      if (kind !== 'outputs' || !output || rest.length) throw new ExpressionError(`${ref.join('.')}: only needs.<job>.outputs.<name> is supported`);
      const outputs = jobs[job]!.outputs;
      if (!(output in outputs)) throw new ExpressionError(`${ref.join('.')}: job ${job} declares no output ${output}`);
      return outputs[output]!;
    };
    const jobName = toText(interpolate(spec.name ?? jobId, commonLookup(needsLookup)));
    const runsOn = toText(interpolate(spec['runs-on'], commonLookup(needsLookup)));
    if (needs.some((need) => jobs[need]!.status !== 'success')) {
      jobs[jobId] = { id: jobId, name: jobName, runsOn, status: 'skipped', steps: [], outputs: {}, skippedOutputs: [], workspace: '', durationMs: 0 };
      continue;
    }
    await options.beforeJob?.(jobId, jobs);
    const jobStarted = performance.now();
    const record = await runJob(jobId, jobName, runsOn, spec, needsLookup);
    record.durationMs = performance.now() - jobStarted;
    jobs[jobId] = record;
  }

  const outputsLookup = commonLookup((ref) => {
    if (ref[0] !== 'jobs') return undefined;
    const [, job, kind, output] = ref;
    const record = job ? jobs[job] : undefined;
    if (!record || kind !== 'outputs' || !output || ref.length !== 4) throw new ExpressionError(`${ref.join('.')}: only jobs.<job>.outputs.<name> of an existing job is supported`);
    if (record.status === 'skipped') return '';
    if (!(output in record.outputs)) throw new ExpressionError(`${ref.join('.')}: job ${job} declares no output ${output}`);
    return record.outputs[output]!;
  });
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(asMap(call.outputs, 'workflow_call.outputs'))) {
    outputs[name] = toText(interpolate(asMap(output, `output ${name}`).value, outputsLookup));
  }

  const concurrency = workflow.concurrency;
  const concurrencyGroup = concurrency === undefined ? undefined : toText(interpolate(typeof concurrency === 'string' ? concurrency : asMap(concurrency, 'concurrency').group, commonLookup(() => undefined)));

  return {
    file,
    concurrencyGroup,
    jobs,
    outputs,
    durationMs: performance.now() - started,
    steps: () => Object.values(jobs).flatMap((job) => job.steps.filter((step) => step.status !== 'skipped').map((step) => ({ ...step, job: job.id }))),
    step: (job, id) => {
      const found = jobs[job]?.steps.find((step) => step.id === id);
      if (!found) throw new Error(`${file}: job ${job} has no step ${id}`);
      return found;
    },
  };

  async function runJob(jobId: string, jobName: string, runsOn: string, spec: Json, needsLookup: (ref: string[]) => Value | undefined): Promise<JobRecord> {
    const workspace = mkdtempSync(path.join(tmpdir(), `e2e-${jobId}-workspace-`));
    const runnerTemp = mkdtempSync(path.join(tmpdir(), `e2e-${jobId}-runner-temp-`));
    const permissions = spec.permissions ?? workflow.permissions;
    const idToken = permissions === 'write-all' || asMap(permissions, `job ${jobId} permissions`)['id-token'] === 'write';
    const steps: StepRecord[] = [];
    /** What steps exported for later ones (GITHUB_ENV, GITHUB_PATH), as the runner carries it over. */
    const exported: Record<string, string> = {};
    const addedPath: string[] = [];

    const lookup = commonLookup((ref) => {
      const fromNeeds = needsLookup(ref);
      if (fromNeeds !== undefined) return fromNeeds;
      if (ref[0] !== 'steps') return undefined;
      const [, id, kind, output, ...rest] = ref;
      if (kind !== 'outputs' || !output || rest.length) throw new ExpressionError(`${ref.join('.')}: only steps.<id>.outputs.<name> is supported`);
      const step = steps.find((candidate) => candidate.id === id);
      if (!step) throw new ExpressionError(`${ref.join('.')}: no step '${id}' has run before this point in job ${jobId}`);
      // A skipped or failed step's unset outputs are '' (job outputs are evaluated after a failure too);
      // a step that succeeded without setting what the workflow reads is a wiring bug.
      if (step.status !== 'success') return step.outputs[output] ?? '';
      if (!(output in step.outputs)) {
        throw new ExpressionError(`${ref.join('.')}: step '${id}' ran but did not set output '${output}' (it set: ${Object.keys(step.outputs).sort().join(', ') || 'none'})`);
      }
      return step.outputs[output]!;
    });

    const stepSpecs = Array.isArray(spec.steps) ? (spec.steps as Json[]) : [];
    for (const [index, stepSpec] of stepSpecs.entries()) {
      for (const key of UNSUPPORTED_STEP_KEYS) if (key in stepSpec) throw new Error(`job ${jobId} step ${index + 1}: '${key}' is not supported by this runner`);
      const id = typeof stepSpec.id === 'string' ? stepSpec.id : undefined;
      const uses = typeof stepSpec.uses === 'string' ? stepSpec.uses : undefined;
      const own = uses ? OWN_ACTION.exec(uses) : null;
      const kind: StepRecord['kind'] = own ? 'action' : uses && CHECKOUT.test(uses) ? 'checkout' : 'run';
      if (uses && !own && kind !== 'checkout') throw new Error(`job ${jobId}: this runner cannot run ${uses}`);
      if (!uses && typeof stepSpec.run !== 'string') throw new Error(`job ${jobId} step ${index + 1} has neither uses nor run`);
      const name = toText(interpolate(stepSpec.name ?? uses ?? stepSpec.run, lookup));
      const step: StepRecord = { index, id, name, kind, action: own?.[1], status: 'skipped', inputs: {}, outputs: {}, stdout: '', stderr: '', summary: '', startedAt: performance.now(), durationMs: 0 };
      steps.push(step);
      // The implicit success(): after a failure the remaining steps are skipped; then the step's own if:.
      if (steps.some((previous) => previous.status === 'failure')) continue;
      if ('if' in stepSpec && !condition(stepSpec.if, lookup)) continue;

      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(asMap(stepSpec.env, `step ${name} env`))) env[key] = toText(interpolate(value, lookup));
      const withMap = asMap(stepSpec.with, `step ${name} with`);
      const given: Record<string, string> = {};
      for (const [key, value] of Object.entries(withMap)) given[key] = toText(interpolate(value, lookup));

      const processEnv: Record<string, string> = {
        ...machine.env,
        ...(idToken ? machine.oidcEnv : {}),
        ...exported,
        ...(addedPath.length ? { PATH: [...addedPath].reverse().concat(machine.env.PATH ?? process.env.PATH ?? '').join(path.delimiter) } : {}),
        GITHUB_SHA: caller.github.sha ?? '',
        GITHUB_REF: caller.github.ref ?? '',
        GITHUB_REPOSITORY: caller.github.repository ?? '',
        GITHUB_JOB: jobId,
        RUNNER_TEMP: runnerTemp,
        ...env,
      };

      if (kind === 'checkout') {
        for (const key of Object.keys(given)) if (!CHECKOUT_INPUTS.has(key)) throw new Error(`job ${jobId}: actions/checkout input '${key}' is not simulated by this runner`);
        checkout(workspace, given);
        step.status = 'success';
        step.inputs = given;
      } else if (kind === 'run') {
        if ('with' in stepSpec) throw new Error(`job ${jobId}: a run step with with:`);
        const script = toText(interpolate(stepSpec.run, lookup));
        const result = await runBash(script, { ...inheritedEnv(), ...processEnv, GITHUB_WORKSPACE: workspace }, workspace, runnerTemp, index);
        Object.assign(step, result.step);
        Object.assign(exported, result.exported);
        addedPath.push(...result.addedPath);
      } else {
        const metadata = readAction(own![1]!);
        for (const key of Object.keys(given)) {
          if (!(key in metadata.inputs)) throw new Error(`job ${jobId} step ${id ?? name}: actions/${own![1]} declares no input '${key}'`);
        }
        // The runner sets every input that has a default (evaluated), then what with: gives.
        const inputs: Record<string, string> = {};
        for (const [key, input] of Object.entries(metadata.inputs)) {
          if (input.default !== undefined) inputs[key] = toText(interpolate(input.default, actionDefaultsLookup));
        }
        Object.assign(inputs, given);
        for (const [key, value] of Object.entries(machine.cloudInputs)) {
          if (!(key in metadata.inputs)) continue;
          if (key in given) throw new Error(`job ${jobId} step ${id ?? name}: the workflow passes '${key}' itself, which the test's cloud would override`);
          inputs[key] = value;
        }
        step.inputs = inputs;
        const run = await runDist(own![1]!, { cwd: workspace, inputs, env: processEnv, timeoutMs: 120_000 });
        Object.assign(step, { status: run.exitCode === 0 ? 'success' : 'failure', exitCode: run.exitCode, outputs: run.outputs, stdout: run.stdout, stderr: run.stderr, summary: run.summary });
        // What the action exported for the later steps of the job.
        Object.assign(exported, parseCommandFile(readFileSync(path.join(run.workDir, 'env'), 'utf8')));
        addedPath.push(...readFileSync(path.join(run.workDir, 'path'), 'utf8').split('\n').filter(Boolean));
      }
      step.durationMs = performance.now() - step.startedAt;
    }

    const status: Status = steps.some((step) => step.status === 'failure') ? 'failure' : 'success';
    // The runner drops a job output that holds a masked value (the workflow's secrets, and whatever a
    // step masked with ::add-mask::) with "Skip output '<name>' since it may contain secret": the next
    // job then reads ''. Emulated here, so a wiring that only works with an unmasked value fails.
    const masks = [...Object.values(caller.secrets), ...steps.flatMap((step) => step.stdout.split('\n').filter((line) => line.startsWith('::add-mask::')).map((line) => line.slice('::add-mask::'.length)))].filter(Boolean);
    const outputs: Record<string, string> = {};
    const skippedOutputs: string[] = [];
    for (const [name, value] of Object.entries(asMap(spec.outputs, `job ${jobId} outputs`))) {
      const text = toText(interpolate(value, lookup));
      if (masks.some((mask) => text.includes(mask))) skippedOutputs.push(name);
      outputs[name] = skippedOutputs.includes(name) ? '' : text;
    }
    let environment: JobRecord['environment'];
    if (typeof spec.environment === 'string') environment = { name: toText(interpolate(spec.environment, lookup)) };
    else if (spec.environment) {
      const given = asMap(spec.environment, `job ${jobId} environment`);
      environment = { name: toText(interpolate(given.name, lookup)), url: given.url === undefined ? undefined : toText(interpolate(given.url, lookup)) };
    }
    return { id: jobId, name: jobName, runsOn, status, steps, outputs, skippedOutputs, environment, workspace, durationMs: 0 };
  }

  function checkout(workspace: string, given: Record<string, string>): void {
    const target = path.resolve(workspace, given.path ?? '.');
    if (!target.startsWith(workspace)) throw new Error(`actions/checkout path ${given.path} leaves the workspace`);
    const repository = given.repository ?? '';
    if (!repository || repository === caller.github.repository) {
      machine.checkoutCaller(target);
      return;
    }
    if (repository !== THIS_REPOSITORY) throw new Error(`this runner checks out the caller's repository or ${THIS_REPOSITORY}, not ${repository}`);
    // This repository at the release the workflow pins: the working tree under test, sparse as asked.
    const paths = (given['sparse-checkout'] ?? '').split('\n').map((line) => line.trim()).filter(Boolean);
    if (!paths.length) throw new Error(`checking out all of ${THIS_REPOSITORY} is not simulated; the workflows use sparse-checkout`);
    for (const relative of paths) {
      const source = path.join(REPO_ROOT, relative);
      if (!existsSync(source)) throw new Error(`sparse-checkout path ${relative} does not exist in ${THIS_REPOSITORY}`);
      // Never a local .terraform directory someone's own terraform init left in the working tree.
      cpSync(source, path.join(target, relative), { recursive: true, filter: (file) => path.basename(file) !== '.terraform' });
    }
  }
}

interface BashResult {
  step: Partial<StepRecord>;
  exported: Record<string, string>;
  addedPath: string[];
}

async function runBash(script: string, env: Record<string, string>, cwd: string, runnerTemp: string, index: number): Promise<BashResult> {
  const dir = mkdtempSync(path.join(runnerTemp, `step-${index}-`));
  const files = { script: path.join(dir, 'step.sh'), GITHUB_OUTPUT: path.join(dir, 'output'), GITHUB_STEP_SUMMARY: path.join(dir, 'summary'), GITHUB_ENV: path.join(dir, 'env'), GITHUB_PATH: path.join(dir, 'path') };
  mkdirSync(dir, { recursive: true });
  writeFileSync(files.script, script);
  for (const file of [files.GITHUB_OUTPUT, files.GITHUB_STEP_SUMMARY, files.GITHUB_ENV, files.GITHUB_PATH]) writeFileSync(file, '');
  // Asynchronous: the stand-ins answer from this same process while the step runs.
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', files.script], {
    cwd,
    env: { ...env, GITHUB_OUTPUT: files.GITHUB_OUTPUT, GITHUB_STEP_SUMMARY: files.GITHUB_STEP_SUMMARY, GITHUB_ENV: files.GITHUB_ENV, GITHUB_PATH: files.GITHUB_PATH, GITHUB_ACTIONS: 'true', CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    step: {
      status: exitCode === 0 ? 'success' : 'failure',
      exitCode,
      stdout,
      stderr,
      outputs: parseCommandFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    },
    exported: parseCommandFile(readFileSync(files.GITHUB_ENV, 'utf8')),
    addedPath: readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean),
  };
}
