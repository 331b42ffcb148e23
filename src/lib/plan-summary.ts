import type { PlanAction, ResourceChange, TerraformPlanJson } from './plan-json.js';
import { formatPlanValue, changedAttributes, SENSITIVE_PLACEHOLDER } from './plan-values.js';
import { stripAnsi } from './ansi.js';
import { excerptPlanText } from './plan-text.js';
import { codeBlock, escapeHtml, escapeMarkdownText, inlineCode } from './markdown.js';
import { createScrubber } from './secret-text.js';

/**
 * What a Terraform plan will do, for people: the counts of Terraform's own `Plan:` line, the resources
 * grouped by action, output changes, drift and failed checks, rendered as Markdown for a pull-request
 * comment or a job summary. The summary is never shortened to fit; only the text plan is (and, for a
 * plan too large for any comment, the resource lists, least risky first, with a note saying so).
 *
 * analysePlan walks `resource_changes` once and looks at values only where it must (attribute names of
 * updates and drift, output values), so rendering costs a fraction of JSON.parse of the same plan.
 */

export { parsePlanJson } from './plan-json.js';
export type { TerraformPlanJson, ResourceChange, OutputChange, PlanAction } from './plan-json.js';

export interface PlanCounts {
  add: number;
  change: number;
  destroy: number;
  replace: number;
  import: number;
  move: number;
  forget: number;
}

/** GitHub refuses an issue or pull-request comment longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** Room kept free for the hidden marker and anything else the comment code puts around the body. */
export const DEFAULT_MAX_LENGTH = GITHUB_COMMENT_LIMIT - 1_536;

/** The groups resources are listed in, most dangerous first. */
export const RESOURCE_GROUPS = ['delete', 'replace', 'forget', 'update', 'create', 'import', 'move', 'read'] as const;
export type ResourceGroup = (typeof RESOURCE_GROUPS)[number];

export interface ResourceEntry {
  address: string;
  group: ResourceGroup;
  actions: PlanAction[];
  mode: ResourceChange['mode'];
  previousAddress?: string;
  importId?: string;
  deposed?: string;
  /** Why Terraform chose this action, in words (from `action_reason`). */
  reason?: string;
  /** Attribute paths forcing a replacement, e.g. `ami`, `tags["env"]`. */
  replacePaths: string[];
  /** Top-level attributes an update or a replacement changes (names only). */
  changedAttributes: string[];
  /** A replacement that creates the new object before destroying the old one. */
  createBeforeDestroy: boolean;
}

export interface OutputEntry {
  name: string;
  action: 'create' | 'update' | 'delete';
  sensitive: boolean;
  /** Masked one-line renderings; absent where there is no value on that side. */
  before?: string;
  after?: string;
}

export interface DriftEntry {
  address: string;
  action: 'update' | 'delete' | 'create' | 'move';
  changedAttributes: string[];
  previousAddress?: string;
}

export interface DeferredEntry {
  address: string;
  reason: string;
}

export interface CheckFailure {
  address: string;
  status: string;
  problems: string[];
}

export interface PlanReport {
  counts: PlanCounts;
  /** Something changes on apply: a counted resource change or an output change. */
  hasChanges: boolean;
  hasResourceChanges: boolean;
  /** Something is destroyed (deleted or replaced). */
  hasDestructive: boolean;
  /** Planning failed; whatever the plan holds is partial and cannot be applied. */
  errored: boolean;
  applyable?: boolean;
  formatVersion: string;
  terraformVersion?: string;
  resources: Record<ResourceGroup, ResourceEntry[]>;
  outputs: OutputEntry[];
  drift: DriftEntry[];
  deferred: DeferredEntry[];
  failedChecks: CheckFailure[];
}

