import * as core from '@actions/core';
import { formatDuration } from '../lib/duration.js';
import { STATUS_INTERVAL_MS } from '../lib/progress.js';
import { sleep as realSleep } from '../lib/retry.js';
import { TERMINAL_STATE_TYPES, type FlowRunResponse, type PrefectClient } from '../lib/prefect.js';

/**
 * Follows flow runs until each reaches a terminal state (COMPLETED, FAILED, CANCELLED, CRASHED) or the
 * timeout passes. Prints each state change as it is seen, and a status line for the runs still going
 * at least every `statusIntervalMs` (progress.ts's STATUS_INTERVAL_MS), so a long run never leaves the log silent.
 */

export interface WatchOptions {
  timeoutMs: number;
  pollIntervalMs: number;
  statusIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface WatchedRun {
  /** The flow's name, for messages. */
  flowName: string;
  run: FlowRunResponse;
  /** The run was still going when the timeout passed. */
  timedOut: boolean;
  /** Wall-clock time from when watching began (or the run's own run time, when Prefect reports one). */
  durationMs: number;
}

export function stateLabel(run: FlowRunResponse): string {
  const type = run.state?.type ?? run.state_type ?? 'UNKNOWN';
  const name = run.state?.name ?? run.state_name;
  return name && name.toUpperCase() !== type ? `${name} (${type})` : type;
}

export function isTerminal(run: FlowRunResponse): boolean {
  const type = run.state?.type ?? run.state_type;
  return type !== undefined && type !== null && TERMINAL_STATE_TYPES.has(type);
}

export function isSuccess(run: FlowRunResponse): boolean {
  return (run.state?.type ?? run.state_type) === 'COMPLETED';
}

/** Prefect's own measure when the run finished; otherwise the time we watched. */
function runDuration(run: FlowRunResponse, watchedMs: number): number {
  if (run.start_time && run.end_time) return Math.max(0, Date.parse(run.end_time) - Date.parse(run.start_time));
  return watchedMs;
}

export async function watchFlowRuns(client: PrefectClient, runs: { flowName: string; run: FlowRunResponse }[], options: WatchOptions): Promise<WatchedRun[]> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const statusEvery = options.statusIntervalMs ?? STATUS_INTERVAL_MS;
  const started = now();
  const watched: WatchedRun[] = runs.map(({ flowName, run }) => ({ flowName, run, timedOut: false, durationMs: 0 }));
  const lastLabel = new Map<string, string>(watched.map((w) => [w.run.id, stateLabel(w.run)]));
  let lastStatus = started;
  for (const w of watched) core.info(`${w.flowName}: flow run ${w.run.name ?? w.run.id} is ${stateLabel(w.run)}`);

  for (;;) {
    for (const w of watched.filter((x) => !isTerminal(x.run))) {
      w.run = await client.readFlowRun(w.run.id);
      const label = stateLabel(w.run);
      if (label !== lastLabel.get(w.run.id)) {
        const message = w.run.state?.message ? `: ${w.run.state.message}` : '';
        core.info(`${w.flowName}: flow run ${w.run.name ?? w.run.id} ${lastLabel.get(w.run.id)} → ${label} after ${formatDuration(now() - started)}${message}`);
        lastLabel.set(w.run.id, label);
        lastStatus = now();
      }
    }
    const going = watched.filter((w) => !isTerminal(w.run));
    if (going.length === 0) break;
    const elapsed = now() - started;
    if (elapsed >= options.timeoutMs) {
      for (const w of going) w.timedOut = true;
      break;
    }
    if (now() - lastStatus >= statusEvery) {
      core.info(`… still waiting after ${formatDuration(elapsed)} (timeout ${formatDuration(options.timeoutMs)}): ${going.map((w) => `${w.flowName} ${stateLabel(w.run)}`).join(', ')}`);
      lastStatus = now();
    }
    // Wake for whichever comes first: the next poll, the next status line, the timeout.
    await sleep(Math.max(0, Math.min(options.pollIntervalMs, statusEvery - (now() - lastStatus), options.timeoutMs - elapsed)));
  }
  const watchedMs = now() - started;
  for (const w of watched) w.durationMs = runDuration(w.run, watchedMs);
  return watched;
}

