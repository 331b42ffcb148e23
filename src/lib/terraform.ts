import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { stripAnsi } from './ansi.js';
import { terraformAuthEnv, type AzureAuth } from './azure-auth.js';
import { connectionStringParts } from './connection-string.js';
import { formatDuration } from './duration.js';
import { sha256OfFile } from './file-hash.js';
import { hclBlocks, terraformFiles } from './hcl-scan.js';
import { ConfigurationError, GuidedError, errorMessage } from './errors.js';
import { scrub } from './mask.js';
import { STATUS_INTERVAL_MS, withStatusLines } from './progress.js';
import { runnerTemp, workspaceRoot } from './runner-env.js';

/**
 * The one Terraform runner every action uses (plan, deploy, destroy). It runs `terraform` or `tofu`
 * as a child process and:
 * - streams each line live into the log (scrubbed of known secrets, with workflow commands in the
 *   output disabled so a resource attribute cannot inject `::set-output` or `::add-mask`), while also
 *   capturing stdout and stderr byte for byte for parsing — stdout is never rewritten the way some
 *   wrappers do;
 * - keeps the real exit code, so `-detailed-exitcode` (0 none, 2 changes, 1 error) survives;
 * - prints a status line at least every 30 s while a command runs;
 * - turns a held state lock into a StateLockError naming the lock and the exact unlock command, and any
 *   other failure into a TerraformCommandError with the tail of Terraform's own error text.
 *
 * Commands that print values Terraform does not redact (`show -json`, `output -json`) are captured
 * without echo.
 */

export interface TerraformRunnerOptions {
  /** `terraform`, `tofu`, or a path to either (see resolveTerraformBinary). */
  binary: string;
  /** Where the root module is; every command runs there. */
  workingDirectory: string;
  /** Added to the runner's environment (ARM_*, TF_PLUGIN_CACHE_DIR, ...); see terraformEnvironment(). */
  env: Record<string, string>;
  /** How often a "still running" line is printed; default progress.ts's STATUS_INTERVAL_MS. */
  statusIntervalMs?: number;
}

export interface TerraformResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface TerraformDiagnostic {
  severity: 'error' | 'warning';
  summary: string;
  detail?: string;
  range?: {
    filename: string;
    start: { line: number; column: number; byte?: number };
    end: { line: number; column: number; byte?: number };
  };
}

/** `terraform validate -json` (format_version 1.0). */
export interface ValidateResult {
  valid: boolean;
  errorCount: number;
  warningCount: number;
  diagnostics: TerraformDiagnostic[];
}

export interface TerraformOutput {
  value: unknown;
  sensitive: boolean;
  type: unknown;
}

export interface VariableOptions {
  /** Paths of .tfvars files, absolute or relative to the working directory. */
  varFiles?: string[];
  /** `-var name=value` pairs; they win over var files, as on Terraform's command line. */
  variables?: Record<string, string>;
}

export interface PlanOptions extends VariableOptions {
  /** Where the binary plan is written (absolute, or relative to the working directory). */
  out: string;
  destroy?: boolean;
  refreshOnly?: boolean;
  /**
   * Take the state lock (default true). False adds `-lock=false`: for plans that are only read, so
   * they need no write access to the state and never wait for or block another run.
   */
  lock?: boolean;
}

interface RunOptions {
  /** The log group's title; default: the command line. */
  title?: string;
  /** Print the output live (default true). False for commands whose stdout holds unredacted values. */
  echo?: boolean;
  /** Exit codes that are not failures (default [0]). */
  successCodes?: number[];
}

/** Terraform failed. `result` holds everything it printed (unscrubbed: never print it as is). */
export class TerraformCommandError extends GuidedError {
  constructor(
    readonly command: string,
    readonly result: TerraformResult,
    message: string,
    guidance: string,
  ) {
    super(message, guidance);
  }
}

/** The state is locked by another run; `lock` says by whom and how to release it. */
export class StateLockError extends TerraformCommandError {
  constructor(
    command: string,
    result: TerraformResult,
    readonly lock: StateLockInfo,
  ) {
    super(command, result, `terraform ${command}: the state is locked by another run (lock ${lock.id})`, describeStateLock(lock));
  }
}

/** How much of Terraform's error output goes into the failure message. */
const ERROR_TAIL_LINES = 40;

