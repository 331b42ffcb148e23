import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';

/**
 * Static checks of the references in a workflow file that actionlint cannot make, because it cannot
 * see this repository's actions behind `azure-bakery/azure-bakery-actions/actions/<name>@<ref>`:
 *
 * - every use of this repository's actions maps to actions/<name>/action.yml, each `with:` input
 *   exists there and each required input (required: true, no default) is passed;
 * - every call of this repository's reusable workflows maps to .github/workflows/<file>, with the
 *   same checks for inputs and secrets;
 * - every `steps.<id>.outputs.<name>` read names an earlier step of the same job that declares that
 *   output (its action.yml, or `<name>=` written to $GITHUB_OUTPUT by a run step), and every
 *   `needs.<job>.outputs.<name>` names a needed job that declares it;
 * - no `uses: ./…` in a reusable workflow or an example (it would resolve against the caller's
 *   checkout), one ref for all of this repository's actions in a file, and every third-party
 *   action or workflow pinned to a full commit SHA with a `# vX.Y.Z` comment;
 * - a run step that calls a file of this repository (`.azure-bakery-actions/<path>`) comes after a
 *   checkout of this repository into .azure-bakery-actions whose sparse-checkout brings <path>: in a
 *   called workflow that checkout is the only way this repository's files reach the runner. Every
 *   checkout of this repository names the release ref that release.yml pins.
 */

export const REPOSITORY_SLUG = 'azure-bakery/azure-bakery-actions';

export interface InputSpec {
  required?: unknown;
  default?: unknown;
  type?: unknown;
}

export interface ActionMetadata {
  inputs: Record<string, InputSpec>;
  outputs: Record<string, unknown>;
}

export interface ReusableWorkflowInterface {
  inputs: Record<string, InputSpec>;
  secrets: Record<string, InputSpec>;
  outputs: Record<string, unknown>;
}

/** Where the checker looks up this repository's actions and reusable workflows. */
export interface RepositoryMetadata {
  /** actions/<name>/action.yml, or undefined when it does not exist. */
  action(name: string): ActionMetadata | undefined;
  /** `on.workflow_call` of .github/workflows/<file>, or undefined when the file or trigger is missing. */
  reusableWorkflow(file: string): ReusableWorkflowInterface | undefined;
  /** Text of a file of this repository (a script a run step calls), or undefined when it does not exist. */
  file(relativePath: string): string | undefined;
}

export interface Problem {
  file: string;
  line: number;
  message: string;
}

