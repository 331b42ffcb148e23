import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { vi } from 'vitest';
import { resetSecretsForTesting } from '../../src/lib/mask.js';
import { run, type RunOptions } from '../../src/register-flow/main.js';
import { inputEnv, parseCommandFile } from '../support/run-dist.js';

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
 * Runs `run()` with `inputs` as INPUT_* variables and `env` on top, as a runner would, and restores the
 * environment afterwards. The thrown error (if any) is returned, not rethrown.
 */
export async function runInProcess(inputs: Record<string, string>, env: Record<string, string> = {}, options: RunOptions = {}): Promise<InProcessRun> {
  resetSecretsForTesting();
  const dir = mkdtempSync(path.join(tmpdir(), 'register-flow-run-'));
  const files = { GITHUB_OUTPUT: path.join(dir, 'output'), GITHUB_STEP_SUMMARY: path.join(dir, 'summary') };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_') || key.startsWith('ACTIONS_ID_TOKEN')) delete process.env[key];
  Object.assign(process.env, files, { GITHUB_RUN_ID: '1658821493', GITHUB_RUN_ATTEMPT: '1', GITHUB_REPOSITORY: 'octo-org/octo-repo', GITHUB_SHA: '6dcb09b5b57875f334f61aebed695e2e4193db5e', GITHUB_SERVER_URL: 'https://github.com' }, inputEnv(inputs), env);
  let log = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    log += chunk.toString();
    return true;
  });
  let error: Error | undefined;
  try {
    await run({ client: { sleep: async () => {}, baseDelayMs: 1 }, watch: { sleep: async () => {} }, ...options });
  } catch (caught) {
    error = caught as Error;
  } finally {
    write.mockRestore();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  return { outputs: parseCommandFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')), summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'), log, error };
}
