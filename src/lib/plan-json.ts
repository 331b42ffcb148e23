import { GuidedError } from './errors.js';

/**
 * The parts of Terraform's JSON plan representation (`terraform show -json <planfile>`, format 1.x) that
 * the plan summary reads. Field names are Terraform's own; see "JSON Output Format" in Terraform's
 * documentation. Anything not listed here (planned_values, prior_state, configuration, …) is carried
 * along untouched.
 */

/** `change.actions`: one action, or two for a replacement or a replace-and-forget. */
export type PlanAction = 'no-op' | 'create' | 'read' | 'update' | 'delete' | 'forget';

export interface PlanChange {
  actions: PlanAction[];
  before?: unknown;
  after?: unknown;
  /** Mirrors `after`: `true` where a value is known only after apply. */
  after_unknown?: unknown;
  /** Mirrors `before`/`after`: `true` where a value is sensitive, at any depth (or for the whole value). */
  before_sensitive?: unknown;
  after_sensitive?: unknown;
  /** The attribute paths that force a replacement, e.g. `[["ami"], ["tags", "env"]]`. */
  replace_paths?: (string | number)[][];
  /** Present when the resource is imported by this plan (`import` block). */
  importing?: { id?: string; identity?: unknown; unknown?: boolean } | null;
  generated_config?: string;
}

export interface ResourceChange {
  address: string;
  /** The address before a `moved` block or a refactoring moved it. */
  previous_address?: string;
  module_address?: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  index?: string | number;
  provider_name?: string;
  /** Set for a deposed object left over from a failed create-before-destroy replacement. */
  deposed?: string;
  change: PlanChange;
  action_reason?: string;
}

export type OutputChange = Omit<PlanChange, 'replace_paths' | 'importing' | 'generated_config'>;

export interface DeferredResourceChange {
  reason: string;
  resource_change: ResourceChange;
}

/** Format 1.2+: the results of `check` blocks and pre/postconditions. */
export interface CheckResult {
  address: { kind: string; to_display: string; name?: string; mode?: string; type?: string };
  status: 'pass' | 'fail' | 'error' | 'unknown';
  instances?: { address: { to_display: string }; status: string; problems?: { message: string }[] }[];
}

/** Format 1.1 (Terraform 1.2–1.4): pre/postcondition results before `checks` replaced them. */
export interface ConditionResult {
  address: string;
  condition_type: string;
  result: boolean;
  unknown: boolean;
  error_message?: string;
}

export interface TerraformPlanJson {
  format_version: string;
  terraform_version?: string;
  applyable?: boolean;
  complete?: boolean;
  /** True when planning failed part-way; the plan is then incomplete and cannot be applied. */
  errored?: boolean;
  resource_changes?: ResourceChange[];
  resource_drift?: ResourceChange[];
  output_changes?: Record<string, OutputChange>;
  deferred_changes?: DeferredResourceChange[];
  checks?: CheckResult[];
  condition_results?: ConditionResult[];
  [other: string]: unknown;
}

/** The plan format versions this module reads: Terraform promises compatibility within a major version. */
export const SUPPORTED_PLAN_FORMAT_MAJOR = 1;

const SHOW_JSON_HINT = 'Give the output of `terraform show -json <planfile>` for a plan saved with `terraform plan -out=<planfile>`.';

function invalid(source: string, problem: string, guidance = SHOW_JSON_HINT): GuidedError {
  return new GuidedError(`${source} is not a Terraform JSON plan: ${problem}.`, guidance);
}

/** What a non-plan text most likely is, so the error can say what to run instead. */
function describeNonJson(text: string): string | undefined {
  if (text.startsWith('PK\u0003\u0004')) return 'it is a binary plan file (the `-out` file itself), not its JSON rendering';
  if (/Terraform will perform the following actions|No changes\.|^Plan: \d+ to /m.test(text.slice(0, 200_000))) {
    return 'it is Terraform\'s human-readable plan output, not JSON';
  }
  return undefined;
}

/** The top-level members the summary reads; the rest of a plan is most of its size. */
const SUMMARY_MEMBERS = new Set([
  'format_version',
  'terraform_version',
  'applyable',
  'complete',
  'errored',
  'timestamp',
  'resource_changes',
  'resource_drift',
  'output_changes',
  'deferred_changes',
  'checks',
  'condition_results',
]);

/** Members that identify a plan (as opposed to a state or another JSON document). */
const PLAN_MEMBERS = ['planned_values', 'resource_changes', 'output_changes', 'resource_drift', 'applyable', 'errored'];

export interface ParsePlanOptions {
  /**
   * Keep every member of the plan. By default only the members the summary reads are parsed:
   * planned_values, prior_state and configuration (about two thirds of a plan) are skipped, and so is
   * `variables`, which holds the values of sensitive variables in clear text.
   */
  keepAll?: boolean;
}

/**
 * Parses `terraform show -json` output, checking it is a plan (not a state, a `validate -json` result
 * or a plan from a newer major format) and that the lists the summary walks have the expected shape.
 * The checks look at the top level and at each resource change only, so they cost little next to
 * parsing itself; and unless `keepAll` is set, the members the summary never reads are skipped rather
 * than parsed, which makes reading a plan cheaper than JSON.parse of it in both time and memory.
 */
