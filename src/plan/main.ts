import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { GuidedError } from '../lib/errors.js';
import {
  commentMarker,
  createGitHubClient,
  describeCommentFailure,
  findPullRequest,
  normaliseWorkingDirectory,
  readRunContext,
  resolveCommentAuthor,
  upsertStickyComment,
  type RunContext,
} from '../lib/github-comment.js';
import { codeBlock, inlineCode } from '../lib/markdown.js';
import { scrub } from '../lib/mask.js';
import { runnerTemp } from '../lib/runner-env.js';
import { planIdFor, planStoreTarget, storePlan, type StoredPlan } from '../lib/plan-store.js';
import {
  GITHUB_COMMENT_LIMIT,
  analysePlan,
  formatPlanLine,
  parsePlanJson,
  renderPlanFailureMarkdown,
  renderPlanMarkdown,
  type PlanReport,
  type RenderOptions,
} from '../lib/plan-summary.js';
import { JOB_SUMMARY_LIMIT, appendJobSummary } from '../lib/summary.js';
import {
  StateLockError,
  TerraformCommandError,
  annotateDiagnostics,
  initRootModule,
  plainTerraformText,
  resolveTerraformBinary,
  type TerraformDiagnostic,
} from '../lib/terraform.js';
import { readInputs, type Inputs } from './inputs.js';

/**
 * plan: init with the backend file → validate -json (diagnostics as annotations) → plan -out
 * -detailed-exitcode → show -json / show → the summary (job summary and a sticky pull-request comment)
 * → the binary plan stored with its SHA-256 next to the state, for deploy to apply exactly this plan.
 * A failure on the way is reported in the summary and the comment too, with Terraform's own words.
 */

/** Room for the footer under the rendered summary (plan id, SHA-256, where it is stored, the run). */
const FOOTER_ROOM = 1_024;
/** Leave the rest of the 1 MiB job summary to the other steps of the job. */
const SUMMARY_MAX_BYTES = JOB_SUMMARY_LIMIT - 64 * 1024;

/** Said in the log of a plan made with `lock: false` (its footer says it too). */
const UNLOCKED_NOTE = 'Planned without the state lock (lock: false): another run may have changed the state meanwhile, so this plan is for review only and is not stored for deploy.';

/** Raised when `validate` finds errors: their text, for the summary and the comment. */
class ValidationFailed extends GuidedError {
  constructor(readonly errorText: string, errorCount: number) {
    super(`terraform validate found ${errorCount} error${errorCount === 1 ? '' : 's'}`, 'Each is annotated on its file and line (see the Files changed tab or the annotations of this run).');
  }
}

interface PlanOutcome {
  report: PlanReport;
  hasChanges: boolean;
  textPlan: string;
}

