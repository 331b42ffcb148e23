#!/usr/bin/env node
// Benchmark (not a test): how fast each built action fails when a required input is missing — the
// cost a user pays for a typo, and a floor for every run (Node start + the bundle's top-level
// imports; the Azure SDKs must load lazily, after the inputs check out). Target: < 0.3 s.
//
//   npm run bundle && node bench/cold-start.mjs [--runs 9] [--action setup-remote-state ...]
//
// Each run is `node dist/<action>/index.js` with no INPUT_* at all, in a clean environment, as a
// runner would start it. Prints a Markdown table: median/min/max wall time, bundle size, and the
// error the action gave (it must be a ::error:: naming an input, and exit code 1).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const TARGET_MS = 300;
const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    action: { type: 'string', multiple: true },
  },
});
const runs = Number(options.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number ≥ 1, not ${options.runs}`);

const distDir = path.join(root, 'dist');
// Actions only (actions/<name>/action.yml): dist/ also holds bundles that are not actions (the CLI).
const built = existsSync(distDir)
  ? readdirSync(distDir)
      .filter((name) => existsSync(path.join(distDir, name, 'index.js')) && existsSync(path.join(root, 'actions', name, 'action.yml')))
      .sort()
  : [];
const actions = options.action?.length ? options.action : built;
const missing = actions.filter((action) => !built.includes(action));
if (!actions.length || missing.length) {
  console.error(missing.length ? `Not built: ${missing.join(', ')} (npm run bundle ${missing.join(' ')})` : 'No built actions in dist/: run `npm run bundle` first.');
  process.exit(2);
}

const sizeOf = (dir) => readdirSync(dir).reduce((sum, name) => sum + (name.endsWith('.js') ? statSync(path.join(dir, name)).size : 0), 0);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const scratch = mkdtempSync(path.join(tmpdir(), 'cold-start-'));
const rows = [];
let failures = 0;
for (const action of actions) {
  const times = [];
  let error = '';
  let exitCode = 0;
  for (let i = 0; i < runs; i++) {
    const output = path.join(scratch, `${action}-${i}`);
    writeFileSync(output, '');
    // Only what a runner always sets; no inputs. PATH so a child tool lookup behaves as on a runner.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? scratch, GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: output, RUNNER_TEMP: scratch };
    const started = performance.now();
    const result = spawnSync(process.execPath, [path.join(distDir, action, 'index.js')], { cwd: scratch, env, encoding: 'utf8' });
    times.push(performance.now() - started);
    exitCode = result.status ?? -1;
    error = (result.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? result.stderr.split('\n')[0] ?? '').replace(/^::error::/, '');
  }
  const ok = exitCode === 1 && /Input "[^"]+"/.test(error);
  const med = median(times);
  if (!ok || med >= TARGET_MS) failures++;
  rows.push([
    action,
    `${Math.round(med)} ms`,
    `${Math.round(Math.min(...times))}–${Math.round(Math.max(...times))} ms`,
    `${(sizeOf(path.join(distDir, action)) / 1024 / 1024).toFixed(1)} MB`,
    !ok ? `✗ exit ${exitCode}` : med < TARGET_MS ? '✓' : `✗ over ${TARGET_MS} ms`,
    error.length > 90 ? `${error.slice(0, 87)}...` : error,
  ]);
}

// Baseline: Node itself starting an empty script, so a slow machine is not mistaken for a slow bundle.
const baseline = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  spawnSync(process.execPath, ['-e', ''], { cwd: scratch, env: { PATH: process.env.PATH ?? '' } });
  baseline.push(performance.now() - started);
}
rows.push(['(node -e "", baseline)', `${Math.round(median(baseline))} ms`, `${Math.round(Math.min(...baseline))}–${Math.round(Math.max(...baseline))} ms`, '', '', '']);

const header = ['action', `median of ${runs}`, 'range', 'bundle (.js)', `< ${TARGET_MS} ms`, 'error shown'];
const escape = (cell) => String(cell).replace(/\|/g, '\\|');
console.log(`Cold start: node ${process.version}, ${runs} run(s) per action, a required input missing.\n`);
console.log(`| ${header.join(' | ')} |`);
console.log(`| ${header.map(() => '---').join(' | ')} |`);
for (const row of rows) console.log(`| ${row.map(escape).join(' | ')} |`);
process.exitCode = failures ? 1 : 0;
