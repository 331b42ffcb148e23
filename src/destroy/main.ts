import * as core from '@actions/core';
import type { TokenCredential } from '@azure/core-auth';
import { createTokenCredential } from '../lib/azure-auth.js';
import { escapeMarkdownText, inlineCode, markdownTable } from '../lib/markdown.js';
import { appendJobSummary } from '../lib/summary.js';
import { attemptsText, withTerraformRetries, type RetryDependencies } from '../lib/terraform-retry.js';
import { initRootModule, resolveTerraformBinary, type Terraform } from '../lib/terraform.js';
import { vmSizeVariables } from '../lib/terraform-failures.js';
import { readInputs, type Inputs } from './inputs.js';
import type { NamespaceOutcome } from './namespace.js';
import { NAMESPACE_OUTPUT_NAMES, chooseNamespace, type ModuleOutputs, type NamespaceChoice } from './namespace-output.js';
import { destroyRemoteState, stateContainersOf } from './remote-state.js';

/**
 * destroy: tears an environment down in the order that leaves nothing behind — the agent's namespace
 * first (so Kubernetes releases the load balancers and disks it made), then `terraform destroy` of each
 * root module in reverse apply order (services before the infrastructure they run on), then, when
 * asked and only when every state file is empty, the remote state itself.
 */

export interface DestroyDependencies extends RetryDependencies {
  /** How often the namespace is polled while Kubernetes deletes it (default 2 s). */
  namespacePollMs?: number;
  /** How often a "still terminating" line is printed meanwhile (default STATUS_INTERVAL_MS). */
  namespaceReportEveryMs?: number;
}

export interface DestroyReport {
  namespace?: { name: string; choice: NamespaceChoice; cluster: string; outcome: NamespaceOutcome };
  modules: { displayPath: string; outcome: string; attempts: number; retried: string[] }[];
  remoteState?: { resourceGroup: string; outcome: 'deleted' | 'absent'; statesChecked: number }[];
}

export async function run(): Promise<void> {
  const inputs = readInputs();
  await destroy(inputs);
}

export async function destroy(inputs: Inputs, dependencies: DestroyDependencies = {}): Promise<DestroyReport> {
  const report: DestroyReport = { modules: [] };
  core.setOutput('destroyed', 'false');
  let credential: TokenCredential | undefined;
  const azureCredential = async () => (credential ??= await createTokenCredential(inputs.auth));

  let finished = false;
  try {
    const binary = await resolveTerraformBinary(inputs.terraform.binary, inputs.terraform.version, { releasesUrl: inputs.terraform.releasesUrl });
    // Reverse apply order: what runs on the infrastructure goes before the infrastructure.
    const modules = [...inputs.modules].reverse();
    // Every root module is initialised before anything is removed: a backend that cannot be reached
    // stops the teardown before the namespace goes, and the namespace can be read from the state.
    const runners: Terraform[] = [];
    for (const [index, module] of modules.entries()) {
      core.info(`Root module ${index + 1} of ${modules.length}: initialising ${module.displayPath}`);
      runners.push(await initRootModule({ binary, workingDirectory: module.workingDirectory, backendConfigFile: module.backendConfigFile, auth: inputs.auth }));
    }

    if (inputs.agent) {
      const { agent } = inputs;
      const choice: NamespaceChoice = agent.namespace ? { name: agent.namespace, source: 'the "namespace" input' } : await namespaceFromState(modules, runners);
      core.info(`The agent's namespace is ${choice.name}, from ${choice.source}.`);
      // The Kubernetes client (and its YAML parser) loads only when there is a namespace to remove.
      const { removeAgentNamespace } = await import('./namespace.js');
      const outcome = await core.group(`Removing namespace ${choice.name} from ${agent.clusterName}`, async () =>
        removeAgentNamespace({ ...agent, namespace: choice.name }, await azureCredential(), inputs.auth, { pollMs: dependencies.namespacePollMs, reportEveryMs: dependencies.namespaceReportEveryMs }),
      );
      const said = { deleted: 'deleted', absent: 'was already gone', 'no-cluster': `skipped: the cluster ${agent.clusterName} does not exist` }[outcome];
      core.info(`Namespace ${choice.name}: ${said}.`);
      report.namespace = { name: choice.name, choice, cluster: agent.clusterName, outcome };
    }

    for (const [index, module] of modules.entries()) {
      core.info(`Root module ${index + 1} of ${modules.length}: destroying ${module.displayPath}`);
      const terraform = runners[index]!;
      const sizeVariables = vmSizeVariables(module.workingDirectory);
      // Destroying again after a partial failure is safe: destroy works from the state, which holds
      // exactly what is left.
      const { result, attempts, retried } = await withTerraformRetries(() => terraform.destroy(inputs.variables), {
        maxAttempts: inputs.maxAttempts,
        what: `destroy of ${module.displayPath}`,
        context: () => ({ commandName: terraform.commandName, vmSizeVariables: sizeVariables }),
        ...dependencies,
      });
      const outcome = /Destroy complete!.*$/m.exec(result.stdout)?.[0] ?? 'Destroyed.';
      report.modules.push({ displayPath: module.displayPath, outcome, attempts, retried: retried.map((failure) => failure.kind) });
    }

    if (inputs.destroyRemoteState) {
      const containers = stateContainersOf(
        inputs.modules.map((module) => module.backend),
        inputs.blobEndpoint,
      );
      const { checks, deleted } = await core.group('Deleting the remote state', async () => destroyRemoteState(containers, await azureCredential(), inputs.auth));
      const statesChecked = checks.reduce((sum, check) => sum + check.states.length, 0);
      report.remoteState = deleted.map((entry) => ({ ...entry, statesChecked }));
    }

    core.setOutput('destroyed', 'true');
    finished = true;
  } finally {
    await writeDestroySummary(inputs, report, finished);
  }
  return report;
}