export class Terraform {
  readonly binary: string;
  readonly workingDirectory: string;
  private readonly env: Record<string, string>;
  private readonly statusIntervalMs: number;

  constructor(options: TerraformRunnerOptions) {
    this.binary = options.binary;
    this.workingDirectory = path.resolve(options.workingDirectory);
    this.env = options.env;
    this.statusIntervalMs = options.statusIntervalMs ?? STATUS_INTERVAL_MS;
  }

  /** The binary's own name (`terraform` or `tofu`), for the commands we suggest to the user. */
  get commandName(): string {
    return path.basename(this.binary).replace(/\.exe$/i, '');
  }

  /** `version -json` → "1.9.8" (OpenTofu prints the same document shape). */
  async version(): Promise<string> {
    const result = await this.run(['version', '-json'], { echo: false });
    try {
      const parsed = JSON.parse(result.stdout) as { terraform_version?: string };
      if (parsed.terraform_version) return parsed.terraform_version;
    } catch {
      // Versions before 0.13 have no -json: fall through to the text form.
    }
    const match = /v(\d+\.\d+\.\d+\S*)/.exec(result.stdout);
    if (!match) throw new Error(`could not read a version from \`${this.commandName} version\`: ${result.stdout.slice(0, 200)}`);
    return match[1]!;
  }

  /** `init` with the backend file setup-remote-state wrote; `backend: false` skips the backend. */
  init(options: { backendConfigFile?: string; backend?: boolean; upgrade?: boolean } = {}): Promise<TerraformResult> {
    const args = ['init', '-input=false', '-no-color'];
    if (options.backend === false) args.push('-backend=false');
    else if (options.backendConfigFile) args.push(`-backend-config=${path.resolve(options.backendConfigFile)}`);
    if (options.upgrade) args.push('-upgrade');
    return this.run(args);
  }

  /** `validate -json`: an invalid configuration is a result (exit 1 with diagnostics), not a throw. */
  async validate(): Promise<ValidateResult> {
    const result = await this.run(['validate', '-json', '-no-color'], { echo: false, successCodes: [0, 1], title: `${this.commandName} validate` });
    let parsed: { valid?: boolean; error_count?: number; warning_count?: number; diagnostics?: TerraformDiagnostic[] };
    try {
      parsed = JSON.parse(result.stdout) as typeof parsed;
    } catch {
      // Exit 1 without JSON is Terraform failing before it could validate (e.g. not initialised).
      throw this.failure('validate', result);
    }
    const diagnostics = parsed.diagnostics ?? [];
    return {
      valid: parsed.valid === true,
      errorCount: parsed.error_count ?? diagnostics.filter((d) => d.severity === 'error').length,
      warningCount: parsed.warning_count ?? diagnostics.filter((d) => d.severity === 'warning').length,
      diagnostics,
    };
  }

  /** `plan -detailed-exitcode`: exit 0 means no changes, 2 changes; 1 throws. */
  async plan(options: PlanOptions): Promise<TerraformResult & { hasChanges: boolean }> {
    const args = ['plan', '-input=false', '-no-color', '-detailed-exitcode', `-out=${path.resolve(this.workingDirectory, options.out)}`];
    if (options.destroy) args.push('-destroy');
    if (options.refreshOnly) args.push('-refresh-only');
    if (options.lock === false) args.push('-lock=false');
    args.push(...this.variableArgs(options));
    const result = await this.run(args, { successCodes: [0, 2], title: `${this.commandName} plan${options.destroy ? ' -destroy' : ''}${options.lock === false ? ' -lock=false' : ''}` });
    return { ...result, hasChanges: result.exitCode === 2 };
  }

  /** The plan as JSON. Holds sensitive values in clear text: never printed. */
  async showJson(planFile: string): Promise<string> {
    const result = await this.run(['show', '-json', '-no-color', path.resolve(this.workingDirectory, planFile)], { echo: false });
    return result.stdout;
  }

  /** The plan as Terraform prints it (sensitive values already shown as "(sensitive value)"). */
  async showText(planFile: string): Promise<string> {
    const result = await this.run(['show', '-no-color', path.resolve(this.workingDirectory, planFile)], { echo: false });
    return result.stdout;
  }

