import * as core from '@actions/core';

/**
 * A runner shows a silent step as hung; a status line at least this often says it is not. The one
 * default for every wait that reports progress: this wrapper, Terraform runs, ACR Tasks runs,
 * Kubernetes rollouts and deletions, Prefect flow runs.
 */
export const STATUS_INTERVAL_MS = 15_000;

/**
 * Awaits `work`, printing "… still <what> (N s)" every `intervalMs` until it settles, so a long
 * Azure operation (a storage account takes 20–60 s to create) never leaves the log silent.
 */
export async function withStatusLines<T>(what: string, work: Promise<T>, intervalMs: number = STATUS_INTERVAL_MS): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => {
    core.info(`… still ${what} (${Math.round((Date.now() - started) / 1000)} s)`);
  }, intervalMs);
  // Never keep the process alive for the sake of a status line.
  timer.unref();
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