export interface RenderOptions {
  environment: string;
  workingDirectory: string;
  label?: string;
  /** Terraform's human-readable plan (`terraform show -no-color <planfile>`), shown in a diff block. */
  textPlan?: string;
  /** Terraform's error output, for a plan that failed; shown as plain text. */
  errorText?: string;
  /** Strings scrubbed from everything rendered (shorter than 3 characters are ignored). */
  secretValues?: string[];
  /**
   * Applied to every piece of text from the plan as well, e.g. `scrub` from mask.ts for the secrets the
   * action registered. (This module does not import mask.ts, so the CLI bundle stays free of the
   * Actions runtime.) It must not make text longer, or the body could pass `maxLength`.
   */
  scrub?: (text: string) => string;
  /** Limit for the whole body; default DEFAULT_MAX_LENGTH (GitHub's comment limit less a margin). */
  maxLength?: number;
  /** What `maxLength` counts: UTF-16 characters (GitHub comments) or UTF-8 bytes (the job summary's 1 MiB). */
  lengthUnit?: 'characters' | 'bytes';
  /** Where the full plan is, e.g. the run's job summary URL; named when something had to be shortened. */
  fullPlanLocation?: string;
  /** Replaces the default heading text. */
  title?: string;
}

// ---------------------------------------------------------------------------------------------------
// Counting and analysis

function emptyCounts(): PlanCounts {
  return { add: 0, change: 0, destroy: 0, replace: 0, import: 0, move: 0, forget: 0 };
}

function isMoved(change: ResourceChange): boolean {
  return typeof change.previous_address === 'string' && change.previous_address !== '' && change.previous_address !== change.address;
}

/** Adds one managed resource change to `counts` the way Terraform's `Plan:` line counts it. */
function countChange(counts: PlanCounts, change: ResourceChange): void {
  if (change.mode !== 'managed') return;
  const actions = change.change.actions;
  const creates = actions.includes('create');
  const deletes = actions.includes('delete');
  if (creates) counts.add++;
  if (deletes) counts.destroy++;
  if (creates && deletes) counts.replace++;
  if (actions.includes('update')) counts.change++;
  if (actions.includes('forget')) counts.forget++;
  if (change.change.importing) counts.import++;
  if (isMoved(change)) counts.move++;
}

/** The counts of Terraform's `Plan:` line (managed resources only), plus replace and move. */
export function countPlan(plan: TerraformPlanJson): PlanCounts {
  const counts = emptyCounts();
  for (const change of plan.resource_changes ?? []) countChange(counts, change);
  return counts;
}

/** Terraform's own summary line, word for word: `Plan: 1 to import, 2 to add, 0 to change, 1 to destroy.` */
export function formatPlanLine(counts: PlanCounts): string {
  const core = `${counts.add} to add, ${counts.change} to change, ${counts.destroy} to destroy`;
  const withImport = counts.import > 0 ? `${counts.import} to import, ${core}` : core;
  return `Plan: ${withImport}${counts.forget > 0 ? `, ${counts.forget} to forget` : ''}.`;
}

function groupOf(change: ResourceChange): ResourceGroup | undefined {
  const actions = change.change.actions;
  if (change.mode !== 'managed') return actions.includes('read') ? 'read' : undefined;
  const creates = actions.includes('create');
  if (creates && actions.includes('delete')) return 'replace';
  if (actions.includes('forget')) return 'forget';
  if (actions.includes('delete')) return 'delete';
  if (creates) return 'create';
  if (actions.includes('update')) return 'update';
  if (change.change.importing) return 'import';
  if (isMoved(change)) return 'move';
  return undefined;
}

const REASONS: Record<string, string> = {
  replace_because_tainted: 'tainted',
  replace_by_request: 'replacement requested with -replace',
  replace_by_triggers: 'replace_triggered_by changed',
  replace_because_cannot_update: 'cannot be updated in place',
  delete_because_no_resource_config: 'no longer in the configuration',
  delete_because_wrong_repetition: 'count / for_each changed',
  read_because_config_unknown: 'its configuration refers to values not yet known',
  read_because_dependency_pending: 'it depends on pending changes',
  read_because_check_nested: 'a check block needs it',
};