  /** Applies exactly this saved plan (a saved plan needs no approval flag and takes no variables). */
  apply(planFile: string): Promise<TerraformResult> {
    return this.run(['apply', '-input=false', '-no-color', path.resolve(this.workingDirectory, planFile)]);
  }

  destroy(options: VariableOptions = {}): Promise<TerraformResult> {
    return this.run(['destroy', '-input=false', '-no-color', '-auto-approve', ...this.variableArgs(options)]);
  }

  /** `output -json`. Holds sensitive values in clear text: never printed; mask them before use. */
  async outputs(): Promise<Record<string, TerraformOutput>> {
    const result = await this.run(['output', '-json', '-no-color'], { echo: false });
    const text = result.stdout.trim();
    return text ? (JSON.parse(text) as Record<string, TerraformOutput>) : {};
  }

  private variableArgs(options: VariableOptions): string[] {
    const args: string[] = [];
    for (const file of options.varFiles ?? []) args.push(`-var-file=${path.resolve(this.workingDirectory, file)}`);
    for (const [name, value] of Object.entries(options.variables ?? {})) args.push('-var', `${name}=${value}`);
    return args;
  }

  /** The command line as we print it: `-var` values hidden (they may be secrets not registered as such). */
  private displayCommand(args: string[]): string {
    const shown = args.map((arg, index) => (args[index - 1] === '-var' ? `${arg.split('=')[0]}=…` : arg));
    return [this.commandName, ...shown].join(' ');
  }

  /** Runs one command; see the module comment. Throws on an exit code outside `successCodes`. */
  async run(args: string[], options: RunOptions = {}): Promise<TerraformResult> {
    const echo = options.echo ?? true;
    const successCodes = options.successCodes ?? [0];
    const commandLine = this.displayCommand(args);
    const title = options.title ?? commandLine;
    const result = await core.group(title, async () => {
      core.info(scrub(`[command]${commandLine}`));
      const started = Date.now();
      const finished = await withStatusLines(`running ${this.commandName} ${args[0]}`, this.spawnStreaming(args, echo), this.statusIntervalMs);
      core.info(`${this.commandName} ${args[0]} exited with code ${finished.exitCode} after ${formatDuration(Date.now() - started)}`);
      return finished;
    });
    if (!successCodes.includes(result.exitCode)) throw this.failure(args[0]!, result);
    return result;
  }

  private spawnStreaming(args: string[], echo: boolean): Promise<TerraformResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, {
        cwd: this.workingDirectory,
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      // Between these two markers the runner executes no workflow command found in Terraform's output.
      const stopToken = randomUUID();
      const printer = echo ? new LinePrinter(stopToken) : undefined;
      child.stdout.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        printer?.write('stdout', chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        printer?.write('stderr', chunk);
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        printer?.end();
        if (error.code === 'ENOENT') {
          reject(new GuidedError(`Could not run "${this.binary}": no such executable (in ${this.workingDirectory})`, 'Install Terraform first (hashicorp/setup-terraform, or the "terraform-version" input), or set "terraform-binary" to the path of terraform or tofu.'));
        } else reject(error);
      });
      child.on('close', (code, signal) => {
        printer?.end();
        // A signal (runner cancelled, OOM killer) is a failure, never a success or "changes".
        const exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
        resolve({ exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
      });
    });
  }

  private failure(command: string, result: TerraformResult): TerraformCommandError {
    const combined = `${result.stderr}\n${result.stdout}`;
    const lock = parseStateLock(combined, this.commandName);
    if (lock) return new StateLockError(command, result, lock);
    const tail = errorTail(combined);
    return new TerraformCommandError(
      command,
      result,
      `${this.commandName} ${command} failed with exit code ${result.exitCode}`,
      tail ? `Terraform said:\n${tail}` : 'Terraform printed no error text; see the log group above.',
    );
  }
}

/**
 * Streams chunks to the log line by line: scrubbed (a secret split across two chunks is still whole in
 * its line), with workflow commands switched off. stdout and stderr keep their own partial lines.
 */
class LinePrinter {
  private readonly pending = { stdout: '', stderr: '' };
  private started = false;