export function parsePlanJson(text: string, source = 'The plan JSON', options: ParsePlanOptions = {}): TerraformPlanJson {
  if (text.trim() === '') throw invalid(source, 'it is empty');
  let parsed: unknown;
  try {
    const members = options.keepAll ? undefined : topLevelMembers(text);
    if (members) {
      const plan: Record<string, unknown> = {};
      for (const member of members) {
        if (SUMMARY_MEMBERS.has(member.key)) plan[member.key] = JSON.parse(text.slice(member.start, member.end));
        // Skipped members still count as present, for telling a plan from other documents.
        else if (!(member.key in plan)) plan[member.key] = SKIPPED;
      }
      parsed = plan;
    } else {
      parsed = JSON.parse(text);
    }
  } catch {
    // JSON.parse of the whole text gives the error with its true position (or, if the scan above was
    // wrong about a valid document, the document itself).
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const kind = describeNonJson(text);
      throw invalid(source, kind ?? `it is not valid JSON (${(error as Error).message})`);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(source, `it is a JSON ${Array.isArray(parsed) ? 'array' : typeof parsed}, not an object`);
  }
  const plan = parsed as Record<string, unknown>;
  if ('valid' in plan && 'diagnostics' in plan) throw invalid(source, 'it is the output of `terraform validate -json`');
  if (typeof plan.format_version !== 'string') throw invalid(source, 'it has no "format_version"');
  const major = Number(plan.format_version.split('.')[0]);
  if (major !== SUPPORTED_PLAN_FORMAT_MAJOR) {
    throw invalid(
      source,
      `its format_version is ${plan.format_version}, and only ${SUPPORTED_PLAN_FORMAT_MAJOR}.x is understood`,
      'Use a Terraform (or OpenTofu) release whose `show -json` writes format 1.x, or update azure-bakery-actions.',
    );
  }
  if (!PLAN_MEMBERS.some((key) => key in plan)) {
    const what = 'values' in plan ? 'it is a state (`terraform show -json` without a plan file)' : 'it has none of the fields of a plan (planned_values, resource_changes, output_changes)';
    throw invalid(source, what);
  }
  for (const key of Object.keys(plan)) if (plan[key] === SKIPPED) delete plan[key];
  checkResourceChanges(plan.resource_changes, 'resource_changes', source);
  checkResourceChanges(plan.resource_drift, 'resource_drift', source);
  if (plan.output_changes !== undefined && (typeof plan.output_changes !== 'object' || plan.output_changes === null || Array.isArray(plan.output_changes))) {
    throw invalid(source, '"output_changes" is not an object');
  }
  return plan as TerraformPlanJson;
}

const SKIPPED = Symbol('skipped member');

// ---------------------------------------------------------------------------------------------------
// A scan of the top-level object: where each member's value starts and ends, without building it.
// It only has to find boundaries (strings, brackets); the members that are kept are then checked by
// JSON.parse, and anything the scan does not understand sends the caller back to JSON.parse of it all.

interface Member {
  key: string;
  start: number;
  end: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;
const COLON = 58;

function skipWhitespace(text: string, index: number): number {
  let i = index;
  for (let c = text.charCodeAt(i); c === 32 || c === 10 || c === 13 || c === 9; c = text.charCodeAt(++i));
  return i;
}

/** The index just after the string starting at `index` (an opening quote), or -1. */
function stringEnd(text: string, index: number): number {
  let from = index + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The index just after the JSON value starting at `index`, or -1. */
function valueEnd(text: string, index: number): number {
  const first = text.charCodeAt(index);
  if (first === QUOTE) return stringEnd(text, index);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return literalEnd(text, index);
  return containerEnd(text, index);
}

/** The end of a number, `true`, `false` or `null` (JSON.parse checks which, if the member is kept). */
function literalEnd(text: string, index: number): number {
  let i = index;
  for (let c = text.charCodeAt(i); i < text.length && c !== COMMA && c !== CLOSE_BRACE && c !== CLOSE_BRACKET && c !== 32 && c !== 10 && c !== 13 && c !== 9; c = text.charCodeAt(++i));
  return i > index ? i : -1;
}

/** The end of the object or array starting at `index`: the hot loop of reading a large plan. */
function containerEnd(text: string, index: number): number {
  let depth = 0;
  for (let i = index; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) return -1;
      i = end - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
    } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

/** The members of the top-level object, or undefined when `text` is not one (as far as a scan can tell). */
function topLevelMembers(text: string): Member[] | undefined {
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  const members: Member[] = [];
  i = skipWhitespace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return skipWhitespace(text, i + 1) === text.length ? members : undefined;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd === -1) return undefined;
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    const start = skipWhitespace(text, i + 1);
    const end = valueEnd(text, start);
    if (end === -1) return undefined;
    members.push({ key, start, end });
    i = skipWhitespace(text, end);
    const next = text.charCodeAt(i);
    if (next === CLOSE_BRACE) return skipWhitespace(text, i + 1) === text.length ? members : undefined;
    if (next !== COMMA) return undefined;
    i = skipWhitespace(text, i + 1);
  }
}

function checkResourceChanges(list: unknown, field: string, source: string): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw invalid(source, `"${field}" is not a list`);
  for (let i = 0; i < list.length; i++) {
    const entry = list[i] as Partial<ResourceChange> | null;
    if (typeof entry?.address !== 'string' || !Array.isArray(entry.change?.actions)) {
      throw invalid(source, `${field}[${i}] has no "address" or no "change.actions"`);
    }
  }
}
