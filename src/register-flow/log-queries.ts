import { PUBLIC_CLOUD, cloudOfArmEndpoint } from '../lib/azure-clouds.js';
import type { FlowRunResponse } from '../lib/prefect.js';

/**
 * Log Analytics (KQL) queries that find a flow run's logs in Container Insights, for the summary of a
 * failed smoke run. Two tables matter (https://learn.microsoft.com/azure/azure-monitor/reference/tables/):
 * - KubePodInventory: one row per pod and container per inventory pass, with ClusterName, Namespace,
 *   Name (the pod), ControllerKind/ControllerName (the Job that made it) and PodLabel (JSON labels);
 * - ContainerLogV2: the containers' stdout/stderr lines, with PodNamespace, PodName, ContainerName,
 *   LogLevel and LogMessage.
 *
 * Prefect's Kubernetes worker runs a flow run as a Job named after the flow run (generateName
 * "<flow-run-name>-"; newer workers also record "<cluster-uid>:<namespace>:<job-name>" as the run's
 * infrastructure_pid), so the run's pod is the one whose controller is that Job. Dask scheduler and
 * worker pods carry the `dask.org/cluster-name` label; the Bakery's flows name their Dask cluster after
 * the flow run (see examples/flows), which is how the second query tells this run's Dask pods apart.
 */

export interface LogQueryContext {
  clusterName?: string;
  namespace: string;
  flowName: string;
  run: Pick<FlowRunResponse, 'id' | 'name' | 'created' | 'start_time' | 'end_time' | 'infrastructure_pid'>;
  now?: Date;
}

export interface LogQueries {
  flowRunPod: string;
  daskPods: string;
}

/** A KQL string literal. */
export function kqlString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, ' ')}"`;
}

function kqlDatetime(date: Date): string {
  return `datetime(${date.toISOString()})`;
}

const MINUTE = 60_000;

/** The Job name from `<cluster-uid>:<namespace>:<job-name>`, when the worker recorded one. */
export function jobNameOf(infrastructurePid: string | null | undefined): string | undefined {
  const parts = infrastructurePid?.split(':');
  return parts && parts.length === 3 && parts[2] ? parts[2] : undefined;
}

export function flowRunLogQueries(context: LogQueryContext): LogQueries {
  const { run } = context;
  const started = Date.parse(run.start_time ?? run.created ?? '') || (context.now ?? new Date()).getTime();
  const ended = Date.parse(run.end_time ?? '') || (context.now ?? new Date()).getTime();
  // Inventory rows come every minute or so and logs arrive a few minutes late: widen the window.
  const window = `between (${kqlDatetime(new Date(started - 10 * MINUTE))} .. ${kqlDatetime(new Date(ended + 30 * MINUTE))})`;
  const where = [`ClusterName == ${kqlString(context.clusterName ?? '')}`, `Namespace == ${kqlString(context.namespace)}`];
  if (!context.clusterName) where.shift();
  const runName = run.name ?? run.id;
  const jobName = jobNameOf(run.infrastructure_pid);
  const jobFilter = jobName ? `ControllerName == ${kqlString(jobName)}` : `ControllerName startswith ${kqlString(`${runName}-`)}`;

  const logsOf = (podsVariable: string): string[] => [
    'ContainerLogV2',
    `| where TimeGenerated ${window}`,
    `| where PodNamespace == ${kqlString(context.namespace)} and PodName in (${podsVariable})`,
    '| project TimeGenerated, PodName, ContainerName, LogLevel, LogMessage',
    '| order by TimeGenerated asc',
  ];

  const flowRunPod = [
    `// Flow run ${runName} (${run.id}) of flow ${context.flowName}: the pod of its Kubernetes Job`,
    'let runPods = KubePodInventory',
    `| where TimeGenerated ${window}`,
    `| where ${where.join(' and ')}`,
    `| where ControllerKind == "Job" and ${jobFilter}`,
    '| distinct Name;',
    ...logsOf('runPods'),
  ].join('\n');

  const daskPods = [
    `// Dask scheduler and workers of flow run ${runName} (${run.id}) of flow ${context.flowName}`,
    'let daskPods = KubePodInventory',
    `| where TimeGenerated ${window}`,
    `| where ${where.join(' and ')}`,
    '| where PodLabel contains "dask.org/cluster-name"',
    `| where PodLabel contains ${kqlString(runName)} // the Dask cluster is named after the flow run; drop this line to see every Dask pod of the window`,
    '| distinct Name;',
    ...logsOf('daskPods'),
  ].join('\n');

  return { flowRunPod, daskPods };
}

/**
 * Where to run the queries: the workspace's Logs page in the portal of the cloud `armEndpoint` belongs
 * to, for a resource id; for a bare workspace GUID (no portal link exists by GUID) an Azure CLI command line.
 */
export function logAnalyticsLocation(workspace: string | undefined, armEndpoint: string = PUBLIC_CLOUD.armEndpoint): { portalUrl?: string; cliHint?: string } {
  if (!workspace) return {};
  if (workspace.startsWith('/subscriptions/')) return { portalUrl: `${(cloudOfArmEndpoint(armEndpoint) ?? PUBLIC_CLOUD).portal}/#resource${workspace}/logs` };
  return { cliHint: `az monitor log-analytics query --workspace ${workspace} --analytics-query "<query>"` };
}