  constructor(private readonly stopToken: string) {}

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (!this.started) {
      process.stdout.write(`::stop-commands::${this.stopToken}\n`);
      this.started = true;
    }
    const text = this.pending[stream] + chunk.toString('utf8');
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) {
      this.pending[stream] = text;
      return;
    }
    this.pending[stream] = text.slice(lastNewline + 1);
    process.stdout.write(`${scrub(text.slice(0, lastNewline))}\n`);
  }

  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.pending[stream]) process.stdout.write(`${scrub(this.pending[stream])}\n`);
      this.pending[stream] = '';
    }
    if (this.started) process.stdout.write(`::${this.stopToken}::\n`);
    this.started = false;
  }
}

/** Terraform's text without colour codes and without the `│ ` frame it draws around diagnostics. */
export function plainTerraformText(output: string): string {
  return stripAnsi(output)
    .split(/\r?\n/)
    .map((line) => line.replace(/^[│╷╵] ?/, ''))
    .join('\n');
}

/** The last lines of Terraform's error text, from its first "Error:" on (scrubbed later by runAction). */
function errorTail(output: string): string {
  const lines = plainTerraformText(output).split('\n');
  const firstError = lines.findIndex((line) => line.startsWith('Error:'));
  const relevant = (firstError >= 0 ? lines.slice(firstError) : lines).filter((line, i, all) => line.trim() || all[i - 1]?.trim());
  return relevant.slice(-ERROR_TAIL_LINES).join('\n').trim();
}

// ---------------------------------------------------------------------------------------------------
// State locks
// ---------------------------------------------------------------------------------------------------

/** The `Lock Info:` block Terraform prints (statemgr.LockInfo.String()) with what we derive from it. */
export interface StateLockInfo {
  id: string;
  path: string;
  /** OperationTypePlan, OperationTypeApply, ... */
  operation: string;
  /** user@host of the run holding the lock. */
  who: string;
  version: string;
  /** As Terraform prints it (Go's time format), e.g. "2024-05-01 12:34:56.789 +0000 UTC". */
  created: string;
  info: string;
  createdAt?: Date;
  /** Milliseconds between `created` and now, when `created` could be read. */
  ageMs?: number;
  /** The exact command that releases it, run in the working directory after `init`. */
  forceUnlockCommand: string;
}

/**
 * Finds a held state lock in Terraform's output ("Error acquiring the state lock" followed by the
 * `Lock Info:` block), framed or not, coloured or not. Undefined when the output holds none.
 */
export function parseStateLock(output: string, binaryName = 'terraform', now: Date = new Date()): StateLockInfo | undefined {
  const text = plainTerraformText(output);
  if (!/Error acquiring the state lock/i.test(text)) return undefined;
  const block = /Lock Info:\n((?:[ \t]+\w+:.*(?:\n|$))+)/.exec(text);
  if (!block) return undefined;
  const fields: Record<string, string> = {};
  for (const line of block[1]!.split('\n')) {
    const match = /^\s+(\w+):[ \t]*(.*?)\s*$/.exec(line);
    if (match) fields[match[1]!.toLowerCase()] = match[2]!;
  }
  if (!fields.id) return undefined;
  const createdAt = parseGoTime(fields.created ?? '');
  return {
    id: fields.id,
    path: fields.path ?? '',
    operation: fields.operation ?? '',
    who: fields.who ?? '',
    version: fields.version ?? '',
    created: fields.created ?? '',
    info: fields.info ?? '',
    createdAt,
    ageMs: createdAt ? Math.max(0, now.getTime() - createdAt.getTime()) : undefined,
    forceUnlockCommand: `${binaryName} force-unlock -force ${fields.id}`,
  };
}

/** Go's time.Time String(): "2006-01-02 15:04:05.999999999 -0700 MST" (fractional part optional). */
function parseGoTime(value: string): Date | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-])(\d{2})(\d{2})/.exec(value);
  if (!match) return undefined;
  const millis = match[3] ? match[3].slice(0, 4).padEnd(4, '0') : '';
  const date = new Date(`${match[1]}T${match[2]}${millis}${match[4]}${match[5]}:${match[6]}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.floor(hours / 24)} days`;
}

