import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Runs a built action (`dist/<action>/index.js`) as a child process exactly as a runner does: inputs as
 * INPUT_<NAME> variables, and the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV / GITHUB_STATE /
 * GITHUB_EVENT_PATH files. Returns what a workflow would see.
 */
export interface DistRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Outputs parsed from the GITHUB_OUTPUT file. */
  outputs: Record<string, string>;
  summary: string;
  durationMs: number;
  workDir: string;
}

export interface DistRunOptions {
  /** Inputs by their action.yml names (`storage-account`), turned into INPUT_STORAGE-ACCOUNT. */
  inputs?: Record<string, string>;
  /** Extra environment (stand-in endpoints, PATH with a fake binary, ...). */
  env?: Record<string, string>;
  /** The webhook payload GITHUB_EVENT_PATH points at. */
  event?: unknown;
  eventName?: string;
  cwd?: string;
  timeoutMs?: number;
}

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]));
}

/** GITHUB_OUTPUT uses `name<<DELIMITER\nvalue\nDELIMITER` blocks (and plain `name=value` lines). */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      result[name!] = value.join('\n');
    } else if (line.includes('=')) {
      const eq = line.indexOf('=');
      result[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return result;
}

export async function runDist(action: string, options: DistRunOptions = {}): Promise<DistRun> {
  const entry = path.join(REPO_ROOT, 'dist', action, 'index.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run bundle\` first`);
  const workDir = mkdtempSync(path.join(tmpdir(), `run-${action}-`));
  const files = {
    GITHUB_OUTPUT: path.join(workDir, 'output'),
    GITHUB_STEP_SUMMARY: path.join(workDir, 'summary'),
    GITHUB_ENV: path.join(workDir, 'env'),
    GITHUB_STATE: path.join(workDir, 'state'),
    GITHUB_PATH: path.join(workDir, 'path'),
    GITHUB_EVENT_PATH: path.join(workDir, 'event.json'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify(options.event ?? {}));
  // Only what a runner sets: not the test process's own INPUT_* or GitHub variables.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('INPUT_') && !key.startsWith('GITHUB_') && !key.startsWith('ACTIONS_') && !key.startsWith('RUNNER_')),
  );
  const env: Record<string, string> = {
    ...(inherited as Record<string, string>),
    ...files,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: options.eventName ?? 'workflow_dispatch',
    GITHUB_REPOSITORY: 'octo-org/octo-repo',
    GITHUB_REPOSITORY_OWNER: 'octo-org',
    GITHUB_SHA: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: '1658821493',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_WORKSPACE: options.cwd ?? workDir,
    RUNNER_TEMP: path.join(workDir),
    RUNNER_OS: 'Linux',
    ...inputEnv(options.inputs ?? {}),
    ...options.env,
  };
  const started = performance.now();
  const child = spawn(process.execPath, [entry], { cwd: options.cwd ?? workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  clearTimeout(timeout);
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseCommandFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    durationMs: performance.now() - started,
    workDir,
  };
}
