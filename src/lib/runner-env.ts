import { tmpdir } from 'node:os';
import path from 'node:path';

/** Where a runner puts things, with the fallbacks a local run (npm run local, tests) needs. */

/** The repository checkout: GITHUB_WORKSPACE on a runner, the current directory elsewhere. */
export function workspaceRoot(): string {
  return path.resolve(process.env.GITHUB_WORKSPACE || process.cwd());
}

/** A scratch directory the runner empties after the job: RUNNER_TEMP, or the system's temp directory. */
export function runnerTemp(): string {
  return process.env.RUNNER_TEMP || tmpdir();
}
