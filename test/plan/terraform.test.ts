import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AzureAuth } from '../../src/lib/azure-auth.js';
import { ConfigurationError, GuidedError } from '../../src/lib/errors.js';
import { registerSecret, resetSecretsForTesting } from '../../src/lib/mask.js';
import {
  StateLockError,
  Terraform,
  TerraformCommandError,
  annotateDiagnostics,
  parseStateLock,
  pluginCacheKey,
  resolveTerraformBinary,
  restorePluginCache,
  savePluginCache,
  terraformEnvironment,
} from '../../src/lib/terraform.js';
import { FIXTURES_DIR } from '../support/azure-stand-in.js';
import { FAKE_TERRAFORM, installFakeTerraform, type FakeTerraform } from '../support/fake-terraform.js';
import { testTlsOptions } from '../support/tls.js';
import { captureStdout } from './capture.js';

const OIDC_AUTH: AzureAuth = {
  method: 'oidc',
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-3333-4444-555555555555',
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  armEndpoint: 'https://management.azure.com',
};

let fake: FakeTerraform;
let moduleDir: string;
const savedEnv = { ...process.env };

function terraformFor(extraEnv: Record<string, string> = {}, binary = path.join(fake.binDir, 'terraform')): Terraform {
  return new Terraform({ binary, workingDirectory: moduleDir, env: { ...terraformEnvironment(OIDC_AUTH), FAKE_TF_CALLS: fake.callsFile, ...extraEnv } });
}

