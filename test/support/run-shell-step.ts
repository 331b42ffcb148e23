import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCommandFile } from './run-dist.js';

/**
 * Runs a workflow's `run:` step as GitHub's runner does: the script in a file, executed with
 * `bash --noprofile --norc -eo pipefail <file>`, with fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files
 * and a GITHUB_ENV file (pass `envFile` to share it across the steps of one job). Only PATH and the
 * variables in `env` reach the script, so a test states everything the step depends on.
 */
export interface ShellStepRun {
  status: number;
  /** stdout then stderr, as the step's log shows both. */
  stdout: string;
  outputs: Record<string, string>;
  /** What the step appended to GITHUB_ENV. */
  env: Record<string, string>;
  summary: string;
}

export interface ShellStepOptions {
  cwd: string;
  /** A directory of the caller's for RUNNER_TEMP, HOME and the command files (the caller removes it). */
  runnerTemp: string;
  env?: Record<string, string>;
  envFile?: string;
}

export function runShellStep(script: string, options: ShellStepOptions): ShellStepRun {
  const dir = mkdtempSync(path.join(options.runnerTemp, 'step-'));
  const files = { script: path.join(dir, 'step.sh'), output: path.join(dir, 'output'), summary: path.join(dir, 'summary') };
  const envFile = options.envFile ?? path.join(dir, 'env');
  writeFileSync(files.script, script);
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  if (!existsSync(envFile)) writeFileSync(envFile, '');
  const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', files.script], {
    cwd: options.cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: options.runnerTemp,
      RUNNER_TEMP: options.runnerTemp,
      GITHUB_WORKSPACE: options.cwd,
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_ENV: envFile,
      ...options.env,
    },
  });
  return {
    status: result.status ?? -1,
    stdout: result.stdout + result.stderr,
    outputs: parseCommandFile(readFileSync(files.output, 'utf8')),
    env: parseCommandFile(readFileSync(envFile, 'utf8')),
    summary: readFileSync(files.summary, 'utf8'),
  };
}
