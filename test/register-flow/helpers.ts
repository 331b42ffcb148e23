import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, type RunOptions } from '../../src/register-flow/main.js';
import { runInProcess as runActionInProcess } from '../support/in-process.js';

/** What a workflow would see of one in-process run of register-flow. */
export interface InProcessRun {
  outputs: Record<string, string>;
  summary: string;
  /** Everything written to stdout (the step log), including ::add-mask:: commands. */
  log: string;
  error?: Error;
}

/** A flow directory in a fresh workspace: `files` maps relative paths to contents. */
export function makeWorkspace(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'register-flow-ws-'));
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return root;
}

export const OISST_FLOW = `from prefect import flow, task

@task
def fetch(url: str) -> str:
    return url

@flow(name="noaa-oisst", log_prints=True)
def noaa_oisst(start: str = "1981-09-01") -> str:
    return fetch(start)
`;

/**
 * Runs `run()` with `inputs` as INPUT_* variables and `env` on top, as a runner would (through
 * support/in-process.ts), with the Prefect client's and the watcher's waits made instant. The thrown
 * error (if any) is returned, not rethrown.
 */
export async function runInProcess(inputs: Record<string, string>, env: Record<string, string> = {}, options: RunOptions = {}): Promise<InProcessRun> {
  const result = await runActionInProcess(() => run({ client: { sleep: async () => {}, baseDelayMs: 1 }, watch: { sleep: async () => {} }, ...options }), {
    inputs,
    env: { GITHUB_RUN_ID: '1658821493', GITHUB_RUN_ATTEMPT: '1', GITHUB_REPOSITORY: 'octo-org/octo-repo', GITHUB_SHA: '6dcb09b5b57875f334f61aebed695e2e4193db5e', GITHUB_SERVER_URL: 'https://github.com', ...env },
  });
  return { outputs: result.outputs, summary: result.summary, log: result.stdout, error: result.error as Error | undefined };
}