beforeEach(() => {
  fake = installFakeTerraform();
  moduleDir = mkdtempSync(path.join(tmpdir(), 'tf-module-'));
  writeFileSync(path.join(moduleDir, 'main.tf'), 'terraform {}\n');
  mkdirSync(path.join(moduleDir, '.terraform')); // "initialised"
  resetSecretsForTesting();
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

describe('Terraform runner: plan and -detailed-exitcode', () => {
  it('exit 2 is "changes", with the exit code kept as Terraform gave it', async () => {
    const { value, stdout } = await captureStdout(() => terraformFor({ FAKE_TF_PLAN: 'basic-create' }).plan({ out: 'tfplan' }));
    expect(value).toMatchObject({ exitCode: 2, hasChanges: true });
    expect(value!.stdout).toContain('Plan: 3 to add, 0 to change, 0 to destroy.');
    expect(stdout).toContain('::group::terraform plan');
    expect(stdout).toContain('terraform plan exited with code 2');
  });

  it('exit 0 is "no changes"', async () => {
    const { value } = await captureStdout(() => terraformFor({ FAKE_TF_PLAN: 'basic-update' }).plan({ out: 'tfplan' }));
    expect(value).toMatchObject({ exitCode: 0, hasChanges: false });
  });

  it('exit 1 throws a TerraformCommandError carrying Terraform\'s own error text and the exit code', async () => {
    const { error } = await captureStdout(() => terraformFor({ FAKE_TF_PLAN_EXIT: '1' }).plan({ out: 'tfplan' }));
    expect(error).toBeInstanceOf(TerraformCommandError);
    expect(error).not.toBeInstanceOf(StateLockError);
    const failure = error as TerraformCommandError;
    expect(failure.result.exitCode).toBe(1);
    expect(failure.message).toContain('terraform plan failed with exit code 1');
    expect(failure.guidance).toContain('Error: Invalid reference');
    expect(failure.guidance).toContain('A local value with the name "missing" has not been declared.');
    expect(failure.guidance).not.toContain('│'); // the frame is removed
  });

  it('passes -out, -destroy, var files (absolute) and -var pairs, but never prints variable values', async () => {
    writeFileSync(path.join(moduleDir, 'dev.tfvars'), 'location = "westeurope"\n');
    const { value, stdout } = await captureStdout(() =>
      terraformFor().plan({ out: 'tfplan', destroy: true, varFiles: ['dev.tfvars'], variables: { admin_password: 'hunter2-not-registered', location: 'westeurope' } }),
    );
    expect(value!.exitCode).toBe(2);
    const call = fake.calls().find((c) => c.command === 'plan')!;
    expect(call.argv).toEqual(expect.arrayContaining(['-destroy', '-detailed-exitcode', '-input=false', `-out=${path.join(moduleDir, 'tfplan')}`, `-var-file=${path.join(moduleDir, 'dev.tfvars')}`, '-var', 'admin_password=hunter2-not-registered']));
    expect(stdout).toContain('-var admin_password=… -var location=…');
    expect(stdout).not.toContain('hunter2-not-registered');
  });

  it('runs with TF_IN_AUTOMATION, TF_INPUT=0, the OIDC ARM_* variables and the plugin cache directory', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'plugins-'));
    const terraform = new Terraform({ binary: path.join(fake.binDir, 'terraform'), workingDirectory: moduleDir, env: { ...terraformEnvironment(OIDC_AUTH, cacheDir), FAKE_TF_CALLS: fake.callsFile } });
    await captureStdout(() => terraform.init({ backendConfigFile: path.join(moduleDir, 'main.tf') }));
    const { value } = await captureStdout(() => terraform.init({ backendConfigFile: path.join(moduleDir, 'main.tf') }));
    expect(fake.calls()[0]!.env).toMatchObject({
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      ARM_USE_OIDC: 'true',
      ARM_CLIENT_ID: OIDC_AUTH.clientId,
      ARM_TENANT_ID: OIDC_AUTH.tenantId,
      ARM_SUBSCRIPTION_ID: OIDC_AUTH.subscriptionId,
      TF_PLUGIN_CACHE_DIR: cacheDir,
    });
    // The second init finds the provider in the cache instead of downloading it.
    expect(value!.stdout).toContain('from the shared cache directory');
    expect(value!.stdout).not.toContain('Installing hashicorp/azurerm');
  });

  it('gives Terraform\'s backend the account key of a connection string, never the whole string', () => {
    const env = terraformEnvironment({ method: 'connection-string', connectionString: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5a2V5a2V5;EndpointSuffix=core.windows.net', armEndpoint: 'https://management.azure.com' });
    expect(env).toEqual({ TF_IN_AUTOMATION: '1', TF_INPUT: '0', ARM_ACCESS_KEY: 'a2V5a2V5a2V5' });
    expect(terraformEnvironment({ method: 'connection-string', connectionString: 'BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2024&sig=abc', armEndpoint: 'x' }).ARM_SAS_TOKEN).toBe('sv=2024&sig=abc');
  });
});

describe('Terraform runner: streaming', () => {
  it('streams live inside stop-commands, so output cannot issue workflow commands, and scrubs secrets', async () => {
    registerSecret('sekrit-value-123');
    const say = 'injected\n::set-output name=has-changes::false\n::add-mask::nothing\npassword is sekrit-value-123';
    const { value, stdout } = await captureStdout(() => terraformFor({ FAKE_TF_PLAN_SAY: say }).plan({ out: 'tfplan' }));
    const start = /::stop-commands::([0-9a-f-]{36})\n/.exec(stdout);
    expect(start).not.toBeNull();
    const end = stdout.indexOf(`::${start![1]}::`);
    expect(end).toBeGreaterThan(start!.index);
    const injected = stdout.indexOf('::set-output name=has-changes::false');
    expect(injected).toBeGreaterThan(start!.index);
    expect(injected).toBeLessThan(end);
    expect(stdout).toContain('password is ***');
    expect(stdout).not.toContain('sekrit-value-123');
    // What the caller gets back is Terraform's output untouched.
    expect(value!.stdout).toContain('password is sekrit-value-123');
  });

  it('prints a status line while a command runs long', async () => {
    const terraform = new Terraform({ binary: path.join(fake.binDir, 'terraform'), workingDirectory: moduleDir, env: { FAKE_TF_SLEEP_MS: '400' }, statusIntervalMs: 100 });
    const { stdout } = await captureStdout(() => terraform.plan({ out: 'tfplan' }));
    expect(stdout.match(/still running terraform plan/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('does not echo show -json and output -json, whose values Terraform does not redact', async () => {
    const terraform = terraformFor({ FAKE_TF_PLAN: 'sensitive-values' });
    await captureStdout(() => terraform.plan({ out: 'tfplan' }));
    const { value: json, stdout } = await captureStdout(() => terraform.showJson('tfplan'));
    expect(JSON.parse(json!)).toEqual(JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'terraform-show-json/sensitive-values.json'), 'utf8')));
    expect(stdout).not.toContain('boop');
    await captureStdout(() => terraform.apply('tfplan'));
    const { value: outputs, stdout: outputLog } = await captureStdout(() => terraform.outputs());
    expect(outputs).toEqual({ test: { sensitive: true, type: 'string', value: 'boop' } });
    expect(outputLog).not.toContain('boop');
  });

  it('reports a missing executable as a GuidedError', async () => {
    const { error } = await captureStdout(() => terraformFor({}, path.join(fake.binDir, 'no-such-terraform')).plan({ out: 'tfplan' }));
    expect(error).toBeInstanceOf(GuidedError);
    expect((error as GuidedError).message).toContain('no such executable');
  });
});

describe('state locks', () => {
  it('turns a held lock into a StateLockError with id, holder, operation, age and the exact unlock command', async () => {
    const created = new Date(Date.now() - 3 * 3600_000 - 5 * 60_000);
    const createdText = `${created.toISOString().replace('T', ' ').replace(/\.(\d{3})Z$/, '.$1000000')} +0000 UTC`;
    const lock = { ID: '9db590f1-b6fe-c5f2-2678-8804f089deba', Who: 'runner@fv-az42-1', Operation: 'OperationTypeApply', Created: createdText };
    const { error } = await captureStdout(() => terraformFor({ FAKE_TF_LOCK: JSON.stringify(lock) }).plan({ out: 'tfplan' }));
    expect(error).toBeInstanceOf(StateLockError);
    const lockError = error as StateLockError;
    expect(lockError.lock).toMatchObject({ id: lock.ID, who: 'runner@fv-az42-1', operation: 'OperationTypeApply', path: 'tfstate/bakery/dev.terraform.tfstate', version: '1.9.8' });
    expect(lockError.lock.ageMs! / 60_000).toBeCloseTo(185, 0);
    expect(lockError.message).toContain('the state is locked by another run (lock 9db590f1-b6fe-c5f2-2678-8804f089deba)');
    expect(lockError.guidance).toContain('Held by:   runner@fv-az42-1 running apply with Terraform 1.9.8');
    expect(lockError.guidance).toContain('(3 hours ago)');
    expect(lockError.guidance).toContain('terraform force-unlock -force 9db590f1-b6fe-c5f2-2678-8804f089deba');
  });

  it('plans past a held lock with lock: false (-lock=false), and takes the lock by default', async () => {
    const { value, stdout, error } = await captureStdout(() => terraformFor({ FAKE_TF_LOCK: '1' }).plan({ out: 'tfplan', lock: false }));
    expect(error).toBeUndefined();
    expect(value).toMatchObject({ exitCode: 2, hasChanges: true });
    expect(fake.calls().find((c) => c.command === 'plan')!.argv).toContain('-lock=false');
    expect(stdout).toContain('::group::terraform plan -lock=false');

    const locked = await captureStdout(() => terraformFor({ FAKE_TF_LOCK: '1' }).plan({ out: 'tfplan', lock: true }));
    expect(locked.error).toBeInstanceOf(StateLockError);
    expect(fake.calls().filter((c) => c.command === 'plan')[1]!.argv.some((arg) => arg.startsWith('-lock'))).toBe(false);
  });

  it('names the OpenTofu command when the binary is tofu', async () => {
    const { error } = await captureStdout(() => terraformFor({ FAKE_TF_LOCK: '1' }, path.join(fake.binDir, 'tofu')).apply('tfplan'));
    expect((error as StateLockError).lock.forceUnlockCommand).toBe('tofu force-unlock -force b5e5d1a4-6f1e-2c3b-9d8e-7f6a5b4c3d2e');
  });

  it('reads the unframed, coloured form of older Terraform versions', () => {
    const output = [
      '\x1b[31mError locking state: Error acquiring the state lock: storage: service returned error: StatusCode=409, ErrorCode=LeaseAlreadyPresent',
      'Lock Info:',
      '  ID:        69592de7-6132-c863-ae53-976776ffe6cf',
      '  Path:      tfstate/terraform.tfstate',
      '  Operation: OperationTypePlan',
      '  Who:       @d701fcddc381',
      '  Version:   0.11.13',
      '  Created:   2019-05-09 16:01:50.027392879 +0000 UTC',
      '  Info:\x1b[0m',
    ].join('\n');
    const lock = parseStateLock(output, 'terraform', new Date('2019-05-09T18:01:50.027Z'));
    expect(lock).toMatchObject({ id: '69592de7-6132-c863-ae53-976776ffe6cf', operation: 'OperationTypePlan', who: '@d701fcddc381', version: '0.11.13', ageMs: 2 * 3600_000 });
  });

  it('finds no lock in other errors', () => {
    expect(parseStateLock('Error: Invalid reference\n\nA managed resource "x" "y" has not been declared.')).toBeUndefined();
    expect(parseStateLock('Error: Error acquiring the state lock\n\nstorage: connection refused')).toBeUndefined();
  });
});

describe('validate diagnostics', () => {
  it('reads validate -json and annotates each diagnostic on its file and line, relative to the repository', async () => {
    process.env.GITHUB_WORKSPACE = path.dirname(moduleDir);
    const diagnostics = [
      { severity: 'error', summary: 'Unsupported argument', detail: 'An argument named "nodes" is not expected here.', range: { filename: 'main.tf', start: { line: 3, column: 3, byte: 20 }, end: { line: 3, column: 8, byte: 25 } } },
      { severity: 'warning', summary: 'Deprecated attribute', detail: 'Use "node_count" instead.', range: { filename: 'modules/aks/variables.tf', start: { line: 10, column: 1, byte: 0 }, end: { line: 12, column: 2, byte: 40 } } },
      { severity: 'error', summary: 'No configuration files' },
    ];
    const terraform = terraformFor({ FAKE_TF_VALIDATE: JSON.stringify(diagnostics) });
    const { value: result } = await captureStdout(() => terraform.validate());
    expect(result).toMatchObject({ valid: false, errorCount: 2, warningCount: 1 });
    const { stdout } = await captureStdout(async () => annotateDiagnostics(result!.diagnostics, moduleDir));
    const relative = path.basename(moduleDir);
    expect(stdout).toContain(`::error title=terraform validate%3A Unsupported argument,file=${relative}/main.tf,line=3,endLine=3,col=3,endColumn=8::Unsupported argument: An argument named "nodes" is not expected here.`);
    expect(stdout).toContain(`::warning title=terraform validate%3A Deprecated attribute,file=${relative}/modules/aks/variables.tf,line=10,endLine=12::Deprecated attribute: Use "node_count" instead.`);
    expect(stdout).toContain('::error title=terraform validate%3A No configuration files::No configuration files');
  });

  it('a valid configuration is valid', async () => {
    const { value } = await captureStdout(() => terraformFor().validate());
    expect(value).toEqual({ valid: true, errorCount: 0, warningCount: 0, diagnostics: [] });
  });
});

describe('finding and installing Terraform', () => {
  let mirror: Server;
  let mirrorUrl: string;
  const files = new Map<string, Buffer>();

  /** A zip archive with one stored (uncompressed) file, as `unzip` reads it. */
  function zipOf(name: string, content: Buffer): Buffer {
    const nameBytes = Buffer.from(name);
    const crc = crc32(content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(content.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by Unix, so the mode below counts
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(content.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE((0o100755 << 16) >>> 0, 38);
    const localSize = local.length + nameBytes.length + content.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(central.length + nameBytes.length, 12);
    end.writeUInt32LE(localSize, 16);
    return Buffer.concat([local, nameBytes, content, central, nameBytes, end]);
  }

  beforeAll(async () => {
    mirror = createServer(testTlsOptions(), (req, res) => {
      const body = files.get(req.url ?? '');
      res.writeHead(body ? 200 : 404).end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
    mirrorUrl = `https://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => mirror.close(() => resolve())));

  function publish(version: string, checksumOverride?: string): void {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const zipName = `terraform_${version}_${process.platform}_${arch}.zip`;
    const zip = zipOf('terraform', readFileSync(FAKE_TERRAFORM));
    const sha = checksumOverride ?? createHash('sha256').update(zip).digest('hex');
    files.set(`/terraform/${version}/${zipName}`, zip);
    files.set(`/terraform/${version}/terraform_${version}_SHA256SUMS`, Buffer.from(`${'0'.repeat(64)}  terraform_${version}_windows_amd64.zip\n${sha}  ${zipName}\n`));
  }

  function useToolCache(): void {
    const root = mkdtempSync(path.join(tmpdir(), 'toolcache-'));
    process.env.RUNNER_TOOL_CACHE = path.join(root, 'cache');
    process.env.RUNNER_TEMP = path.join(root, 'temp');
  }

  it('downloads a version from the releases site, checks its SHA256SUMS, caches it, and it runs', async () => {
    useToolCache();
    publish('1.9.8');
    const { value: binary, error } = await captureStdout(() => resolveTerraformBinary('terraform', '1.9.8', { releasesUrl: mirrorUrl }));
    expect(error).toBeUndefined();
    expect(binary).toBe(path.join(process.env.RUNNER_TOOL_CACHE!, 'terraform', '1.9.8', process.arch === 'x64' ? 'amd64' : process.arch, 'terraform'));
    const { value: version } = await captureStdout(() => new Terraform({ binary: binary!, workingDirectory: moduleDir, env: { FAKE_TF_VERSION: '1.9.8' } }).version());
    expect(version).toBe('1.9.8');
    // A second resolve is served from the tool cache: no download.
    files.clear();
    const { value: again } = await captureStdout(() => resolveTerraformBinary('terraform', '1.9.8', { releasesUrl: mirrorUrl }));
    expect(again).toBe(binary);
  });

  it('refuses a download whose checksum does not match SHA256SUMS', async () => {
    useToolCache();
    publish('1.10.0', 'f'.repeat(64));
    const { error } = await captureStdout(() => resolveTerraformBinary('terraform', '1.10.0', { releasesUrl: mirrorUrl }));
    expect(error).toBeInstanceOf(GuidedError);
    expect((error as Error).message).toMatch(/failed its checksum: SHA256SUMS says f{64}, the download is [0-9a-f]{64}/);
  });

  it('reports a version the site does not have', async () => {
    useToolCache();
    const { error } = await captureStdout(() => resolveTerraformBinary('terraform', '0.0.1', { releasesUrl: mirrorUrl }));
    expect(error).toBeInstanceOf(GuidedError);
    expect((error as Error).message).toContain('Could not download terraform 0.0.1');
  });

  it('finds the binary on PATH, accepts an executable path, and rejects a path that is not executable', async () => {
    process.env.PATH = fake.path;
    expect(await resolveTerraformBinary('tofu')).toBe(path.join(fake.binDir, 'tofu'));
    expect(await resolveTerraformBinary(FAKE_TERRAFORM)).toBe(FAKE_TERRAFORM);
    const notExecutable = path.join(moduleDir, 'terraform');
    writeFileSync(notExecutable, '');
    chmodSync(notExecutable, 0o644);
    await expect(resolveTerraformBinary(notExecutable)).rejects.toThrow(ConfigurationError);
    await expect(resolveTerraformBinary('terraform-not-installed-anywhere')).rejects.toThrow(/is not on PATH/);
    await expect(resolveTerraformBinary('./my-wrapper', '1.9.8')).rejects.toThrow(/neither terraform nor tofu/);
  });
});

describe('provider plugin cache', () => {
  it('keys on the lock file when there is one, else on the required_providers blocks only', () => {
    writeFileSync(path.join(moduleDir, 'versions.tf'), 'terraform {\n  required_providers {\n    azurerm = { source = "hashicorp/azurerm", version = "~> 4.14" }\n  }\n}\n');
    const fromBlocks = pluginCacheKey('terraform', '1.9.8', moduleDir);
    expect(fromBlocks).toMatch(/^terraform-plugins-.+-terraform-1\.9\.8-[0-9a-f]{32}$/);
    writeFileSync(path.join(moduleDir, 'main.tf'), 'resource "azurerm_resource_group" "rg" {}\n');
    expect(pluginCacheKey('terraform', '1.9.8', moduleDir)).toBe(fromBlocks);
    writeFileSync(path.join(moduleDir, 'versions.tf'), 'terraform {\n  required_providers {\n    azurerm = { source = "hashicorp/azurerm", version = "~> 4.20" }\n  }\n}\n');
    const changed = pluginCacheKey('terraform', '1.9.8', moduleDir);
    expect(changed).not.toBe(fromBlocks);
    expect(pluginCacheKey('terraform', '1.10.0', moduleDir)).not.toBe(changed);
    writeFileSync(path.join(moduleDir, '.terraform.lock.hcl'), 'provider "registry.terraform.io/hashicorp/azurerm" {\n  version = "4.14.0"\n}\n');
    const fromLock = pluginCacheKey('terraform', '1.9.8', moduleDir);
    expect(fromLock).not.toBe(changed);
    writeFileSync(path.join(moduleDir, 'versions.tf'), 'terraform {}\n');
    expect(pluginCacheKey('terraform', '1.9.8', moduleDir)).toBe(fromLock);
  });

  it('skips restore and save cleanly when no cache service is reachable', async () => {
    delete process.env.ACTIONS_CACHE_URL;
    delete process.env.ACTIONS_RESULTS_URL;
    const directory = path.join(mkdtempSync(path.join(tmpdir(), 'plugin-cache-')), 'cache');
    const { value: state, stdout } = await captureStdout(() => restorePluginCache({ binaryName: 'terraform', version: '1.9.8', workingDirectory: moduleDir, directory }));
    expect(state).toMatchObject({ directory, available: false });
    expect(stdout).toContain('no cache service here');
    const { error } = await captureStdout(() => savePluginCache(state!));
    expect(error).toBeUndefined();
  });
});
