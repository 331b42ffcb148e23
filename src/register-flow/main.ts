import * as core from '@actions/core';
import { formatDuration } from '../lib/duration.js';
import { GuidedError } from '../lib/errors.js';
import { scrub } from '../lib/mask.js';
import { appendJobSummary } from '../lib/summary.js';
import { readInputs, type MetaflowInputs, type PrefectInputs } from './inputs.js';
import { deployMetaflowFlows, type MetaflowRunOptions } from './metaflow.js';
import { registerPrefectFlows, type PrefectRunOptions } from './prefect-flows.js';
import { metaflowSummary, prefectSummary } from './report.js';
import { isSuccess, stateLabel } from './watch.js';

export interface RunOptions extends PrefectRunOptions {
  metaflow?: MetaflowRunOptions;
}

/**
 * Registers flows with the Bakery's orchestrator: Prefect (upload the code, upsert flow + deployment,
 * optionally a smoke run) or Metaflow (argo-workflows create). Outputs name the (last) deployment;
 * `deployments` lists all of them as JSON.
 */
export async function run(options: RunOptions = {}): Promise<void> {
  const inputs = readInputs();
  if (inputs.orchestrator === 'prefect') await runPrefect(inputs, options);
  else await runMetaflow(inputs, options.metaflow);
}

async function runPrefect(inputs: PrefectInputs, options: RunOptions): Promise<void> {
  core.info(`Registering ${inputs.flows.length === 1 ? inputs.flows[0] : `${inputs.flows.length} flow lines`} with Prefect at ${inputs.prefect.apiUrl} (work pool ${inputs.workPool}, deployment name ${inputs.deploymentName}).`);
  const flows = await registerPrefectFlows(inputs, options);
  const last = flows.at(-1)!;
  core.setOutput('deployment-id', last.deployment.id);
  core.setOutput('deployment-url', last.deploymentUrl);
  core.setOutput('flow-run-id', last.smokeRun?.run.id ?? '');
  core.setOutput('code-folder', last.folder);
  core.setOutput(
    'deployments',
    scrub(JSON.stringify(flows.map((f) => ({
      flow: f.entry.flowName,
      deployment_id: f.deployment.id,
      deployment_url: f.deploymentUrl,
      code_folder: f.folder,
      flow_run_id: f.smokeRun?.run.id ?? null,
      flow_run_state: f.smokeRun ? f.smokeRun.run.state?.type ?? f.smokeRun.run.state_type ?? null : null,
    })))),
  );
  await appendJobSummary(prefectSummary(inputs, flows));

  const failed = flows.filter((f) => f.smokeRun && (f.smokeRun.timedOut || !isSuccess(f.smokeRun.run)));
  for (const flow of flows) {
    if (flow.smokeRun && !failed.includes(flow)) core.info(`${flow.entry.flowName}: smoke run ${flow.smokeRun.run.name} ${stateLabel(flow.smokeRun.run)} in ${formatDuration(flow.smokeRun.durationMs)}.`);
  }
  if (failed.length) {
    const lines = failed.map((f) => {
      const smoke = f.smokeRun!;
      const message = smoke.run.state?.message ? `: ${smoke.run.state.message}` : '';
      return smoke.timedOut
        ? `${f.entry.flowName}: flow run ${smoke.run.name} was still ${stateLabel(smoke.run)} after ${formatDuration(inputs.runTimeoutMs)} (${smoke.url})`
        : `${f.entry.flowName}: flow run ${smoke.run.name} ended ${stateLabel(smoke.run)} after ${formatDuration(smoke.durationMs)}${message} (${smoke.url})`;
    });
    throw new GuidedError(
      `The smoke run${failed.length === 1 ? '' : 's'} did not complete:\n${lines.join('\n')}`,
      'The job summary has the Log Analytics queries for the flow run\'s pod and its Dask workers.' +
        (failed.some((f) => f.smokeRun!.timedOut) ? ' A run still going continues in Prefect: cancel it there or raise "run-timeout".' : ''),
    );
  }
}

async function runMetaflow(inputs: MetaflowInputs, options: MetaflowRunOptions = {}): Promise<void> {
  core.info(`Deploying ${inputs.flows.length === 1 ? inputs.flows[0] : `${inputs.flows.length} flow lines`} to Argo Workflows with Metaflow (${Object.keys(inputs.metaflowConfig).length} settings from metaflow-config).`);
  const deployments = await deployMetaflowFlows(inputs, options);
  const last = deployments.at(-1)!;
  core.setOutput('deployment-id', last.workflowTemplate);
  core.setOutput('deployment-url', last.url ?? '');
  core.setOutput('flow-run-id', '');
  core.setOutput('deployments', scrub(JSON.stringify(deployments.map((d) => ({ flow: d.flowName, file: d.entry.displayPath, workflow_template: d.workflowTemplate, url: d.url ?? null })))));
  await appendJobSummary(metaflowSummary(deployments));
}