export function formatProblems(problems: Problem[]): string[] {
  return problems.map((problem) => `${problem.file}:${problem.line}: ${problem.message}`);
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function parseActionMetadata(text: string): ActionMetadata {
  const metadata = asRecord(parseDocument(text).toJS());
  return {
    inputs: asRecord(metadata.inputs) as Record<string, InputSpec>,
    outputs: asRecord(metadata.outputs),
  };
}

/** The `on.workflow_call` block, or undefined when the workflow is not reusable. */
export function parseReusableWorkflow(text: string): ReusableWorkflowInterface | undefined {
  const workflow = asRecord(parseDocument(text).toJS());
  const on = workflow.on;
  if (on === 'workflow_call' || (Array.isArray(on) && on.includes('workflow_call'))) {
    return { inputs: {}, secrets: {}, outputs: {} };
  }
  const triggers = asRecord(on);
  if (!('workflow_call' in triggers)) return undefined;
  const call = asRecord(triggers.workflow_call);
  return {
    inputs: asRecord(call.inputs) as Record<string, InputSpec>,
    secrets: asRecord(call.secrets) as Record<string, InputSpec>,
    outputs: asRecord(call.outputs),
  };
}

/** The repository on disk: actions/<name>/action.yml and .github/workflows/<file>. */
export function repositoryOnDisk(root: string): RepositoryMetadata {
  return {
    action(name) {
      const file = path.join(root, 'actions', name, 'action.yml');
      return existsSync(file) ? parseActionMetadata(readFileSync(file, 'utf8')) : undefined;
    },
    reusableWorkflow(file) {
      const full = path.join(root, '.github', 'workflows', file);
      return existsSync(full) ? parseReusableWorkflow(readFileSync(full, 'utf8')) : undefined;
    },
    file(relativePath) {
      const full = path.join(root, relativePath);
      return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
    },
  };
}

/** A repository given as texts, for checks of snippets: `{ 'plan': '<action.yml>' }`, `{ 'plan.yml': '<workflow>' }`. */
export function repositoryInMemory(actions: Record<string, string>, workflows: Record<string, string> = {}, files: Record<string, string> = {}): RepositoryMetadata {
  return {
    action: (name) => (actions[name] === undefined ? undefined : parseActionMetadata(actions[name])),
    reusableWorkflow: (file) => (workflows[file] === undefined ? undefined : parseReusableWorkflow(workflows[file])),
    file: (relativePath) => files[relativePath],
  };
}

export function isRequired(spec: InputSpec | undefined): boolean {
  return (spec?.required === true || spec?.required === 'true') && spec?.default === undefined;
}

/**
 * Where the reusable workflows check out this repository (its stack and .github/workflows/scripts);
 * a run step that calls `.azure-bakery-actions/<path>` runs this repository's file <path>.
 */
export const BUNDLED_CHECKOUT = '.azure-bakery-actions';
const BUNDLED_SCRIPT = /(?:^|\s)\.azure-bakery-actions\/(\S+)/g;
const CHECKOUT_ACTION = /^actions\/checkout@/;
/** The comment that release.yml's pinning step looks for on the checkout's ref line. */
const RELEASE_REF_COMMENT = '# azure-bakery-actions release ref';

const FULL_SHA = /^[0-9a-f]{40}$/;
const OWN_ACTION = new RegExp(`^${REPOSITORY_SLUG}/actions/([^@]+)@(.+)$`);
const OWN_WORKFLOW = new RegExp(`^${REPOSITORY_SLUG}/\\.github/workflows/([^@/]+)@(.+)$`);
const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;
const STEP_OUTPUT = /\bsteps\.([A-Za-z_][\w-]*)\.outputs(?:\.([A-Za-z_][\w-]*)|\[\s*'([^']+)'\s*\]|\[\s*"([^"]+)"\s*\])/g;
const NEEDS_OUTPUT = /\bneeds\.([A-Za-z_][\w-]*)\.outputs(?:\.([A-Za-z_][\w-]*)|\[\s*'([^']+)'\s*\]|\[\s*"([^"]+)"\s*\])/g;

/** A string somewhere in a job, with where it is and whether it is an expression without ${{ }} (if:). */
interface JobString {
  text: string;
  line: number;
  /** Index of the step it belongs to, or undefined for job-level keys (outputs, environment, ...). */
  stepIndex: number | undefined;
  implicitExpression: boolean;
}

interface StepInfo {
  index: number;
  id: string | undefined;
  uses: string | undefined;
  run: string | undefined;
  /** The step's `with:` as plain data ({} when it has none). */
  with: Record<string, unknown>;
  /** This repository's action behind `uses`, when it is one. */
  ownAction: string | undefined;
}

export function checkWorkflow(file: string, text: string, repository: RepositoryMetadata): Problem[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  const problems: Problem[] = [];
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lineCounter.linePos(node.range[0]).line : 1);
  const report = (node: Node | null | undefined, message: string) => problems.push({ file, line: lineOf(node), message });
  const lines = text.split('\n');

  if (document.errors.length) {
    for (const error of document.errors) problems.push({ file, line: error.linePos?.[0]?.line ?? 1, message: `YAML: ${error.message}` });
    return problems;
  }
  const root = document.contents;
  if (!isMap(root)) {
    report(root, 'a workflow must be a mapping');
    return problems;
  }
  const isReusable = parseReusableWorkflow(text) !== undefined;
  const isExample = file.split(path.sep).join('/').includes('examples/');
  const jobsNode = root.get('jobs', true);
  if (!isMap(jobsNode)) {
    report(jobsNode ?? root, 'the workflow has no jobs');
    return problems;
  }

  const ownRefs = new Map<string, Node>();
  /** Outputs each job declares: its `outputs:` keys, or the called workflow's outputs. */
  const jobOutputs = new Map<string, Set<string> | undefined>();

  const checkThirdParty = (uses: string, node: Node) => {
    if (uses.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(uses)) report(node, `${uses}: pin the image by digest (docker://image@sha256:<digest>)`);
      return;
    }
    const at = uses.lastIndexOf('@');
    const ref = at > 0 ? uses.slice(at + 1) : '';
    if (!FULL_SHA.test(ref)) {
      report(node, `${uses}: third-party actions and workflows must be pinned to a full 40-character commit SHA (uses: owner/repo@<sha> # vX.Y.Z)`);
      return;
    }
    const sourceLine = lines[lineOf(node) - 1] ?? '';
    if (!/#\s*v\d+(\.\d+)*/.test(sourceLine)) report(node, `${uses}: add the tag the SHA stands for as a comment (# vX.Y.Z), so readers and Dependabot know the version`);
  };

  const checkLocalPath = (uses: string, node: Node) => {
    if (!uses.startsWith('./')) return false;
    if (isReusable || isExample) {
      report(node, `${uses}: inside a reusable workflow (and in a caller's workflow) ./ is the caller's checkout, not this repository; reference ${REPOSITORY_SLUG}/${uses.slice(2)}@<ref>`);
    }
    return true;
  };

  const checkWith = (
    what: string,
    declared: Record<string, InputSpec>,
    withNode: unknown,
    anchor: Node,
    options: { typed: boolean },
  ) => {
    const passed = new Set<string>();
    if (isMap(withNode)) {
      for (const pair of withNode.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        passed.add(key);
        const spec = declared[key];
        if (!spec) {
          const known = Object.keys(declared).sort().join(', ') || 'none';
          report(pair.key as Node, `${what} has no input '${key}' (its inputs: ${known})`);
          continue;
        }
        if (options.typed && isScalar(pair.value)) checkLiteralType(what, key, spec, pair.value.value, pair.value as Node);
      }
    }
    for (const [name, spec] of Object.entries(declared)) {
      if (isRequired(spec) && !passed.has(name)) report(anchor, `${what} requires input '${name}' (required, no default), which is not passed`);
    }
  };

  const checkLiteralType = (what: string, key: string, spec: InputSpec, value: unknown, node: Node) => {
    if (typeof value === 'string' && value.includes('${{')) return;
    if (spec.type === 'boolean' && typeof value !== 'boolean') report(node, `${what}: input '${key}' is a boolean; pass true, false or an expression, not ${JSON.stringify(value)}`);
    if (spec.type === 'number' && typeof value !== 'number') report(node, `${what}: input '${key}' is a number; pass a number or an expression, not ${JSON.stringify(value)}`);
  };

  // First pass: what every job declares, so `needs.<job>.outputs.<name>` can be checked in any order.
  for (const pair of jobsNode.items) {
    const jobId = isScalar(pair.key) ? String(pair.key.value) : '';
    const job = pair.value;
    if (!isMap(job)) continue;
    const uses = job.get('uses');
    if (typeof uses === 'string') {
      const own = OWN_WORKFLOW.exec(uses);
      const called = own ? repository.reusableWorkflow(own[1]!) : undefined;
      jobOutputs.set(jobId, own ? (called ? new Set(Object.keys(called.outputs)) : undefined) : undefined);
    } else {
      const outputs = job.get('outputs');
      jobOutputs.set(jobId, new Set(isMap(outputs) ? outputs.items.map((item) => String((item.key as { value: unknown }).value)) : []));
    }
  }

  for (const pair of jobsNode.items) {
    const jobId = isScalar(pair.key) ? String(pair.key.value) : '';
    const job = pair.value;
    if (!isMap(job)) {
      report(pair.key as Node, `job '${jobId}' must be a mapping`);
      continue;
    }
    const needs = new Set<string>();
    const needsValue = job.get('needs');
    if (typeof needsValue === 'string') needs.add(needsValue);
    if (isSeq(needsValue)) for (const item of needsValue.items) if (isScalar(item)) needs.add(String(item.value));

    const usesNode = job.get('uses', true);
    if (isScalar(usesNode) && typeof usesNode.value === 'string') {
      checkReusableCall(jobId, job, usesNode.value, usesNode as Node);
    }

    const steps = collectSteps(job);
    const strings = collectStrings(job, lineOf);
    for (const step of steps) {
      if (!step.uses) continue;
      const node = stepUsesNode(job, step.index);
      if (checkLocalPath(step.uses, node)) continue;
      const own = OWN_ACTION.exec(step.uses);
      if (own) {
        ownRefs.set(own[2]!, node);
        const metadata = repository.action(own[1]!);
        if (!metadata) {
          report(node, `${step.uses}: actions/${own[1]}/action.yml does not exist, so its inputs and outputs cannot be checked`);
          continue;
        }
        checkWith(`actions/${own[1]}`, metadata.inputs, stepWithNode(job, step.index), node, { typed: false });
        continue;
      }
      if (step.uses.startsWith(`${REPOSITORY_SLUG}@`) || step.uses.startsWith(`${REPOSITORY_SLUG}/`)) {
        report(node, `${step.uses}: this repository has no action there; its actions are ${REPOSITORY_SLUG}/actions/<name>@<ref>`);
        continue;
      }
      checkThirdParty(step.uses, node);
    }

    checkBundledFiles(jobId, job, steps);

    for (const item of strings) {
      for (const expression of expressionsIn(item)) {
        for (const match of expression.matchAll(STEP_OUTPUT)) {
          checkStepOutputRead(jobId, steps, item, match[1]!, (match[2] ?? match[3] ?? match[4])!);
        }
        for (const match of expression.matchAll(NEEDS_OUTPUT)) {
          const needed = match[1]!;
          const output = (match[2] ?? match[3] ?? match[4])!;
          if (!needs.has(needed)) {
            problems.push({ file, line: item.line, message: `job '${jobId}' reads needs.${needed}.outputs.${output} but does not list '${needed}' in needs` });
            continue;
          }
          const declared = jobOutputs.get(needed);
          if (declared && !declared.has(output)) {
            problems.push({ file, line: item.line, message: `job '${jobId}' reads needs.${needed}.outputs.${output}, but job '${needed}' declares no output '${output}' (it has: ${[...declared].sort().join(', ') || 'none'})` });
          }
        }
      }
    }
  }

  // A reusable workflow's outputs must come from outputs its jobs declare.
  if (isReusable) {
    const on = root.get('on', true);
    const call = isMap(on) ? on.get('workflow_call', true) : undefined;
    const outputs = isMap(call) ? call.get('outputs', true) : undefined;
    if (isMap(outputs)) {
      for (const pair of outputs.items) {
        const name = isScalar(pair.key) ? String(pair.key.value) : '';
        const value = isMap(pair.value) ? pair.value.get('value', true) : undefined;
        const text = isScalar(value) ? String(value.value) : '';
        const match = /\bjobs\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/.exec(text);
        if (!match) {
          report((value ?? pair.key) as Node, `workflow output '${name}' must be \${{ jobs.<job>.outputs.<name> }}`);
          continue;
        }
        const declared = jobOutputs.get(match[1]!);
        if (!jobsNode.has(match[1]!)) report(value as Node, `workflow output '${name}' reads job '${match[1]}', which does not exist`);
        else if (declared && !declared.has(match[2]!)) report(value as Node, `workflow output '${name}' reads jobs.${match[1]}.outputs.${match[2]}, which job '${match[1]}' does not declare`);
      }
    }
  }

  if (ownRefs.size > 1) {
    const refs = [...ownRefs.keys()].sort().join(', ');
    for (const node of ownRefs.values()) report(node, `this repository's actions are used at different refs (${refs}); use one ref, which release.yml pins`);
  }
  return problems;

  function checkReusableCall(jobId: string, job: YAMLMap, uses: string, node: Node) {
    if (checkLocalPath(uses, node)) return;
    const own = OWN_WORKFLOW.exec(uses);
    if (!own) {
      checkThirdParty(uses, node);
      return;
    }
    const called = repository.reusableWorkflow(own[1]!);
    if (!called) {
      report(node, `${uses}: .github/workflows/${own[1]} does not exist or is not a reusable workflow (on: workflow_call)`);
      return;
    }
    const what = `.github/workflows/${own[1]}`;
    checkWith(what, called.inputs, job.get('with', true), node, { typed: true });
    const secretsNode = job.get('secrets', true);
    if (isScalar(secretsNode) && secretsNode.value === 'inherit') return;
    const passed = new Set<string>();
    if (isMap(secretsNode)) {
      for (const pair of secretsNode.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        passed.add(key);
        if (!(key in called.secrets)) {
          report(pair.key as Node, `${what} declares no secret '${key}' (its secrets: ${Object.keys(called.secrets).sort().join(', ') || 'none'})`);
        }
      }
    }
    for (const [name, spec] of Object.entries(called.secrets)) {
      if (spec?.required === true && !passed.has(name)) report(node, `job '${jobId}': ${what} requires secret '${name}', which is not passed (pass it, or use secrets: inherit)`);
    }
  }

  /** Run steps that call this repository's files come after the checkout that brings them. */
  function checkBundledFiles(jobId: string, job: YAMLMap, steps: StepInfo[]) {
    /** What the checkouts so far brought: the sparse paths, or undefined for the whole repository. */
    const brought: (string[] | undefined)[] = [];
    for (const step of steps) {
      const node = stepNode(job, step.index) as Node | undefined;
      if (step.uses && CHECKOUT_ACTION.test(step.uses) && step.with.repository === REPOSITORY_SLUG) {
        const refNode = stepNode(job, step.index)?.get('with', true);
        const ref = isMap(refNode) ? refNode.get('ref', true) : undefined;
        if (!ref || !(lines[lineOf(ref as Node) - 1] ?? '').includes(RELEASE_REF_COMMENT)) {
          report((ref ?? node) as Node, `job '${jobId}' checks out ${REPOSITORY_SLUG} without the release ref: write 'ref: v1 ${RELEASE_REF_COMMENT}', which release.yml pins to each release, or the job runs another version's files`);
        }
        if (String(step.with.path ?? '').replace(/\/+$/, '') !== BUNDLED_CHECKOUT) continue;
        const sparse = step.with['sparse-checkout'];
        brought.push(
          typeof sparse === 'string' && sparse.trim()
            ? sparse
                .split('\n')
                .map((line) => line.trim().replace(/^\/+|\/+$/g, ''))
                .filter(Boolean)
            : undefined,
        );
        continue;
      }
      if (step.run === undefined) continue;
      for (const match of step.run.matchAll(BUNDLED_SCRIPT)) {
        const file = match[1]!;
        const where = `job '${jobId}' runs ${BUNDLED_CHECKOUT}/${file}`;
        if (!brought.length) {
          report(node, `${where}, but no earlier step checks out ${REPOSITORY_SLUG} into ${BUNDLED_CHECKOUT}: a called workflow sees only the caller's files until it checks out this repository itself`);
        } else if (!brought.some((paths) => paths === undefined || paths.some((entry) => file === entry || file.startsWith(`${entry}/`)))) {
          report(node, `${where}, but the checkout of ${REPOSITORY_SLUG} into ${BUNDLED_CHECKOUT} does not bring it: add its folder to sparse-checkout`);
        }
      }
    }
  }

  function checkStepOutputRead(jobId: string, steps: StepInfo[], item: JobString, stepId: string, output: string) {
    const where = `job '${jobId}' reads steps.${stepId}.outputs.${output}`;
    const producer = steps.find((step) => step.id === stepId);
    if (!producer) {
      problems.push({ file, line: item.line, message: `${where}, but the job has no step with id '${stepId}'` });
      return;
    }
    if (item.stepIndex !== undefined && producer.index >= item.stepIndex) {
      problems.push({ file, line: item.line, message: `${where}, but step '${stepId}' runs ${producer.index === item.stepIndex ? 'in the same step' : 'later'}` });
      return;
    }
    if (producer.ownAction) {
      const metadata = repository.action(producer.ownAction);
      // A missing action.yml is reported once, at its uses: line.
      if (metadata && !(output in metadata.outputs)) {
        const known = Object.keys(metadata.outputs).sort().join(', ') || 'none';
        problems.push({ file, line: item.line, message: `${where}, but actions/${producer.ownAction} declares no output '${output}' (its outputs: ${known})` });
      }
      return;
    }
    if (producer.run !== undefined) {
      // The step's own script, plus any script of this repository it runs from the bundled checkout.
      const scripts = [producer.run];
      for (const match of producer.run.matchAll(BUNDLED_SCRIPT)) {
        const script = repository.file(match[1]!);
        if (script === undefined) {
          problems.push({ file, line: item.line, message: `step '${stepId}' runs ${match[1]} of this repository, which does not exist` });
          return;
        }
        scripts.push(script);
      }
      const writes = new RegExp(`(^|[\\s"'])${escapeRegExp(output)}(=|<<)`, 'm');
      if (!scripts.some((script) => script.includes('GITHUB_OUTPUT') && writes.test(script))) {
        problems.push({ file, line: item.line, message: `${where}, but step '${stepId}' never writes '${output}=' to $GITHUB_OUTPUT` });
      }
    }
    // Other third-party actions: their outputs are declared in a repository we do not have here.
  }
}

