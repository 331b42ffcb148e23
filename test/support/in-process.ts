import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resetSecretsForTesting } from '../../src/lib/mask.js';
import { inputEnv, parseCommandFile } from './run-dist.js';

/**
 * Runs an action's `run()` inside the test process with the environment a runner gives it (INPUT_*,
 * GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), then restores the environment. Faster than runDist and lets a
 * test look at the thrown error; runDist remains the check of the built bundle.
 */
export interface InProcessRun {
  /** What `run()` threw, if anything. */
  error?: unknown;
  outputs: Record<string, string>;
  summary: string;
  /** Everything written to stdout meanwhile (@actions/core's log lines and commands). */
  stdout: string;
  /** stdout as a runner shows it: without the `::add-mask::` commands, which the runner consumes. */
  log: string;
  /** The values the action asked the runner to mask. */
  masked: string[];
  /** process.exitCode as the run left it (core.setFailed sets 1); reset afterwards. */
  exitCode: number | string | undefined;
  workDir: string;
}

export async function runInProcess(
  main: () => Promise<void>,
  options: { inputs?: Record<string, string>; env?: Record<string, string>; workDir?: string } = {},
): Promise<InProcessRun> {
  const workDir = options.workDir ?? mkdtempSync(path.join(tmpdir(), 'in-process-'));
  const outputFile = path.join(workDir, `output-${Date.now()}`);
  const summaryFile = path.join(workDir, `summary-${Date.now()}`);
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('INPUT_') || key.startsWith('ACTIONS_ID_TOKEN')) delete process.env[key];
  }
  Object.assign(process.env, {
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: workDir,
    ...inputEnv(options.inputs ?? {}),
    ...options.env,
  });
  resetSecretsForTesting();
  let stdout = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return typeof rest[rest.length - 1] === 'function' ? ((rest[rest.length - 1] as () => void)(), true) : true;
  }) as typeof process.stdout.write;
  let error: unknown;
  let exitCode: number | string | undefined;
  try {
    await main();
  } catch (caught) {
    error = caught;
  } finally {
    process.stdout.write = write;
    exitCode = process.exitCode ?? undefined;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    process.exitCode = undefined;
  }
  return {
    error,
    outputs: parseCommandFile(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
    stdout,
    ...splitMaskCommands(stdout),
    exitCode,
    workDir,
  };
}

export function splitMaskCommands(stdout: string): { log: string; masked: string[] } {
  const masked: string[] = [];
  const log = stdout
    .split('\n')
    .filter((line) => {
      if (!line.startsWith('::add-mask::')) return true;
      // Undo the workflow-command escaping of the value (%0D, %0A, %25), as the runner does.
      masked.push(line.slice('::add-mask::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'));
      return false;
    })
    .join('\n');
  return { log, masked };
}
