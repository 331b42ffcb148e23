import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureStandIn } from '../support/azure-stand-in.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { startAcr, type AcrStandIn } from '../support/arm-acr.js';
import { runDist, type DistRun } from '../support/run-dist.js';

// The built dist/build-image, run as a runner runs it: mode acr-task against the ARM stand-in's ACR
// routes with Azurite as the registry's storage; mode docker with a fake `docker` on PATH.

const SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e'; // runDist's GITHUB_SHA

let azure: AzureStandIn;
let azurite: Azurite;
let acr: AcrStandIn;

beforeAll(async () => {
  azure = await new AzureStandIn().start();
  azurite = await startAzurite();
  acr = await startAcr(azure, azurite, { resourceGroup: 'rg-bakery-dev', name: 'bakeryacr' });
});

afterAll(async () => {
  await Promise.all([azure?.stop(), acr?.stop(), azurite?.stop()]);
});

/** A repository checkout with a Bakery-like image directory and a .dockerignore worth testing. */
function makeWorkspace(dockerfile = 'FROM python:3.12-slim\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\nUSER 1000:1000\n'): string {
  const root = mkdtempSync(path.join(tmpdir(), 'build-image-ws-'));
  const files: Record<string, string> = {
    'docker/bakery/Dockerfile': dockerfile,
    'docker/bakery/requirements.txt': 'prefect==3.4.0\n',
    'docker/bakery/README.md': '# excluded: *.md matches at the context root only\n',
    'docker/bakery/docs/guide.md': 'kept: *.md does not reach into docs/\n',
    'docker/bakery/.venv/bin/python': 'excluded directory\n',
    'docker/bakery/cache/blob.bin': 'excluded directory\n',
    'docker/bakery/cache/keep.txt': 're-included by an exception\n',
    'docker/bakery/src/flow.pyc': 'excluded at any depth by **\n',
    'docker/bakery/src/flow.py': 'print("hello")\n',
    'docker/bakery/.dockerignore': '# Bakery context\n*.md\n.venv/\n/cache\n!cache/keep.txt\n**/*.pyc\n',
  };
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
}

function authEnv(): Record<string, string> {
  return azure.authEnv('oidc');
}

function visible(text: string): string {
  return text.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n');
}