export async function run(): Promise<void> {
  const inputs = readInputs();
  const context = readRunContext();
  const directory = normaliseWorkingDirectory(inputs.module.displayPath);
  const planId = planIdFor(inputs.environment, inputs.commit, directory, inputs.label);
  const planFile = path.join(runnerTemp(), 'azure-bakery-plans', planId.replace(/\//g, '_'), 'tfplan');
  mkdirSync(path.dirname(planFile), { recursive: true });

  const binary = await resolveTerraformBinary(inputs.terraform.binary, inputs.terraform.version, { releasesUrl: inputs.terraform.releasesUrl });

  let outcome: PlanOutcome;
  try {
    outcome = await makePlan(binary, inputs, planFile);
  } catch (error) {
    await reportFailure(inputs, context, directory, error);
    throw error;
  }
  const { report, hasChanges, textPlan } = outcome;
  core.info(`${formatPlanLine(report.counts)}${hasChanges ? '' : ' No changes.'}`);

  let stored: StoredPlan | undefined;
  if (inputs.storePlan) {
    stored = await core.group('Store the plan', async () => {
      const result = await storePlan(planStoreTarget(inputs.module.backend, inputs.auth, inputs.blobEndpoint), planFile, {
        planId,
        environment: inputs.environment,
        commit: inputs.commit,
        workingDirectory: directory,
        label: inputs.label,
        destroy: inputs.destroy,
        hasChanges,
        counts: { ...report.counts },
        terraformVersion: report.terraformVersion,
        runUrl: context.runUrl,
      });
      core.info(scrub(`Stored plan ${planId} (SHA-256 ${result.sha256}, ${result.size} bytes) in ${result.location}`));
      return result;
    });
  } else {
    core.info('store-plan is false: the plan is not stored, so deploy cannot apply it by plan-id.');
  }

  core.setOutput('has-changes', String(hasChanges));
  for (const [name, value] of Object.entries(report.counts)) core.setOutput(name, String(value));
  core.setOutput('plan-id', stored ? planId : '');
  core.setOutput('plan-sha256', stored?.sha256 ?? '');
  core.setOutput('plan-file', planFile);

  const footer = footerFor(planId, stored, context, inputs.lock);
  const common: RenderOptions = { environment: inputs.environment, workingDirectory: directory, label: inputs.label, textPlan, secretValues: inputs.secretValues };
  const summary = renderPlanMarkdown(report, {
    ...common,
    maxLength: SUMMARY_MAX_BYTES - FOOTER_ROOM,
    lengthUnit: 'bytes',
    fullPlanLocation: 'the log of this step (group "terraform plan")',
  });
  await appendJobSummary(`${summary}\n${footer}\n`);

  const marker = markerFor(inputs, directory);
  const commentBody = renderPlanMarkdown(report, {
    ...common,
    maxLength: GITHUB_COMMENT_LIMIT - marker.length - FOOTER_ROOM,
    // A bare URL becomes a link; the run's page has the job summary and the log.
    fullPlanLocation: context.runUrl ?? 'the job summary and log of the workflow run',
  });
  const commentUrl = await postComment(inputs, context, marker, `${commentBody}\n${footer}\n`, hasChanges);
  core.setOutput('comment-url', commentUrl ?? '');
}

async function makePlan(binary: string, inputs: Inputs, planFile: string): Promise<PlanOutcome> {
  const terraform = await initRootModule({ binary, workingDirectory: inputs.module.workingDirectory, backendConfigFile: inputs.module.backendConfigFile, auth: inputs.auth });

  const validation = await terraform.validate();
  annotateDiagnostics(validation.diagnostics, inputs.module.workingDirectory, terraform.commandName);
  core.info(`validate: ${validation.errorCount} error(s), ${validation.warningCount} warning(s)`);
  if (!validation.valid) throw new ValidationFailed(diagnosticsText(validation.diagnostics), validation.errorCount);

  if (!inputs.lock) core.info(UNLOCKED_NOTE);
  const plan = await terraform.plan({ out: planFile, destroy: inputs.destroy, lock: inputs.lock, varFiles: inputs.variables.varFiles, variables: inputs.variables.variables });
  const report = analysePlan(parsePlanJson(await terraform.showJson(planFile), `${terraform.commandName} show -json`));
  const textPlan = await terraform.showText(planFile);
  // Terraform's exit code is the authority on "changes" (it also counts output-only changes).
  return { report, hasChanges: plan.hasChanges, textPlan };
}

/** Diagnostics as Terraform prints them, for the summary of a failed validate. */
function diagnosticsText(diagnostics: TerraformDiagnostic[]): string {
  return diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => {
      const where = d.range ? `\n  on ${d.range.filename} line ${d.range.start.line}` : '';
      return `Error: ${d.summary}${where}\n\n${d.detail ?? ''}`.trim();
    })
    .join('\n\n');
}

function markerFor(inputs: Inputs, directory: string): string {
  return commentMarker('plan', { environment: inputs.environment, 'working-directory': directory, label: inputs.label ?? '' });
}

function footerFor(planId: string, stored: StoredPlan | undefined, context: RunContext, locked: boolean): string {
  const parts = stored
    ? [`plan-id ${inlineCode(planId)}`, `SHA-256 ${inlineCode(stored.sha256.slice(0, 16))}…`]
    : ['plan not stored (store-plan: false)'];
  if (!locked) parts.push('planned without the state lock (lock: false): for review only');
  if (context.runUrl) parts.push(`[workflow run](${context.runUrl})`);
  return scrub(`<sub>${parts.join(' · ')}</sub>`);
}

/** The failure in the summary and the comment (so the pull request shows why), before the step fails. */
async function reportFailure(inputs: Inputs, context: RunContext, directory: string, error: unknown): Promise<void> {
  let errorText: string;
  if (error instanceof ValidationFailed) errorText = error.errorText;
  else if (error instanceof TerraformCommandError) errorText = plainTerraformText(`${error.result.stderr}\n${error.result.stdout}`).trim();
  else if (error instanceof GuidedError) errorText = error.message;
  else return; // A bug or an input problem: nothing useful to show reviewers; runAction reports it.
  const common: RenderOptions = { environment: inputs.environment, workingDirectory: directory, label: inputs.label, secretValues: inputs.secretValues };
  // What to do (a held lock's force-unlock command, ...) under Terraform's words; a plain Terraform
  // failure's guidance only repeats them.
  const repeatsTerraform = error instanceof TerraformCommandError && !(error instanceof StateLockError);
  const guidance = error instanceof GuidedError && !repeatsTerraform ? error.guidance : '';
  const whatToDo = guidance ? `\n**What to do:**\n\n${codeBlock(scrub(guidance), 'text')}\n` : '';
  try {
    const summary = renderPlanFailureMarkdown(errorText, { ...common, maxLength: SUMMARY_MAX_BYTES - Buffer.byteLength(whatToDo), lengthUnit: 'bytes', fullPlanLocation: 'the log of this step' });
    await appendJobSummary(summary + whatToDo);
    const marker = markerFor(inputs, directory);
    const body = renderPlanFailureMarkdown(errorText, { ...common, maxLength: GITHUB_COMMENT_LIMIT - marker.length - FOOTER_ROOM - whatToDo.length, fullPlanLocation: context.runUrl ?? 'the log of the workflow run' });
    const url = await postComment(inputs, context, marker, body + whatToDo, true);
    core.setOutput('comment-url', url ?? '');
  } catch (reportError) {
    core.warning(`Could not report the failure in the summary or comment: ${scrub(String(reportError))}`);
  }
}

/**
 * The sticky comment on this run's pull request; returns its URL. A comment that cannot be written is a
 * warning, not a failure: the plan itself stands and is in the job summary.
 */
async function postComment(inputs: Inputs, context: RunContext, marker: string, body: string, hasChanges: boolean): Promise<string | undefined> {
  if (inputs.comment === 'off') return undefined;
  try {
    const client = await createGitHubClient(inputs.githubToken!, inputs.githubApiUrl);
    const pullRequest = await findPullRequest(client, context);
    if (!pullRequest) {
      core.notice(`No pull request found for this ${context.eventName || 'run'} (commit ${context.sha.slice(0, 7) || 'unknown'}), so no comment was made; the plan is in the job summary.`);
      return undefined;
    }
    const author = await resolveCommentAuthor(client, inputs.commentAuthor);
    const result = await upsertStickyComment(client, {
      owner: context.owner,
      repo: context.repo,
      issueNumber: pullRequest.number,
      marker,
      body: scrub(body),
      author,
      create: inputs.comment === 'always' || hasChanges,
    });
    if (result.action === 'skipped') core.info(`No changes and comment is on-change: no comment on #${pullRequest.number}.`);
    else core.info(`Comment ${result.action} on pull request #${pullRequest.number} (found through ${pullRequest.source}): ${result.url}`);
    return result.url;
  } catch (error) {
    core.warning(scrub(describeCommentFailure(error)));
    return undefined;
  }
}
