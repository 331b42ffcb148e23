import { formatBytes } from '../lib/bytes.js';
import { formatDuration } from '../lib/duration.js';
import { codeBlock, escapeMarkdownText, inlineCode, markdownTable } from '../lib/markdown.js';
import type { PrefectInputs } from './inputs.js';
import { flowRunLogQueries, logAnalyticsLocation } from './log-queries.js';
import type { MetaflowDeployment } from './metaflow.js';
import type { RegisteredFlow } from './prefect-flows.js';
import { isSuccess, stateLabel } from './watch.js';

/** The job summary: what was registered where, and for a failed smoke run where to find its logs. */

/** A Markdown link. Table cells go through markdownTable's own escaping, so `inTable` skips ours. */
function link(text: string, url: string, inTable = false): string {
  return `[${inTable ? text.replace(/[[\]]/g, '') : escapeMarkdownText(text)}](${url})`;
}

function smokeCell(flow: RegisteredFlow): string {
  const smoke = flow.smokeRun;
  if (!smoke) return '—';
  const label = `${stateLabel(smoke.run)} in ${formatDuration(smoke.durationMs)}`;
  const mark = smoke.timedOut ? '⏱️' : isSuccess(smoke.run) ? '✅' : '❌';
  return `${mark} ${link(`${smoke.run.name ?? smoke.run.id}`, smoke.url, true)}: ${smoke.timedOut ? `still ${label} at the timeout` : label}`;
}

/** A smoke run that did not complete: the run, its last state message, and the KQL that finds its logs. */
function failureSection(inputs: PrefectInputs, flow: RegisteredFlow): string {
  const smoke = flow.smokeRun!;
  const state = smoke.run.state;
  const queries = flowRunLogQueries({ clusterName: inputs.clusterName, namespace: inputs.namespace, flowName: flow.entry.flowName, run: smoke.run });
  const where = logAnalyticsLocation(inputs.logAnalyticsWorkspace, inputs.auth.armEndpoint);
  const lines = [
    `### ❌ Smoke run of ${escapeMarkdownText(flow.entry.flowName)} ${smoke.timedOut ? 'did not finish in time' : 'failed'}`,
    '',
    `Flow run ${link(smoke.run.name ?? smoke.run.id, smoke.url)} (${inlineCode(smoke.run.id)}) ${smoke.timedOut ? 'was still' : 'ended'} **${escapeMarkdownText(stateLabel(smoke.run))}** after ${formatDuration(smoke.durationMs)}.`,
  ];
  if (state?.message) lines.push('', 'Last state message:', '', codeBlock(state.message));
  if (smoke.timedOut) lines.push('', 'The run goes on in Prefect: cancel it there, or raise "run-timeout".');
  lines.push(
    '',
    `Its logs are in Log Analytics (Container Insights)${where.portalUrl ? `: ${link('open the workspace\'s Logs', where.portalUrl)} and run` : ':'}`,
    '',
    '**The flow run\'s pod**',
    '',
    codeBlock(queries.flowRunPod, 'kusto'),
    '',
    '**Its Dask scheduler and workers**',
    '',
    codeBlock(queries.daskPods, 'kusto'),
  );
  if (where.cliHint) lines.push('', `Or from a shell: ${inlineCode(where.cliHint)}`);
  if (!inputs.clusterName) lines.push('', '_Pass "cluster-name" to narrow the queries to the Bakery\'s cluster._');
  return lines.join('\n');
}

export function prefectSummary(inputs: PrefectInputs, flows: RegisteredFlow[]): string {
  const rows = flows.map((flow) => [
    flow.entry.flowName,
    `${link(flow.deployment.name, flow.deploymentUrl, true)} (${flow.deploymentCreated ? 'created' : 'updated'})`,
    `${inlineCode(`${inputs.container}/${flow.folder}/`)} ${flow.upload.uploaded ? `uploaded ${flow.upload.files} file${flow.upload.files === 1 ? '' : 's'}, ${formatBytes(flow.upload.bytes)}` : 'unchanged, not uploaded again'}`,
    smokeCell(flow),
  ]);
  const parts = [
    `## Flows registered with Prefect`,
    '',
    markdownTable(['Flow', 'Deployment', 'Code', 'Smoke run'], rows),
    '',
    `Work pool ${inlineCode(inputs.workPool)} · image ${inlineCode(inputs.image)} · namespace ${inlineCode(inputs.namespace)} · service account ${inlineCode(inputs.serviceAccount)}` +
      (inputs.cron ? ` · schedule ${inlineCode(inputs.cron.expression)} (${escapeMarkdownText(inputs.cron.timezone)})` : ' · no schedule'),
  ];
  for (const flow of flows) {
    if (flow.smokeRun && (flow.smokeRun.timedOut || !isSuccess(flow.smokeRun.run))) parts.push('', failureSection(inputs, flow));
  }
  return parts.join('\n');
}

export function metaflowSummary(deployments: MetaflowDeployment[]): string {
  const rows = deployments.map((d) => [
    inlineCode(d.entry.displayPath),
    d.flowName,
    d.url ? link(d.workflowTemplate, d.url, true) : inlineCode(d.workflowTemplate),
    d.triggers || '—',
  ]);
  return ['## Flows deployed to Argo Workflows (Metaflow)', '', markdownTable(['File', 'Flow', 'Workflow template', 'Triggered by'], rows)].join('\n');
}