function reasonOf(change: ResourceChange): string | undefined {
  const reason = change.action_reason;
  if (!reason) return undefined;
  switch (reason) {
    case 'delete_because_no_module':
      return `${change.module_address ?? 'its module'} is no longer in the configuration`;
    case 'delete_because_count_index':
      return `index [${String(change.index)}] is out of range for count`;
    case 'delete_because_each_key':
      return `key [${JSON.stringify(change.index)}] is not in the for_each map`;
    case 'delete_because_no_move_target':
      return `moved from ${change.previous_address ?? '?'} to an address that is not in the configuration`;
    default:
      return REASONS[reason] ?? reason.replace(/_/g, ' ');
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `["tags", "env"]` → `tags.env`; `["rule", 0, "name"]` → `rule[0].name`; odd keys → `["a b"]`. */
function formatAttributePath(path: (string | number)[]): string {
  return path
    .map((step, index) => {
      if (typeof step === 'number') return `[${step}]`;
      if (!IDENTIFIER.test(step)) return `[${JSON.stringify(step)}]`;
      return index === 0 ? step : `.${step}`;
    })
    .join('');
}

const DEFERRED_REASONS: Record<string, string> = {
  instance_count_unknown: 'the number of instances is not known yet',
  resource_config_unknown: 'the resource configuration is not known yet',
  provider_config_unknown: 'the provider configuration is not known yet',
  deferred_prereq: 'something it depends on is deferred',
  absent_prereq: 'something it depends on does not exist yet',
};

/** Shared by every entry without paths or attributes, so a plan of 50,000 creates allocates none. */
const NONE: string[] = [];

function entryOf(change: ResourceChange, group: ResourceGroup): ResourceEntry {
  const detail = change.change;
  const entry: ResourceEntry = {
    address: change.address,
    group,
    actions: detail.actions,
    mode: change.mode,
    reason: reasonOf(change),
    replacePaths: detail.replace_paths ? detail.replace_paths.map(formatAttributePath) : NONE,
    changedAttributes: group === 'update' || group === 'replace' ? changedAttributes(detail.before, detail.after, detail.after_unknown) : NONE,
    createBeforeDestroy: group === 'replace' && detail.actions[0] === 'create',
  };
  if (isMoved(change)) entry.previousAddress = change.previous_address;
  if (detail.importing) entry.importId = detail.importing.id ?? '';
  if (change.deposed) entry.deposed = change.deposed;
  return entry;
}

function isSensitive(mirror: unknown): boolean {
  return mirror === true;
}

/** Everything the summary shows, from one walk over the plan. */
export function analysePlan(plan: TerraformPlanJson): PlanReport {
  const counts = emptyCounts();
  const resources = Object.fromEntries(RESOURCE_GROUPS.map((group) => [group, [] as ResourceEntry[]])) as Record<ResourceGroup, ResourceEntry[]>;
  for (const change of plan.resource_changes ?? []) {
    countChange(counts, change);
    const group = groupOf(change);
    if (group) resources[group].push(entryOf(change, group));
  }

  const outputs: OutputEntry[] = [];
  const outputChanges = plan.output_changes ?? {};
  for (const name of Object.keys(outputChanges).sort()) {
    const change = outputChanges[name]!;
    const action = change.actions.includes('delete') ? 'delete' : change.actions.includes('create') ? 'create' : change.actions.includes('update') ? 'update' : undefined;
    if (!action) continue;
    const sensitive = isSensitive(change.before_sensitive) || isSensitive(change.after_sensitive);
    const entry: OutputEntry = { name, action, sensitive };
    if (action !== 'create') entry.before = formatPlanValue(change.before, change.before_sensitive, undefined);
    if (action !== 'delete') entry.after = formatPlanValue(change.after, change.after_sensitive, change.after_unknown);
    outputs.push(entry);
  }

  const drift: DriftEntry[] = [];
  for (const change of plan.resource_drift ?? []) {
    const actions = change.change.actions;
    const action = actions.includes('delete') ? 'delete' : actions.includes('update') ? 'update' : actions.includes('create') ? 'create' : isMoved(change) ? 'move' : undefined;
    // A move-only drift entry is already shown among the planned moves, as Terraform does.
    if (!action || action === 'move') continue;
    const entry: DriftEntry = {
      address: change.address,
      action,
      changedAttributes: action === 'update' ? changedAttributes(change.change.before, change.change.after, change.change.after_unknown) : NONE,
    };
    if (isMoved(change)) entry.previousAddress = change.previous_address;
    drift.push(entry);
  }

  const deferred: DeferredEntry[] = (plan.deferred_changes ?? []).map((item) => ({
    address: item.resource_change?.address ?? '?',
    reason: DEFERRED_REASONS[item.reason] ?? item.reason.replace(/_/g, ' '),
  }));

  const failedChecks: CheckFailure[] = [];
  for (const check of plan.checks ?? []) {
    if (check.status !== 'fail' && check.status !== 'error') continue;
    const problems = (check.instances ?? []).flatMap((instance) => (instance.problems ?? []).map((problem) => problem.message));
    failedChecks.push({ address: check.address.to_display, status: check.status, problems });
  }
  for (const condition of plan.condition_results ?? []) {
    // Format 1.1: `unknown` results are decided only at apply time, so only a known false has failed.
    if (condition.result === false && !condition.unknown) {
      failedChecks.push({ address: condition.address, status: 'fail', problems: condition.error_message ? [condition.error_message] : [] });
    }
  }

  const hasResourceChanges = counts.add + counts.change + counts.destroy + counts.import + counts.move + counts.forget > 0;
  return {
    counts,
    hasChanges: hasResourceChanges || outputs.length > 0,
    hasResourceChanges,
    hasDestructive: counts.destroy > 0,
    errored: plan.errored === true,
    applyable: plan.applyable,
    formatVersion: plan.format_version,
    terraformVersion: plan.terraform_version,
    resources,
    outputs,
    drift,
    deferred,
    failedChecks,
  };
}

// ---------------------------------------------------------------------------------------------------
// Rendering

const GROUP_TITLES: Record<ResourceGroup, string> = {
  delete: '🔴 Destroy',
  replace: '🟠 Replace: destroy and create again',
  forget: '⚪ Forget: removed from the state, not destroyed',
  update: '🟡 Update in place',
  create: '🟢 Create',
  import: '🔵 Import',
  move: '🔵 Move',
  read: '⚪ Read: data sources',
};

/** Lists with this many entries or fewer are open; longer ones are collapsed unless destructive. */
const OPEN_LIST_LIMIT = 20;
/** Attribute names listed per resource before "+N more". */
const ATTRIBUTES_SHOWN = 8;
/** Below this, a text-plan excerpt is not worth showing: it is left out with a note instead. */
const MIN_TEXT_PLAN_BUDGET = 400;
/** The error output of a failed plan gets at most this much of the body. */
const MAX_ERROR_TEXT = 20_000;
/** Smaller limits leave no room for the summary itself. */
export const MIN_MAX_LENGTH = 4_096;

type Scrub = (text: string) => string;

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function attributeList(names: string[], scrub: Scrub): string {
  const shown = names.slice(0, ATTRIBUTES_SHOWN).map((name) => inlineCode(scrub(name)));
  const more = names.length - shown.length;
  return shown.join(', ') + (more > 0 ? ` and ${more} more` : '');
}

function resourceLine(entry: ResourceEntry, scrub: Scrub): string {
  const notes: string[] = [];
  if (entry.deposed) notes.push(`deposed object ${inlineCode(scrub(entry.deposed))}, left over from a failed replacement`);
  switch (entry.group) {
    case 'replace':
      // Terraform gives the attributes for "cannot update in place"; other reasons (tainted,
      // -replace, replace_triggered_by) are said in words.
      if (entry.replacePaths.length > 0) notes.push(`${attributeList(entry.replacePaths, scrub)} forces replacement`);
      if (entry.reason && (entry.replacePaths.length === 0 || entry.reason !== REASONS.replace_because_cannot_update)) {
        notes.push(escapeMarkdownText(scrub(entry.reason)));
      }
      if (entry.createBeforeDestroy) notes.push('new object created first');
      break;
    case 'update':
      if (entry.changedAttributes.length > 0) notes.push(attributeList(entry.changedAttributes, scrub));
      break;
    case 'forget':
      notes.push(entry.actions.includes('create') ? 'replaced; the old object is kept, not destroyed' : 'the object is kept, not destroyed');
      break;
    case 'delete':
    case 'read':
      if (entry.reason) notes.push(escapeMarkdownText(scrub(entry.reason)));
      break;
    case 'create':
    case 'import':
    case 'move':
      break;
  }
  if (entry.previousAddress !== undefined) notes.push(`moved from ${inlineCode(scrub(entry.previousAddress))}`);
  if (entry.importId !== undefined) notes.push(entry.importId ? `imported from ${inlineCode(scrub(entry.importId))}` : 'imported');
  return `- ${inlineCode(scrub(entry.address))}${notes.length > 0 ? ` — ${notes.join('; ')}` : ''}`;
}

function outputLine(entry: OutputEntry, scrub: Scrub): string {
  const show = (value: string | undefined): string => (value === SENSITIVE_PLACEHOLDER ? '_(sensitive)_' : inlineCode(scrub(value ?? 'null')));
  const name = inlineCode(scrub(entry.name));
  switch (entry.action) {
    case 'create':
      return `- ${name} (new): ${show(entry.after)}`;
    case 'delete':
      return `- ${name} (removed): was ${show(entry.before)}`;
    case 'update':
      return `- ${name}: ${show(entry.before)} → ${show(entry.after)}`;
  }
}

function driftLine(entry: DriftEntry, scrub: Scrub): string {
  const what = entry.action === 'delete' ? 'deleted outside Terraform' : entry.action === 'create' ? 'created outside Terraform' : 'changed';
  const attributes = entry.changedAttributes.length > 0 ? `: ${attributeList(entry.changedAttributes, scrub)}` : '';
  const moved = entry.previousAddress ? ` (moved from ${inlineCode(scrub(entry.previousAddress))})` : '';
  return `- ${inlineCode(scrub(entry.address))}${moved} — ${what}${attributes}`;
}

function checkLine(entry: CheckFailure, scrub: Scrub): string {
  const problems = entry.problems.length > 0 ? `: ${entry.problems.map((problem) => inlineCode(scrub(problem))).join('; ')}` : '';
  return `- ${inlineCode(scrub(entry.address))} ${entry.status === 'error' ? 'could not be evaluated' : 'failed'}${problems}`;
}

/**
 * A list the summary shows: its heading, how many items it has, and how to write item `i`. Items are
 * written only as far as they fit, so a plan of 50,000 resources costs the ~800 lines a comment holds,
 * not 50,000.
 */
interface ListSection {
  /** Lower is kept first when not everything fits. */
  priority: number;
  open: boolean;
  heading: string;
  intro?: string;
  count: number;
  line: (index: number) => string;
  collapsible: boolean;
}

function omittedLine(count: number): string {
  return `- _… and ${count} more not listed here: this plan is too large for one comment._`;
}

function renderSection(section: ListSection, lines: string[]): string {
  const list = (lines.length < section.count ? [...lines, omittedLine(section.count - lines.length)] : lines).join('\n');
  if (!section.collapsible) return [section.heading, section.intro, list].filter(Boolean).join('\n\n');
  // The summary element holds only our own words and a number, so it needs no escaping beyond HTML.
  return [
    `<details${section.open ? ' open' : ''}><summary>${escapeHtml(section.heading)} (${section.count})</summary>`,
    '',
    list,
    '',
    '</details>',
  ].join('\n');
}

function location(fullPlanLocation: string | undefined, scrub: Scrub): string {
  if (!fullPlanLocation) return 'run `terraform show <planfile>` for all of it';
  const where = scrub(fullPlanLocation);
  return /^https?:\/\/[^\s<>]+$/.test(where) ? `the full plan is in <${where}>` : `the full plan is in ${escapeMarkdownText(where)}`;
}

function heading(report: PlanReport, options: RenderOptions, scrub: Scrub): string {
  const icon = report.errored ? '❌' : report.hasDestructive ? '⚠️' : report.hasChanges ? '📝' : '✅';
  if (options.title) return `### ${icon} ${escapeMarkdownText(scrub(options.title))}`;
  const where = [
    options.environment ? `for ${inlineCode(scrub(options.environment))}` : '',
    options.workingDirectory ? `in ${inlineCode(scrub(options.workingDirectory))}` : '',
    options.label ? `· ${inlineCode(scrub(options.label))}` : '',
  ].filter(Boolean);
  return `### ${icon} Terraform plan${report.errored ? ' failed' : ''}${where.length > 0 ? ` ${where.join(' ')}` : ''}`;
}

function banners(report: PlanReport): string[] {
  const { counts } = report;
  const blocks: string[] = [];
  if (report.errored) {
    const partial = report.hasChanges ? ' What is listed below is what it had planned before the error.' : '';
    blocks.push(`> [!CAUTION]\n> **Planning failed.** Terraform hit an error while making this plan, so it cannot be applied.${partial}`);
  }
  if (report.hasDestructive) {
    const replaced = counts.replace > 0 ? ` (${plural(counts.replace, 'replacement')}: destroyed and created again)` : '';
    blocks.push(`> [!CAUTION]\n> **This plan destroys ${plural(counts.destroy, 'resource')}**${replaced}. Check the list below before approving.`);
  }
  if (counts.forget > 0) {
    blocks.push(`> [!WARNING]\n> ${plural(counts.forget, 'resource')} will no longer be managed by Terraform (removed from the state; the real objects are kept).`);
  }
  if (report.failedChecks.length > 0) {
    blocks.push(`> [!WARNING]\n> ${plural(report.failedChecks.length, 'check')} failed; see below.`);
  }
  return blocks;
}

function countsBlock(report: PlanReport): string {
  const { counts } = report;
  // A failed plan with nothing planned: the banner says all there is to say.
  if (!report.hasChanges && report.errored) return '';
  if (!report.hasChanges) {
    const note = report.drift.length > 0 ? ' Objects changed outside Terraform are listed below; applying records them in the state.' : '';
    return `**No changes.** Your infrastructure matches the configuration.${note}`;
  }
  // Numbers only, so no cell needs escaping.
  const table = [
    '| Add | Change | Destroy | Replace | Import | Move | Forget |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${[counts.add, counts.change, counts.destroy, counts.replace, counts.import, counts.move, counts.forget].join(' | ')} |`,
  ].join('\n');
  const outputsOnly = !report.hasResourceChanges && report.outputs.length > 0 ? '\n\nOnly output values change; applying changes no real infrastructure.' : '';
  return `**${formatPlanLine(counts)}**\n\n${table}${outputsOnly}`;
}

function listSections(report: PlanReport, scrub: Scrub): ListSection[] {
  const sections: ListSection[] = [];
  if (report.failedChecks.length > 0) {
    const checks = report.failedChecks;
    sections.push({ priority: 0, open: true, collapsible: false, heading: '#### Failed checks', count: checks.length, line: (i) => checkLine(checks[i]!, scrub) });
  }
  // Destructive groups are kept first when space runs out, then the ones that change what exists.
  const groupPriority: Record<ResourceGroup, number> = { delete: 1, replace: 1, forget: 2, update: 3, create: 5, import: 6, move: 6, read: 8 };
  for (const group of RESOURCE_GROUPS) {
    const entries = report.resources[group];
    if (entries.length === 0) continue;
    const destructive = group === 'delete' || group === 'replace';
    sections.push({
      priority: groupPriority[group],
      open: destructive || entries.length <= OPEN_LIST_LIMIT,
      collapsible: true,
      heading: GROUP_TITLES[group],
      count: entries.length,
      line: (i) => resourceLine(entries[i]!, scrub),
    });
  }
  if (report.outputs.length > 0) {
    const outputs = report.outputs;
    sections.push({ priority: 4, open: true, collapsible: false, heading: '#### Output changes', count: outputs.length, line: (i) => outputLine(outputs[i]!, scrub) });
  }
  if (report.drift.length > 0) {
    sections.push({
      priority: 4,
      open: true,
      collapsible: false,
      heading: '#### Changed outside Terraform (drift)',
      intro: 'Terraform found these objects changed since the last apply. Unless the configuration was changed to match, this plan may undo those changes.',
      count: report.drift.length,
      line: (i) => driftLine(report.drift[i]!, scrub),
    });
  }
  if (report.deferred.length > 0) {
    sections.push({
      priority: 7,
      open: true,
      collapsible: false,
      heading: '#### Deferred to a later plan',
      count: report.deferred.length,
      line: (i) => `- ${inlineCode(scrub(report.deferred[i]!.address))} — ${escapeMarkdownText(report.deferred[i]!.reason)}`,
    });
  }
  return sections;
}

/**
 * The items of each section that fit in `budget`, written in priority order (lower first) until it is
 * spent. Each section's frame, with its "… and N more" line, is reserved up front.
 */
function fitSections(sections: ListSection[], budget: number, measure: (text: string) => number): string[][] {
  const kept: string[][] = sections.map(() => []);
  let remaining = budget;
  for (const section of sections) remaining -= measure(renderSection(section, [])) + 2;
  const order = sections.map((section, index) => ({ section, index })).sort((a, b) => a.section.priority - b.section.priority);
  for (const { section, index } of order) {
    const lines = kept[index]!;
    for (let i = 0; i < section.count; i++) {
      const line = section.line(i);
      const cost = measure(line) + 1;
      if (cost > remaining) break;
      lines.push(line);
      remaining -= cost;
    }
  }
  return kept;
}

/** Keeps the first and last lines of `text` within `limit`, marking the cut: errors come at the end. */
function headAndTail(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const half = Math.floor((limit - 60) / 2);
  const head = text.slice(0, text.lastIndexOf('\n', half) + 1 || half);
  const tailStart = text.indexOf('\n', text.length - half);
  const tail = text.slice(tailStart === -1 ? text.length - half : tailStart + 1);
  const omitted = text.length - head.length - tail.length;
  return `${head}… (${omitted} characters left out) …\n${tail}`;
}

function errorBlock(errorText: string, limit: number, scrub: Scrub, fullPlanLocation: string | undefined): string {
  const clean = stripAnsi(errorText).replace(/\r\n?/g, '\n').trimEnd();
  const scrubbed = clean.split('\n').map(scrub).join('\n');
  // Room for the heading, the fences and the note below.
  const shown = headAndTail(scrubbed, limit - 300);
  const note = shown.length < scrubbed.length ? `\n\n_Terraform's output was shortened; ${location(fullPlanLocation, scrub)}._` : '';
  return `**Terraform said:**\n\n${codeBlock(shown, 'text')}${note}`;
}

function textPlanMissing(totalLines: number, options: RenderOptions, scrub: Scrub): string {
  return `_The plan text (${plural(totalLines, 'line')}) does not fit in this comment; ${location(options.fullPlanLocation, scrub)}._`;
}

function textPlanBlock(textPlan: string, budget: number, scrub: Scrub, options: RenderOptions, measure: (text: string) => number): string {
  const notice = (shown: number, total: number): string =>
    `_The plan text was shortened to fit GitHub's limit: showing ${shown} of ${total} lines; ${location(options.fullPlanLocation, scrub)}._`;
  // The wrapper: <details>, the fence lines (a longer fence is rare and re-checked below) and the notice.
  const overhead = measure('<details><summary>Show the plan text (0000000 lines)</summary>\n\n```diff\n\n```\n\n</details>\n\n') + measure(notice(9_999_999, 9_999_999)) + 16;
  const excerpt = excerptPlanText(textPlan, Math.max(0, budget - overhead), scrub, measure);
  if (excerpt.shownLines === 0 || budget - overhead < MIN_TEXT_PLAN_BUDGET) {
    return excerpt.totalLines === 0 ? '' : textPlanMissing(excerpt.totalLines, options, scrub);
  }
  const block = [
    `<details><summary>Show the plan text (${plural(excerpt.totalLines, 'line')})</summary>`,
    '',
    codeBlock(excerpt.text, 'diff'),
    '',
    '</details>',
  ].join('\n');
  return excerpt.shortened ? `${block}\n\n${notice(excerpt.shownLines, excerpt.totalLines)}` : block;
}

/**
 * The Markdown body of the plan comment / job summary. Everything from the plan or the options is
 * scrubbed of `secretValues` (and by `options.scrub`) and escaped so it cannot change the layout;
 * the body stays within `maxLength` by shortening the text plan, never the summary above it.
 */
export function renderPlanMarkdown(report: PlanReport, options: RenderOptions): string {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const measure = options.lengthUnit === 'bytes' ? (text: string) => Buffer.byteLength(text, 'utf8') : (text: string) => text.length;
  const scrubValues = createScrubber(options.secretValues ?? []);
  const extraScrub = options.scrub;
  const scrub: Scrub = extraScrub ? (text) => extraScrub(scrubValues(text)) : scrubValues;

  if (!(maxLength >= MIN_MAX_LENGTH)) throw new RangeError(`maxLength is ${maxLength}; a summary needs at least ${MIN_MAX_LENGTH}`);

  const head = [heading(report, options, scrub), ...banners(report), countsBlock(report)].filter(Boolean);
  if (report.errored && !options.errorText) head.push("Terraform's error messages are in the plan step's log.");
  if (options.errorText) {
    // The error output may take most of what is left, but not all: the lists below still need a little.
    const errorLimit = Math.min(MAX_ERROR_TEXT, Math.floor((maxLength - measure(head.join('\n\n'))) * 0.75));
    head.push(errorBlock(options.errorText, errorLimit, scrub, options.fullPlanLocation));
  }
  const versions = report.terraformVersion ? `<sub>Terraform ${escapeHtml(scrub(report.terraformVersion))}, plan format ${escapeHtml(report.formatVersion)}</sub>` : '';
  const fixed = [...head, versions].filter(Boolean).join('\n\n');

  const sections = listSections(report, scrub);
  const listsShortened = `_Some resources are not listed, to fit GitHub's limit; ${location(options.fullPlanLocation, scrub)}._`;
  // Room for the notes that may follow the lists: this one, and the text plan's when none of it fits.
  const reserve = measure(listsShortened) + (options.textPlan ? measure(textPlanMissing(9_999_999, options, scrub)) : 0) + 8;
  const kept = fitSections(sections, maxLength - measure(fixed) - reserve, measure);
  const parts = [...head, ...sections.map((section, index) => renderSection(section, kept[index]!))];
  if (kept.some((lines, index) => lines.length < sections[index]!.count)) parts.push(listsShortened);

  const assemble = (textPart: string): string => [...parts, textPart, versions].filter(Boolean).join('\n\n') + '\n';
  let body = assemble('');
  if (options.textPlan) {
    let withText: string | undefined;
    let budget = maxLength - measure(body) - 2;
    // The first try fits unless the excerpt needs a longer fence than reserved; then try with less.
    for (let attempt = 0; attempt < 3 && withText === undefined; attempt++) {
      const candidate = assemble(textPlanBlock(options.textPlan, budget, scrub, options, measure));
      const overflow = measure(candidate) - maxLength;
      if (overflow <= 0) withText = candidate;
      else budget -= overflow + 64;
    }
    // No room at all: the short "does not fit" note, for which the lists left room.
    body = withText ?? assemble(textPlanBlock(options.textPlan, 0, scrub, options, measure));
  }
  // Whole-body pass for a secret that only appears across two pieces; replacing can only shorten.
  return scrub(body);
}

/**
 * The body for a plan that failed before Terraform wrote a plan at all (init, validate or plan itself
 * errored): Terraform's error output as plain text, scrubbed and shortened to fit.
 */
export function renderPlanFailureMarkdown(errorText: string, options: RenderOptions): string {
  const report = analysePlan({ format_version: '1.0', errored: true });
  return renderPlanMarkdown(report, { ...options, errorText });
}