function runBuild(workspace: string, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<DistRun> {
  return runDist('build-image', {
    cwd: workspace,
    inputs: { 'registry-name': 'bakeryacr', 'resource-group': 'rg-bakery-dev', 'image-name': 'bakery/worker', context: 'docker/bakery', ...inputs },
    env: { ...authEnv(), ...env },
  });
}

describe('build-image, mode acr-task', () => {
  let run: DistRun;
  let workspace: string;

  beforeAll(async () => {
    workspace = makeWorkspace();
    run = await runBuild(workspace, { tags: 'latest, dev', 'build-args': 'PREFECT_VERSION=3.4.0\nPYTHON_VERSION=3.12', platform: 'linux/arm64' });
  });

  it('uploads the context as .dockerignore leaves it, as Docker would send it', () => {
    expect(run.exitCode).toBe(0);
    expect(acr.runEntries()[0]).toEqual(['.dockerignore', 'Dockerfile', 'cache/keep.txt', 'docs/guide.md', 'requirements.txt', 'src/flow.py']);
    expect(run.stdout).toContain('6 files (4 left out by .dockerignore)');
    expect(run.stdout).not.toContain("Terraform's working files");
  });

  it("sends Terraform's working files as Docker would, but warns with the .dockerignore fix", async () => {
    const withTerraform = makeWorkspace();
    for (const [file, content] of Object.entries({ 'docker/bakery/infra/.terraform/terraform.tfstate': '{"version":3,"backend":{"type":"azurerm"}}\n', 'docker/bakery/infra/terraform.tfstate': '{"outputs":{}}\n' })) {
      mkdirSync(path.dirname(path.join(withTerraform, file)), { recursive: true });
      writeFileSync(path.join(withTerraform, file), content);
    }
    const builds = acr.scheduled.length;
    const warned = await runBuild(withTerraform, {});
    expect(warned.exitCode).toBe(0);
    expect(acr.runEntries()[builds]).toEqual(expect.arrayContaining(['infra/.terraform/terraform.tfstate', 'infra/terraform.tfstate']));
    expect(warned.stdout).toMatch(/^::warning::The build context holds Terraform's working files \(infra\/\.terraform\/, infra\/terraform\.tfstate\).*Add "\*\*\/\.terraform" and "\*\*\/\*\.tfstate\*" to the \.dockerignore/m);
  });

  it('schedules a DockerBuildRequest with the commit SHA and extra tags, the build args and the platform', () => {
    const request = acr.scheduled[0]!;
    expect(request).toMatchObject({
      type: 'DockerBuildRequest',
      imageNames: [`bakery/worker:${SHA}`, 'bakery/worker:latest', 'bakery/worker:dev'],
      isPushEnabled: true,
      dockerFilePath: 'Dockerfile',
      platform: { os: 'Linux', architecture: 'arm64', variant: 'v8' },
      arguments: [
        { name: 'PREFECT_VERSION', value: '3.4.0', isSecret: false },
        { name: 'PYTHON_VERSION', value: '3.12', isSecret: false },
      ],
      timeout: 3600,
    });
    expect(request.sourceLocation).toMatch(/^source\/\d{12}\/[0-9a-f-]{36}\.tar\.gz$/);
  });

  it('streams the remote build log and prints progress', () => {
    const out = visible(run.stdout);
    expect(out).toContain('Run cb1 queued; following its log.');
    expect(out).toContain('Step 1/4 : FROM python:3.12-slim');
    expect(out).toContain(`Successfully pushed image: ${acr.loginServer}/bakery/worker:${SHA}`);
    expect(out).toMatch(/Run cb1: Running/);
    expect(out).toMatch(/Run cb1: Succeeded after/);
    // Each log line once, although the log blob was read while it grew.
    expect(out.split('Step 1/4 : FROM python:3.12-slim').length).toBe(2);
  });

  it('outputs the image pinned by the digest ACR reported, and the tags', () => {
    const digest = [...acr.runs.values()][0]!.digest;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.outputs.digest).toBe(digest);
    expect(run.outputs.image).toBe(`${acr.loginServer}/bakery/worker@${digest}`);
    expect(run.outputs.tags!.split('\n')).toEqual([`${acr.loginServer}/bakery/worker:${SHA}`, `${acr.loginServer}/bakery/worker:latest`, `${acr.loginServer}/bakery/worker:dev`]);
    expect(run.outputs['run-id']).toBe('cb1');
    expect(run.summary).toContain(run.outputs.image);
  });

  it('keeps the SAS URLs (upload and log) out of the log', () => {
    expect(visible(run.stdout)).not.toMatch(/sig=/);
    expect(run.stdout).toMatch(/::add-mask::http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/source\/.*sig=/);
  });

  it('fails with the failing step from the build log when the build fails', async () => {
    const failing = await runBuild(makeWorkspace('FROM python:3.12-slim\nRUN exit 1\n'), {});
    expect(failing.exitCode).toBe(1);
    expect(failing.stdout).toContain("The command '/bin/sh -c exit 1' returned a non-zero code: 1");
    expect(failing.stdout).toMatch(/::error::build-image: ACR Tasks run cb\w+ ended Failed: failed during run, err: exit status 1/);
    expect(failing.outputs.image).toBeUndefined();
  });

  it('names the registry and resource group when the registry does not exist', async () => {
    const missing = await runBuild(makeWorkspace(), { 'registry-name': 'otheracr' });
    expect(missing.exitCode).toBe(1);
    expect(missing.stdout).toMatch(/Azure found no registry "otheracr" in resource group "rg-bakery-dev"/);
  });
});

/** A `docker` that checks the arguments build-image passes and behaves like buildx --metadata-file. */
function installFakeDocker(): { dir: string; log: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-docker-'));
  const log = path.join(dir, 'calls.jsonl');
  const script = String.raw`#!/usr/bin/env node
const fs = require('fs');
const crypto = require('crypto');
const args = process.argv.slice(2);
const stdin = args[0] === 'login' ? fs.readFileSync(0, 'utf8') : '';
fs.appendFileSync(process.env.FAKE_DOCKER_LOG, JSON.stringify({ args, stdin }) + '\n');
const fail = (message) => { console.error('fake docker: ' + message); process.exit(125); };
const value = (flag) => { const i = args.indexOf(flag); return i >= 0 ? args[i + 1] : undefined; };
if (args[0] === 'login') {
  if (!args.includes('--password-stdin') || !stdin) fail('login needs --password-stdin and a password on stdin');
  console.log('Login Succeeded');
} else if (args[0] === 'logout') {
  console.log('Removing login credentials for ' + args[1]);
} else if (args[0] === 'buildx' && args[1] === 'build') {
  if (!args.includes('--push')) fail('--push missing');
  if (!/^type=gha(,|$)/.test(value('--cache-from') || '')) fail('--cache-from type=gha missing');
  if (!/^type=gha,mode=max(,|$)/.test(value('--cache-to') || '')) fail('--cache-to type=gha,mode=max missing');
  const metadataFile = value('--metadata-file');
  if (!metadataFile) fail('--metadata-file missing');
  if (!fs.existsSync(value('--file') || '')) fail('Dockerfile ' + value('--file') + ' not found');
  const context = args[args.length - 1];
  if (!fs.statSync(context).isDirectory()) fail('context ' + context + ' is not a directory');
  const tags = args.filter((arg, i) => args[i - 1] === '--tag');
  console.log('#0 building with "builder" instance using docker-container driver');
  console.log('#1 [internal] load build definition from Dockerfile');
  const digest = 'sha256:' + crypto.createHash('sha256').update(tags.join(',')).digest('hex');
  console.log('#9 pushing manifest for ' + tags[0] + '@' + digest + ' done');
  fs.writeFileSync(metadataFile, JSON.stringify({
    'buildx.build.ref': 'builder/builder0/q9w8e7r6t5y4',
    'containerimage.descriptor': { mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: 856 },
    'containerimage.digest': digest,
    'image.name': tags.join(','),
  }));
} else fail('unexpected command: ' + args.join(' '));
`;
  writeFileSync(path.join(dir, 'docker'), script);
  chmodSync(path.join(dir, 'docker'), 0o755);
  return { dir, log };
}

describe('build-image, mode docker', () => {
  it('logs docker in with an ACR token, runs buildx with the GitHub Actions cache, reads the digest, logs out', async () => {
    const docker = installFakeDocker();
    const workspace = makeWorkspace();
    const run = await runBuild(
      workspace,
      { mode: 'docker', 'registry-login-server': acr.loginServer, tags: 'latest', 'build-args': 'PREFECT_VERSION=3.4.0', target: 'runtime' },
      { PATH: `${docker.dir}${path.delimiter}${process.env.PATH}`, FAKE_DOCKER_LOG: docker.log },
    );
    expect(run.stderr).not.toContain('fake docker:');
    expect(run.exitCode).toBe(0);
    const calls = readFileSync(docker.log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { args: string[]; stdin: string });
    expect(calls.map((call) => call.args[0])).toEqual(['login', 'buildx', 'logout']);
    expect(calls[0]!.args).toEqual(['login', acr.loginServer, '--username', '00000000-0000-0000-0000-000000000000', '--password-stdin']);
    expect(acr.refreshTokens.has(calls[0]!.stdin)).toBe(true);
    expect(visible(run.stdout)).not.toContain(calls[0]!.stdin);
    const build = calls[1]!.args;
    expect(build.slice(0, 4)).toEqual(['buildx', 'build', '--push', '--platform']);
    expect(build).toEqual(expect.arrayContaining([
      '--tag', `${acr.loginServer}/bakery/worker:${SHA}`,
      '--build-arg', 'PREFECT_VERSION=3.4.0',
      '--target', 'runtime',
      '--cache-from', 'type=gha,scope=bakery-worker',
      '--cache-to', 'type=gha,mode=max,scope=bakery-worker',
    ]));
    expect(build.at(-1)).toBe(path.join(workspace, 'docker/bakery'));
    expect(calls[2]!.args).toEqual(['logout', acr.loginServer]);
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.outputs.image).toBe(`${acr.loginServer}/bakery/worker@${run.outputs.digest}`);
    expect(run.stdout).not.toContain("Terraform's working files");
  });

  it("warns about Terraform's working files in the context as mode acr-task does", async () => {
    const docker = installFakeDocker();
    const workspace = makeWorkspace();
    mkdirSync(path.join(workspace, 'docker/bakery/.terraform'), { recursive: true });
    writeFileSync(path.join(workspace, 'docker/bakery/.terraform/terraform.tfstate'), '{"version":3}\n');
    const run = await runBuild(workspace, { mode: 'docker', 'registry-login-server': acr.loginServer }, { PATH: `${docker.dir}${path.delimiter}${process.env.PATH}`, FAKE_DOCKER_LOG: docker.log });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^::warning::The build context holds Terraform's working files \(\.terraform\/\)/m);
  });

  it('says what to do when docker is not on PATH', async () => {
    const emptyDir = mkdtempSync(path.join(tmpdir(), 'no-docker-'));
    const run = await runBuild(makeWorkspace(), { mode: 'docker', 'registry-login-server': acr.loginServer }, { PATH: emptyDir });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/mode "docker" needs the docker CLI, and none is on PATH.*Use mode "acr-task"/s);
  });
});