/** What the user sees: who holds the lock, since when, and how to release it safely. */
export function describeStateLock(lock: StateLockInfo): string {
  const age = lock.ageMs !== undefined ? ` (${formatAge(lock.ageMs)} ago)` : '';
  const operation = lock.operation.replace(/^OperationType/, '').toLowerCase() || 'unknown operation';
  const facts = [
    `Lock ID:   ${lock.id}`,
    `Held by:   ${lock.who || 'unknown'} running ${operation}${lock.version ? ` with Terraform ${lock.version}` : ''}`,
    `Since:     ${lock.created || 'unknown'}${age}`,
  ];
  if (lock.path) facts.push(`State:     ${lock.path}`);
  if (lock.info) facts.push(`Info:      ${lock.info}`);
  return [
    ...facts,
    '',
    'If that run is still going (another workflow run, or someone at a terminal), wait for it to finish and re-run this job.',
    'If it died (a cancelled job, a runner that was killed), release the lock from the working directory after `init` with the same backend config:',
    `  ${lock.forceUnlockCommand}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Annotations
// ---------------------------------------------------------------------------------------------------

/**
 * Each diagnostic becomes a GitHub annotation on its file and line. Terraform names files relative to
 * the working directory; annotations want them relative to the repository root (GITHUB_WORKSPACE).
 */
export function annotateDiagnostics(diagnostics: TerraformDiagnostic[], workingDirectory: string, commandName = 'terraform'): void {
  const root = workspaceRoot();
  for (const diagnostic of diagnostics) {
    const message = scrub(diagnostic.detail ? `${diagnostic.summary}: ${diagnostic.detail}` : diagnostic.summary);
    const properties: core.AnnotationProperties = { title: scrub(`${commandName} validate: ${diagnostic.summary}`) };
    if (diagnostic.range?.filename) {
      const absolute = path.resolve(workingDirectory, diagnostic.range.filename);
      properties.file = path.relative(root, absolute).split(path.sep).join('/');
      properties.startLine = diagnostic.range.start.line;
      properties.endLine = diagnostic.range.end.line;
      if (diagnostic.range.start.line === diagnostic.range.end.line) {
        properties.startColumn = diagnostic.range.start.column;
        properties.endColumn = diagnostic.range.end.column;
      }
    }
    if (diagnostic.severity === 'error') core.error(message, properties);
    else core.warning(message, properties);
  }
}

// ---------------------------------------------------------------------------------------------------
// Environment and installation
// ---------------------------------------------------------------------------------------------------

/**
 * The environment every Terraform command gets: automation mode, no prompts, the credentials for the
 * azurerm provider and backend (terraformAuthEnv: ARM_USE_OIDC, ARM_CLIENT_ID, ...), and the provider
 * plugin cache. Under `auth: connection-string` the backend gets the account key (ARM_ACCESS_KEY) or
 * SAS token (ARM_SAS_TOKEN) from the connection string, since the backend file holds no key.
 */
export function terraformEnvironment(auth: AzureAuth, pluginCacheDir?: string): Record<string, string> {
  const env: Record<string, string> = { TF_IN_AUTOMATION: '1', TF_INPUT: '0', ...terraformAuthEnv(auth) };
  if (auth.method === 'connection-string' && auth.connectionString) {
    const parts = connectionStringParts(auth.connectionString);
    const accountKey = parts.get('accountkey');
    const sasToken = parts.get('sharedaccesssignature');
    if (accountKey !== undefined) env.ARM_ACCESS_KEY = accountKey;
    if (sasToken !== undefined) env.ARM_SAS_TOKEN = sasToken;
  }
  if (pluginCacheDir) env.TF_PLUGIN_CACHE_DIR = pluginCacheDir;
  return env;
}

/** Accepted "terraform-version" values. */
export const TERRAFORM_VERSION_PATTERN = /^\d+\.\d+\.\d+(-(alpha|beta|rc)\d*)?$/;
export const DEFAULT_TERRAFORM_RELEASES_URL = 'https://releases.hashicorp.com';
export const DEFAULT_TOFU_RELEASES_URL = 'https://github.com/opentofu/opentofu/releases/download';

export interface InstallOptions {
  /** Base URL of the release downloads (an internal mirror); default HashiCorp's or OpenTofu's. */
  releasesUrl?: string;
}

/**
 * The executable to run. Without `version`: `binary` as a path, or found on PATH. With `version`: the
 * tool cache's copy, downloaded once from the releases site with its SHA256SUMS checked.
 */
export async function resolveTerraformBinary(binary: string, version?: string, options: InstallOptions = {}): Promise<string> {
  const name = path.basename(binary).replace(/\.exe$/i, '');
  if (version) {
    if (name !== 'terraform' && name !== 'tofu') {
      throw new ConfigurationError('terraform-version', `is set, but "terraform-binary" is ${JSON.stringify(binary)}, which is neither terraform nor tofu, so there is nothing to download`, 'Set "terraform-binary" to terraform or tofu, or leave "terraform-version" empty to use that binary as is.');
    }
    return installTerraform(name, version, options);
  }
  if (binary.includes('/') || binary.includes('\\')) {
    const absolute = path.resolve(binary);
    try {
      accessSync(absolute, fsConstants.X_OK);
    } catch {
      throw new ConfigurationError('terraform-binary', `is ${JSON.stringify(binary)}, which is not an executable file`, 'Set it to terraform, tofu, or the path of an installed binary.');
    }
    return absolute;
  }
  const io = await import('@actions/io');
  const found = await io.which(binary, false);
  if (!found) {
    throw new GuidedError(
      `"${binary}" is not on PATH`,
      `Add a setup step (hashicorp/setup-terraform or opentofu/setup-opentofu) before this one, or set "terraform-version" to have it downloaded.`,
    );
  }
  return found;
}

function releasePlatform(): { os: string; arch: string } {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const arch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
  return { os: platform, arch };
}

async function installTerraform(name: 'terraform' | 'tofu', version: string, options: InstallOptions): Promise<string> {
  const tc = await import('@actions/tool-cache');
  const { os: platform, arch } = releasePlatform();
  const executable = process.platform === 'win32' ? `${name}.exe` : name;
  const cached = tc.find(name, version, arch);
  if (cached) {
    core.info(`Using ${name} ${version} from the tool cache`);
    return path.join(cached, executable);
  }
  const zipName = `${name}_${version}_${platform}_${arch}.zip`;
  const base = (options.releasesUrl ?? (name === 'terraform' ? DEFAULT_TERRAFORM_RELEASES_URL : DEFAULT_TOFU_RELEASES_URL)).replace(/\/+$/, '');
  const dir = name === 'terraform' ? `${base}/terraform/${version}` : `${base}/v${version}`;
  const sumsName = `${name}_${version}_SHA256SUMS`;
  return core.group(`Installing ${name} ${version}`, async () => {
    core.info(`Downloading ${dir}/${zipName}`);
    let zipPath: string;
    let sumsPath: string;
    try {
      sumsPath = await tc.downloadTool(`${dir}/${sumsName}`);
      zipPath = await withStatusLines(`downloading ${zipName}`, tc.downloadTool(`${dir}/${zipName}`));
    } catch (error) {
      throw new GuidedError(
        `Could not download ${name} ${version} for ${platform}_${arch} from ${dir}: ${errorMessage(error)}`,
        'Check that the version exists and that the runner can reach the releases site (or set the releases URL to a mirror); or install it in an earlier step and leave "terraform-version" empty.',
      );
    }
    const expected = readFileSync(sumsPath, 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find((parts) => parts[1] === zipName)?.[0];
    const actual = await sha256OfFile(zipPath);
    if (!expected) throw new GuidedError(`${sumsName} lists no checksum for ${zipName}`, 'The release may not be built for this platform; pick another version or install it in an earlier step.');
    if (expected.toLowerCase() !== actual) {
      throw new GuidedError(`${zipName} failed its checksum: SHA256SUMS says ${expected}, the download is ${actual}`, 'The download was corrupted or tampered with; re-run the job, and if it persists check the mirror.');
    }
    core.info(`SHA-256 ${actual} matches ${sumsName}`);
    const extracted = await tc.extractZip(zipPath);
    const cachedDir = await tc.cacheDir(extracted, name, version, arch);
    return path.join(cachedDir, executable);
  });
}

// ---------------------------------------------------------------------------------------------------
// Provider plugin cache
// ---------------------------------------------------------------------------------------------------

export interface PluginCacheState {
  directory: string;
  key: string;
  /** False when no cache service is reachable (local runs, GHES without cache): nothing is restored or saved. */
  available: boolean;
  /** The key that was restored, if any; an exact hit needs no save. */
  restoredKey?: string;
}

/** Where providers are cached: under RUNNER_TEMP so the runner cleans it up. */
export function defaultPluginCacheDir(): string {
  return path.join(runnerTemp(), 'terraform-plugin-cache');
}

/**
 * The cache key: OS, architecture, binary, version and a hash of `.terraform.lock.hcl` — or, without a
 * lock file, of the `required_providers` blocks of the module's .tf files.
 */
export function pluginCacheKey(binaryName: string, version: string, workingDirectory: string): string {
  const lockFile = path.join(workingDirectory, '.terraform.lock.hcl');
  const hash = createHash('sha256');
  if (existsSync(lockFile)) hash.update(readFileSync(lockFile));
  else for (const block of requiredProvidersBlocks(workingDirectory)) hash.update(block.replace(/\s+/g, ' '));
  return `${pluginCacheKeyPrefix(binaryName, version)}${hash.digest('hex').slice(0, 32)}`;
}

function pluginCacheKeyPrefix(binaryName: string, version: string): string {
  return `terraform-plugins-${process.env.RUNNER_OS ?? process.platform}-${process.arch}-${binaryName}-${version}-`;
}

/** The `required_providers { ... }` blocks of the .tf files in `directory`, in file-name order. */
export function requiredProvidersBlocks(directory: string): string[] {
  return terraformFiles(directory).flatMap(({ text }) =>
    hclBlocks(text, /required_providers\s*\{/g)
      .filter((block) => block.closed)
      .map((block) => block.text),
  );
}

/**
 * The runner for one root module, initialised with its backend config — the way plan, deploy and
 * destroy all start: the environment of terraformEnvironment(), the provider plugin cache restored
 * before `init` and saved after it succeeds.
 */
export async function initRootModule(options: { binary: string; workingDirectory: string; backendConfigFile: string; auth: AzureAuth }): Promise<Terraform> {
  const pluginCacheDir = defaultPluginCacheDir();
  const terraform = new Terraform({ binary: options.binary, workingDirectory: options.workingDirectory, env: terraformEnvironment(options.auth, pluginCacheDir) });
  const cache = await restorePluginCache({ binaryName: terraform.commandName, version: await terraform.version(), workingDirectory: options.workingDirectory, directory: pluginCacheDir });
  await terraform.init({ backendConfigFile: options.backendConfigFile });
  await savePluginCache(cache);
  return terraform;
}

/** Restores the plugin cache before `init`; a miss or an unavailable service is never an error. */
export async function restorePluginCache(options: { binaryName: string; version: string; workingDirectory: string; directory?: string }): Promise<PluginCacheState> {
  const directory = options.directory ?? defaultPluginCacheDir();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(directory, { recursive: true });
  const key = pluginCacheKey(options.binaryName, options.version, options.workingDirectory);
  const cache = await import('@actions/cache');
  if (!cache.isFeatureAvailable()) {
    core.info('Provider plugin cache: no cache service here (local run?); providers are downloaded by init.');
    return { directory, key, available: false };
  }
  try {
    const restoredKey = await cache.restoreCache([directory], key, [pluginCacheKeyPrefix(options.binaryName, options.version)]);
    core.info(restoredKey ? `Provider plugin cache restored from ${restoredKey}${restoredKey === key ? '' : ' (partial match)'}` : `Provider plugin cache: no entry for ${key} yet`);
    return { directory, key, available: true, restoredKey };
  } catch (error) {
    core.warning(`Provider plugin cache could not be restored (providers will be downloaded): ${errorMessage(error)}`);
    return { directory, key, available: true };
  }
}

/** Saves the plugin cache after a successful `init`, unless it was an exact hit. Never fails the step. */
export async function savePluginCache(state: PluginCacheState): Promise<void> {
  if (!state.available || state.restoredKey === state.key) return;
  if (!existsSync(state.directory) || readdirSync(state.directory).length === 0) return;
  const cache = await import('@actions/cache');
  try {
    await cache.saveCache([state.directory], state.key);
    core.info(`Provider plugin cache saved as ${state.key}`);
  } catch (error) {
    // Another job of the same matrix saving the same key first is normal.
    core.info(`Provider plugin cache not saved: ${errorMessage(error)}`);
  }
}
