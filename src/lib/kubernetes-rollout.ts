import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { formatDuration } from './duration.js';
import { errorMessage } from './errors.js';
import { formatEvent, kubernetesStatusOf, type KubernetesClient } from './kubernetes.js';
import { STATUS_INTERVAL_MS } from './progress.js';
import { sleep } from './retry.js';

/**
 * `kubectl rollout status` for a Deployment, plus what a person does when it hangs: look at the pods,
 * their events and their last log lines.
 */

export interface RolloutState {
  done: boolean;
  /** A reason the rollout can no longer succeed by waiting (progress deadline, crash loop, bad config). */
  failed?: string;
  /** kubectl's wording of where the rollout is. */
  message: string;
}

/** kubectl's DeploymentStatusViewer, word for word where it can be. */
export function deploymentRolloutState(deployment: IDeployment): RolloutState {
  const name = deployment.metadata?.name ?? '';
  const status = deployment.status ?? {};
  const wanted = deployment.spec?.replicas ?? 1;
  if ((deployment.metadata?.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return { done: false, message: 'Waiting for deployment spec update to be observed...' };
  }
  const progressing = status.conditions?.find((condition) => condition.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { done: false, failed: `deployment "${name}" exceeded its progress deadline`, message: progressing.message ?? 'progress deadline exceeded' };
  }
  const updated = status.updatedReplicas ?? 0;
  if (updated < wanted) {
    return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${wanted} new replicas have been updated...` };
  }
  const total = status.replicas ?? 0;
  if (total > updated) {
    return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...` };
  }
  const available = status.availableReplicas ?? 0;
  if (available < updated) {
    return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...` };
  }
  return { done: true, message: `deployment "${name}" successfully rolled out` };
}

/** Pod states that waiting will not cure. An image pull is retried by the kubelet, so it is not here. */
const HOPELESS_WAITING_REASONS = new Set(['InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError']);
const CRASH_LOOP_RESTARTS = 3;

export function podProblem(pod: IPod): string | undefined {
  for (const container of pod.status?.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    if (waiting?.reason && HOPELESS_WAITING_REASONS.has(waiting.reason)) {
      return `pod ${pod.metadata?.name}: container ${container.name} is ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`;
    }
    if (waiting?.reason === 'CrashLoopBackOff' && (container.restartCount ?? 0) >= CRASH_LOOP_RESTARTS) {
      const exit = container.lastState?.terminated;
      return `pod ${pod.metadata?.name}: container ${container.name} keeps crashing (${container.restartCount} restarts${exit ? `, last exit code ${exit.exitCode}${exit.reason ? ` ${exit.reason}` : ''}` : ''})`;
    }
  }
  return undefined;
}

/** One line per container: `prefect-worker: waiting (ImagePullBackOff: Back-off pulling image …), 0 restarts`. */
function containerLines(pod: IPod): string[] {
  return (pod.status?.containerStatuses ?? []).map((container) => {
    const state = container.state?.waiting
      ? `waiting (${container.state.waiting.reason ?? ''}${container.state.waiting.message ? `: ${container.state.waiting.message}` : ''})`
      : container.state?.terminated
        ? `terminated (exit ${container.state.terminated.exitCode}${container.state.terminated.reason ? `, ${container.state.terminated.reason}` : ''})`
        : container.state?.running
          ? `running${container.ready ? ', ready' : ', not ready'}`
          : 'unknown';
    return `  ${container.name}: ${state}, ${container.restartCount ?? 0} restarts`;
  });
}

/**
 * Everything a person would look at for the pods of `labelSelector`: phase, container states, events,
 * and the last `tailLines` log lines of each container (the previous instance's too, after a crash).
 */
export async function describePods(kube: KubernetesClient, namespace: string, labelSelector: string, tailLines = 40): Promise<string[]> {
  const lines: string[] = [];
  const pods = await kube.list<IPod>({ apiVersion: 'v1', kind: 'Pod', namespace }, { labelSelector });
  if (pods.length === 0) lines.push(`No pods match ${labelSelector} in namespace ${namespace} (see the Deployment's and ReplicaSet's events: quota, admission webhooks).`);
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    lines.push(`Pod ${name}: ${pod.status?.phase ?? 'Unknown'}${pod.spec?.nodeName ? ` on ${pod.spec.nodeName}` : ''}`, ...containerLines(pod));
    const events = await kube.events(namespace, { kind: 'Pod', name }).catch((error: unknown) => {
      lines.push(`  (events could not be read: ${errorMessage(error)})`);
      return [];
    });
    if (events.length) lines.push('  Events:', ...events.slice(-15).map((event) => `    ${formatEvent(event)}`));
    for (const container of pod.status?.containerStatuses ?? []) {
      const previous = (container.restartCount ?? 0) > 0 && !container.state?.running;
      try {
        const log = await kube.podLogs(namespace, name, { container: container.name, tailLines, previous });
        const logLines = log.split(/\r?\n/).filter(Boolean);
        lines.push(`  Last ${logLines.length} log lines of ${container.name}${previous ? ' (previous instance)' : ''}:`, ...logLines.map((line) => `    ${line}`));
      } catch (error) {
        // A container that never started has no log; the API server says why in a Status message.
        lines.push(`  No log from ${container.name}: ${kubernetesStatusOf(error)?.message ?? errorMessage(error)}`);
      }
    }
  }
  return lines;
}

export interface RolloutOptions {
  timeoutMs: number;
  pollMs?: number;
  /** A progress line at least this often (default STATUS_INTERVAL_MS). */
  reportEveryMs?: number;
  log: (line: string) => void;
}

export interface RolloutOutcome {
  state: RolloutState;
  elapsedMs: number;
  /** Why it did not finish: 'timeout' or the hopeless state found. */
  failure?: string;
}

/** Waits until the Deployment has rolled out, fails, or `timeoutMs` passes. Never throws for a failed rollout. */
export async function waitForDeploymentRollout(kube: KubernetesClient, namespace: string, name: string, options: RolloutOptions): Promise<RolloutOutcome> {
  const pollMs = options.pollMs ?? 2000;
  const reportEveryMs = options.reportEveryMs ?? STATUS_INTERVAL_MS;
  const started = Date.now();
  let lastMessage = '';
  let lastReport = 0;
  // Poll quickly at first (a small rollout is often done in a second or two), then every pollMs.
  for (let attempt = 0; ; attempt++) {
    const deployment = await kube.get<IDeployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
    if (!deployment) return { state: { done: false, message: `deployment "${name}" does not exist` }, elapsedMs: Date.now() - started, failure: `deployment "${name}" disappeared` };
    const state = deploymentRolloutState(deployment);
    const elapsedMs = Date.now() - started;
    if (state.done) {
      options.log(`${state.message} (${formatDuration(elapsedMs)})`);
      return { state, elapsedMs };
    }
    if (state.failed) return { state, elapsedMs, failure: state.failed };
    const selector = Object.entries(deployment.spec?.selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`).join(',');
    const pods = await kube.list<IPod>({ apiVersion: 'v1', kind: 'Pod', namespace }, { labelSelector: selector });
    const hopeless = pods.map(podProblem).find(Boolean);
    if (hopeless) return { state, elapsedMs, failure: hopeless };
    const ready = `${deployment.status?.readyReplicas ?? 0}/${deployment.spec?.replicas ?? 1} ready`;
    if (state.message !== lastMessage || Date.now() - lastReport >= reportEveryMs) {
      options.log(`${state.message} [${ready}, ${formatDuration(elapsedMs)}]`);
      lastMessage = state.message;
      lastReport = Date.now();
    }
    if (elapsedMs >= options.timeoutMs) return { state, elapsedMs, failure: 'timeout' };
    await sleep(Math.min(pollMs, 500 * 2 ** attempt, Math.max(50, options.timeoutMs - elapsedMs)));
  }
}