describe('build-image input errors, before any side effect', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['registry-name missing in acr-task mode', { 'registry-name': '' }, /Input "registry-name" is required with mode "acr-task"/],
    ['registry-name with a domain', { 'registry-name': 'bakeryacr.azurecr.io' }, /Input "registry-name" is "bakeryacr\.azurecr\.io", which is not 5–50 letters or digits/],
    ['uppercase image name', { 'image-name': 'Bakery/Worker' }, /Input "image-name" is "Bakery\/Worker", which is not a lowercase repository name/],
    ['context that does not exist', { context: 'docker/nowhere' }, /Input "context" is "docker\/nowhere", which is not a directory in the workspace/],
    ['Dockerfile outside the context', { dockerfile: 'docker/bakery/Dockerfile', context: 'docker/bakery/src' }, /Input "dockerfile" is outside the build context "docker\/bakery\/src"/],
    ['missing Dockerfile', { dockerfile: 'docker/bakery/Containerfile' }, /Input "dockerfile" is "docker\/bakery\/Containerfile", which does not exist/],
    ['invalid tag', { tags: 'latest, -bad' }, /Input "tags" holds "-bad", which is not a valid image tag/],
    ['unsupported platform', { platform: 'windows/amd64' }, /Input "platform" is "windows\/amd64", which is not a platform this action builds/],
    ['bad build-arg name', { 'build-args': '1VERSION=3' }, /Input "build-args" line 1 has the name "1VERSION", which is not a build argument name/],
    ['timeout too short', { timeout: '1m' }, /Input "timeout" is 1m, outside the accepted range/],
    ['unknown mode', { mode: 'kaniko' }, /Input "mode" is "kaniko", which is not one of the accepted values/],
  ];
  for (const [name, inputs, message] of cases) {
    it(name, async () => {
      const armBefore = azure.armRequests().length;
      const run = await runBuild(makeWorkspace(), inputs);
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toMatch(message);
      expect(azure.armRequests().length).toBe(armBefore);
      expect(run.durationMs).toBeLessThan(5000);
    });
  }
});
