import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { GuidedError } from '../lib/errors.js';
import { runnerTemp } from '../lib/runner-env.js';
import { parsePlanJson, type TerraformPlanJson } from '../lib/plan-json.js';
import { StoredPlanMissingError, fetchPlan, planStoreTarget } from '../lib/plan-store.js';
import { vmSizeVariables, type FailureContext } from '../lib/terraform-failures.js';
import { changesOutsideReview, withTerraformRetries, type RetryDependencies } from '../lib/terraform-retry.js';
import { initRootModule, resolveTerraformBinary, type TerraformOutput, type TerraformResult } from '../lib/terraform.js';
import { readInputs, type Inputs, type ModuleToDeploy } from './inputs.js';
import { publishOutputs, registerSensitiveOutputs, writeDeploySummary } from './report.js';

/**
 * deploy: applies, for each root module in order, the plan that `plan` stored for this commit and
 * environment — after proving by SHA-256 that it is the reviewed file — then publishes every Terraform
 * output as an action output and writes a job summary. Failures Azure recovers from on its own are
 * retried (see terraform-failures and terraform-retry); a retry re-plans and applies the new plan only
 * when it stays inside what was reviewed.
 */

export interface ModuleResult {
  module: ModuleToDeploy;
  /** `stored`: the reviewed plan from the plan store; `planned-here`: plan-if-missing made it. */
  planSource: 'stored' | 'planned-here';
  sha256?: string;
  attempts: number;
  /** The failure kinds that were retried, oldest first. */
  retried: string[];
  /** Terraform's "Apply complete! Resources: …" line, or why nothing was applied. */
  outcome: string;
  outputs: Record<string, TerraformOutput>;
}

export async function run(): Promise<void> {
  const inputs = readInputs();
  await deploy(inputs);
}

export async function deploy(inputs: Inputs, dependencies: RetryDependencies = {}): Promise<ModuleResult[]> {
  const binary = await resolveTerraformBinary(inputs.terraform.binary, inputs.terraform.version, { releasesUrl: inputs.terraform.releasesUrl });
  const workDir = mkdtempSync(path.join(runnerTemp(), 'deploy-'));
  const results: ModuleResult[] = [];
  try {
    for (const [index, module] of inputs.modules.entries()) {
      core.info(`Root module ${index + 1} of ${inputs.modules.length}: ${module.displayPath} (plan ${module.planId})`);
      results.push(await deployModule(inputs, module, { binary, workDir: path.join(workDir, String(index)) }, dependencies));
    }
  } catch (error) {
    // What was applied before the failure is real; say so in the summary, then fail the step.
    if (results.length) await writeDeploySummary(inputs, results, [], { stoppedAt: inputs.modules[results.length]!.displayPath });
    throw error;
  }
  const published = publishOutputs(results);
  await writeDeploySummary(inputs, results, published);
  return results;
}

interface Session {
  binary: string;
  workDir: string;
}

/** The planned attributes of each resource, to name a VM size an Azure error leaves out. */
function plannedValuesOf(plan: TerraformPlanJson): FailureContext['plannedValues'] {
  const byAddress = new Map<string, Record<string, unknown>>();
  for (const change of plan.resource_changes ?? []) {
    if (change.change.after && typeof change.change.after === 'object') byAddress.set(change.address, change.change.after as Record<string, unknown>);
  }
  return (address) => byAddress.get(address);
}

