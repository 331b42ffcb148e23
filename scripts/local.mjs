#!/usr/bin/env node
// `npm run local`: runs the suite's actions on this machine against an embedded Azurite (Azure Blob
// storage emulator, an npm dev dependency) — no Azure account, no GitHub. Each step runs a built action
// (dist/<action>/index.js) exactly as a runner does: INPUT_* variables, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, workflow commands rendered (masks applied, ::debug:: hidden).
//
//   npm run local [-- --environment dev] [--debug] [--keep]
//
// Steps are a list below; a phase that can run locally adds itself there, reading earlier steps'
// outputs from `context.outputs[<action>]`. What the run made stays in .tmp/local/ (backend file,
// step summaries); --keep leaves Azurite running until Ctrl-C so you can look at the containers.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const { values: options } = parseArgs({
  options: {
    environment: { type: 'string', default: 'dev' },
    debug: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

/** Azurite's documented development account: public, the same on every machine, not a secret. */
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * The steps, in order. `inputs(context)` gives the action's inputs; `show(outputs, context)` returns
 * lines saying what the step made.
 */
const steps = [
  {
    action: 'setup-remote-state',
    title: 'Terraform remote state (auth: connection-string against Azurite)',
    inputs: (context) => ({
      identifier: 'local',
      environment: context.environment,
      auth: 'connection-string',
      'connection-string': context.azurite.connectionString,
      'working-directory': context.workDir,
    }),
    show: (outputs) => [
      `container ${outputs.container} in account ${outputs['storage-account']} at ${outputs['blob-endpoint']}`,
      `state key ${outputs['state-key']}`,
      `backend config ${path.relative(root, outputs['backend-config-file'])}:`,
      ...readFileSync(outputs['backend-config-file'], 'utf8').trimEnd().split('\n').map((line) => `    ${line}`),
    ],
  },
];

// ---------------------------------------------------------------------------------------------------

async function startAzurite() {
  const bin = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js');
  const args = [bin, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--skipApiVersionCheck', '--disableTelemetry', '--loose'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: mkdtempSync(path.join(tmpdir(), 'azurite-')) });
  const blobEndpoint = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start within 30 s: ${seen}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = /listens on (http:\/\/[\d.]+:\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(`${match[1]}/${AZURITE_ACCOUNT}`);
      }
    });
    child.on('exit', (code) => reject(new Error(`Azurite exited with ${code}: ${seen}`)));
  });
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill()))),
  };
}

/** GITHUB_OUTPUT's `name<<DELIMITER` blocks and `name=value` lines. */
function parseOutputs(text) {
  const outputs = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const value = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]);
      outputs[heredoc[1]] = value.join('\n');
    } else if (lines[i].includes('=')) {
      outputs[lines[i].slice(0, lines[i].indexOf('='))] = lines[i].slice(lines[i].indexOf('=') + 1);
    }
  }
  return outputs;
}

const unescape = (value) => value.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');

/** Prints an action's stdout as a runner's log shows it. */
function logPrinter(masks) {
  const mask = (text) => [...masks].sort((a, b) => b.length - a.length).reduce((out, secret) => out.split(secret).join('***'), text);
  return (line) => {
    const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line);
    if (!command) return console.log(`    ${mask(line)}`);
    const [, name, value] = command;
    if (name === 'add-mask') return void masks.add(unescape(value));
    if (name === 'group') return console.log(`  ▸ ${mask(unescape(value))}`);
    if (name === 'endgroup') return;
    if (name === 'debug') return options.debug ? console.log(`    [debug] ${mask(unescape(value))}`) : undefined;
    console.log(`    [${name}] ${mask(unescape(value))}`);
  };
}

async function runStep(step, context) {
  const entry = path.join(root, 'dist', step.action, 'index.js');
  if (!existsSync(entry)) {
    throw new Error(`${path.relative(root, entry)} is missing: run \`npm run bundle ${step.action}\` first`);
  }
  const runDir = path.join(context.workDir, 'runs', step.action);
  mkdirSync(runDir, { recursive: true });
  const files = { GITHUB_OUTPUT: 'output', GITHUB_STEP_SUMMARY: 'summary.md', GITHUB_ENV: 'env', GITHUB_STATE: 'state', GITHUB_PATH: 'path' };
  const fileEnv = Object.fromEntries(Object.entries(files).map(([name, file]) => [name, path.join(runDir, file)]));
  for (const file of Object.values(fileEnv)) writeFileSync(file, '');
  const inputs = step.inputs(context);
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/.test(key))),
    ...fileEnv,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: root,
    GITHUB_REPOSITORY: 'local/azure-bakery-actions',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    RUNNER_TEMP: runDir,
    ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])),
  };
  const print = logPrinter(context.masks);
  const child = spawn(process.execPath, [entry], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let pending = '';
  child.stdout.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    lines.forEach(print);
  });
  const exitCode = await new Promise((resolve) => child.on('close', resolve));
  if (pending) print(pending);
  return { exitCode, outputs: parseOutputs(readFileSync(fileEnv.GITHUB_OUTPUT, 'utf8')), summaryFile: fileEnv.GITHUB_STEP_SUMMARY };
}

async function main() {
  const workDir = path.join(root, '.tmp', 'local', options.environment);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  console.log('Starting Azurite (Blob service, in memory) ...');
  const azurite = await startAzurite();
  console.log(`Azurite listens on ${azurite.blobEndpoint}\n`);
  const context = { environment: options.environment, azurite, workDir, outputs: {}, masks: new Set() };
  let failed = false;
  try {
    for (const [index, step] of steps.entries()) {
      console.log(`[${index + 1}/${steps.length}] ${step.action}: ${step.title}`);
      const started = Date.now();
      const { exitCode, outputs, summaryFile } = await runStep(step, context);
      if (exitCode !== 0) {
        console.log(`  ✗ ${step.action} failed (exit code ${exitCode}); later steps skipped.`);
        failed = true;
        break;
      }
      context.outputs[step.action] = outputs;
      console.log(`  ✓ ${step.action} in ${((Date.now() - started) / 1000).toFixed(1)} s — made:`);
      for (const line of step.show(outputs, context)) console.log(`    ${line}`);
      console.log(`    step summary: ${path.relative(root, summaryFile)}\n`);
    }
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    console.log('Azurite now holds:');
    for await (const container of service.listContainers()) {
      const blobs = [];
      for await (const blob of service.getContainerClient(container.name).listBlobsFlat()) blobs.push(blob.name);
      console.log(`  ${container.name}/ ${blobs.length ? blobs.join(', ') : '(empty)'}`);
    }
    if (options.keep && !failed) {
      console.log(`\nAzurite keeps running at ${azurite.blobEndpoint} (connection string: Azurite's documented development one). Ctrl-C to stop.`);
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
  } finally {
    await azurite.stop();
  }
  console.log(failed ? '\nLocal run failed.' : `\nLocal run passed: ${steps.length} step(s). Files in ${path.relative(root, workDir)}/`);
  process.exitCode = failed ? 1 : 0;
}

await main();