/** The namespace the stack's state names (`terraform output -json` of each root module, destroy order). */
async function namespaceFromState(modules: Inputs['modules'], runners: Terraform[]): Promise<NamespaceChoice> {
  const outputs: ModuleOutputs[] = [];
  for (const [index, module] of modules.entries()) {
    const read = { displayPath: module.displayPath, outputs: await runners[index]!.outputs() };
    outputs.push(read);
    // The first root module that names it decides; the others' outputs need not be read.
    if (NAMESPACE_OUTPUT_NAMES.some((name) => name in read.outputs)) break;
  }
  const choice = chooseNamespace(outputs);
  if (choice.warning) core.warning(choice.warning);
  return choice;
}

async function writeDestroySummary(inputs: Inputs, report: DestroyReport, finished: boolean): Promise<void> {
  const rows: string[][] = [];
  if (report.namespace) {
    const said = { deleted: 'deleted', absent: 'already gone', 'no-cluster': 'skipped (no cluster)' }[report.namespace.outcome];
    const { choice } = report.namespace;
    // The sources without a `from` are this file's own fixed words; a state's output and module are shown as code.
    const source = choice.from ? `the output ${inlineCode(choice.from.output)} of ${inlineCode(choice.from.module)}` : choice.source;
    rows.push([`Namespace ${inlineCode(report.namespace.name)} on ${inlineCode(report.namespace.cluster)} (from ${source})`, said, '']);
  }
  for (const module of report.modules) {
    rows.push([`Root module ${inlineCode(module.displayPath)}`, module.outcome, attemptsText(module.attempts, module.retried)]);
  }
  for (const state of report.remoteState ?? []) {
    rows.push([`State resource group ${inlineCode(state.resourceGroup)}`, `${state.outcome === 'deleted' ? 'deleted' : 'already gone'} (after ${state.statesChecked} state file${state.statesChecked === 1 ? '' : 's'} were found empty)`, '']);
  }
  const title = finished ? `## Destroyed ${escapeMarkdownText(inputs.environment)}` : `## Destroy of ${escapeMarkdownText(inputs.environment)} stopped`;
  const lines = [title, ''];
  if (rows.length) lines.push(markdownTable(['What', 'Outcome', 'Attempts'], rows), '');
  if (!finished) lines.push(`Stopped before finishing${rows.length ? '; the rows above were done' : '; nothing was destroyed'}. The step's error says why.`, '');
  else if (!inputs.destroyRemoteState) lines.push('The remote state was kept (destroy-remote-state is false).', '');
  await appendJobSummary(lines.join('\n'));
}