function collectSteps(job: YAMLMap): StepInfo[] {
  const stepsNode = job.get('steps', true);
  if (!isSeq(stepsNode)) return [];
  return stepsNode.items.map((item, index) => {
    const step = isMap(item) ? item : undefined;
    const id = step?.get('id');
    const uses = step?.get('uses');
    const run = step?.get('run');
    const withNode = step?.get('with', true);
    const own = typeof uses === 'string' ? OWN_ACTION.exec(uses) : null;
    return {
      index,
      id: typeof id === 'string' ? id : undefined,
      uses: typeof uses === 'string' ? uses : undefined,
      run: typeof run === 'string' ? run : undefined,
      with: isMap(withNode) ? asRecord(withNode.toJSON()) : {},
      ownAction: own ? own[1] : undefined,
    };
  });
}

function stepNode(job: YAMLMap, index: number): YAMLMap | undefined {
  const stepsNode = job.get('steps', true);
  const item = isSeq(stepsNode) ? stepsNode.items[index] : undefined;
  return isMap(item) ? item : undefined;
}

function stepUsesNode(job: YAMLMap, index: number): Node {
  return (stepNode(job, index)?.get('uses', true) ?? stepNode(job, index)) as Node;
}

function stepWithNode(job: YAMLMap, index: number): unknown {
  return stepNode(job, index)?.get('with', true);
}

/** Every string scalar in a job, with the step it belongs to. */
function collectStrings(job: YAMLMap, lineOf: (node: Node) => number): JobString[] {
  const found: JobString[] = [];
  const visit = (node: unknown, stepIndex: number | undefined, key: string | undefined) => {
    if (isScalar(node)) {
      if (typeof node.value === 'string') found.push({ text: node.value, line: lineOf(node as Node), stepIndex, implicitExpression: key === 'if' });
      return;
    }
    if (isSeq(node)) {
      node.items.forEach((item) => visit(item, stepIndex, undefined));
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
        visit(pair.value, stepIndex, name);
      }
    }
  };
  for (const pair of job.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    if (name === 'steps' && isSeq(pair.value)) {
      pair.value.items.forEach((step, index) => visit(step, index, undefined));
    } else {
      visit(pair.value, undefined, name);
    }
  }
  return found;
}

function expressionsIn(item: JobString): string[] {
  const expressions = [...item.text.matchAll(EXPRESSION)].map((match) => match[1]!);
  if (item.implicitExpression && expressions.length === 0) expressions.push(item.text);
  return expressions;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