async function deployModule(inputs: Inputs, module: ModuleToDeploy, session: Session, dependencies: RetryDependencies): Promise<ModuleResult> {
  const terraform = await initRootModule({ binary: session.binary, workingDirectory: module.workingDirectory, backendConfigFile: module.backendConfigFile, auth: inputs.auth });

  mkdirSync(session.workDir, { recursive: true });
  const reviewedFile = path.join(session.workDir, 'reviewed.tfplan');
  let planSource: ModuleResult['planSource'] = 'stored';
  let sha256: string | undefined;
  try {
    const stored = await fetchPlan(planStoreTarget(module.backend, inputs.auth, inputs.blobEndpoint), module.planId, reviewedFile, { expectedSha256: module.expectedSha256 });
    sha256 = stored.sha256;
    if (stored.destroy) {
      throw new GuidedError(`The stored plan "${module.planId}" is a destroy plan (plan -destroy)`, 'deploy applies plans that build the environment; tear it down with the destroy action.');
    }
    if (stored.environment && stored.environment !== inputs.environment) {
      throw new GuidedError(`The stored plan "${module.planId}" was made for environment "${stored.environment}", not "${inputs.environment}"`, 'Pass the plan made for this environment.');
    }
    core.info(`Applying the reviewed plan ${module.planId} (SHA-256 ${stored.sha256}, made ${stored.createdAt}${stored.runUrl ? ` by ${stored.runUrl}` : ''}).`);
    if (stored.commit && inputs.commit && stored.commit !== inputs.commit) core.info(`The plan was made for commit ${stored.commit}; this run is for ${inputs.commit}. The plan file holds the configuration it was made from.`);
  } catch (error) {
    if (!(error instanceof StoredPlanMissingError)) throw error;
    if (!inputs.planIfMissing) {
      throw new GuidedError(error.headline, `${error.guidance}\n(For a dev environment that may apply unreviewed changes: plan-if-missing: true with require-approved-plan: false.)`);
    }
    core.warning(`No stored plan "${module.planId}": planning here because plan-if-missing is true. Nobody reviewed this plan.`);
    await terraform.plan({ out: reviewedFile, ...inputs.variables });
    planSource = 'planned-here';
  }
  const reviewed = parsePlanJson(await terraform.showJson(reviewedFile), `The plan for ${module.displayPath}`);

  let planFile = reviewedFile;
  let plan = reviewed;
  const sizeVariables = vmSizeVariables(module.workingDirectory);
  const { result, attempts, retried } = await withTerraformRetries<TerraformResult | undefined>(
    async (attempt) => {
      if (attempt > 1) {
        // The failed apply used the saved plan up; plan again, and apply only what the review covered.
        const retryFile = path.join(session.workDir, `retry-${attempt}.tfplan`);
        const replanned = await terraform.plan({ out: retryFile, ...inputs.variables });
        const retryPlan = parsePlanJson(await terraform.showJson(retryFile), `The retry plan for ${module.displayPath}`);
        const outside = changesOutsideReview(reviewed, retryPlan);
        if (outside.length) {
          throw new GuidedError(
            `Not retrying ${module.displayPath}: the new plan would change what the reviewed plan did not (${outside.length} resource${outside.length === 1 ? '' : 's'}):\n${outside.map((v) => `  ${v.address} (${v.actions.join('+')}): ${v.reason}`).join('\n')}`,
            'Something changed since the review (another apply, a manual change, or the failed attempt itself). Plan again, review the new plan, and deploy that.',
          );
        }
        if (!replanned.hasChanges) {
          core.info(`Nothing left to apply in ${module.displayPath}: the failed attempt had already made every reviewed change.`);
          return undefined;
        }
        planFile = retryFile;
        plan = retryPlan;
      }
      return terraform.apply(planFile);
    },
    {
      maxAttempts: inputs.maxAttempts,
      what: `apply of ${module.displayPath}`,
      context: () => ({ commandName: terraform.commandName, plannedValues: plannedValuesOf(plan), vmSizeVariables: sizeVariables }),
      ...dependencies,
    },
  );
  const outcome = result ? (/Apply complete!.*$/m.exec(result.stdout)?.[0] ?? 'Applied.') : 'Nothing left to apply after the retry.';
  const outputs = await terraform.outputs();
  registerSensitiveOutputs(outputs);
  return { module, planSource, sha256, attempts, retried: retried.map((failure) => failure.kind), outcome, outputs };
}
