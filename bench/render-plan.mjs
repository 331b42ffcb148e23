#!/usr/bin/env node
// Benchmark (not a test): how long rendering a plan summary takes next to JSON.parse of the same
// `terraform show -json` file, and how much memory it needs, for generated plans of 1k, 10k and 50k
// resources. Targets (issue 4): render (parse + analyse + render) ≤ 1.5 × JSON.parse; peak memory ≤ 4 ×
// the file size. Prints a Markdown table. See bench/README.md.
//
//   npm run bundle cli && node bench/render-plan.mjs [--sizes 1000,10000,50000] [--rounds 5] [--keep]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = fileURLToPath(import.meta.url);
const bundle = path.resolve(path.dirname(here), '../dist/cli/index.js');
const RENDER_OPTIONS = { environment: 'dev', workingDirectory: 'terraform/stacks/bakery' };

// ---------------------------------------------------------------------------------------------------
// Child processes: one measurement each, reported as one JSON line on stdout.

async function child(mode, file, rounds) {
  const plans = await import(pathToFileURL(bundle).href);
  const render = (text) => plans.renderPlanMarkdown(plans.analysePlan(plans.parsePlanJson(text)), RENDER_OPTIONS);
  if (mode === 'timing') {
    const text = readFileSync(file, 'utf8');
    const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const parseMs = [];
    const renderMs = [];
    let bodyLength = 0;
    // Warm-up rounds (the renderer's code is compiled and optimised on first use; JSON.parse is
    // native), then alternate so drift in machine load hits both alike.
    for (let round = 0; round < 3; round++) {
      JSON.parse(text);
      render(text);
    }
    // At least `rounds`, and more for small plans (up to 2 s): on a shared machine a 5 ms sample is noise.
    const started = performance.now();
    for (let round = 0; round < rounds || (performance.now() - started < 2_000 && round < 200); round++) {
      globalThis.gc?.();
      let roundStarted = performance.now();
      JSON.parse(text);
      parseMs.push(performance.now() - roundStarted);
      globalThis.gc?.();
      roundStarted = performance.now();
      bodyLength = render(text).length;
      renderMs.push(performance.now() - roundStarted);
    }
    return { parseMs: median(parseMs), renderMs: median(renderMs), rounds: parseMs.length, bodyLength };
  }
  // Memory: the process's peak resident set (getrusage maxrss) above what it used before reading.
  // "warm" first renders a small generated plan until V8 has optimised the code: what is left is the
  // memory that grows with the plan, without the few MB the optimising compiler itself takes once.
  if (mode === 'memory-render-warm') {
    const small = JSON.stringify(generatePlan(300));
    for (let round = 0; round < 30; round++) render(small);
  }
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  const text = readFileSync(file, 'utf8');
  const result = mode === 'memory-parse' ? JSON.parse(text) : render(text);
  const peak = process.resourceUsage().maxRSS * 1024;
  return { baseline, peak, kept: typeof result };
}

// ---------------------------------------------------------------------------------------------------
// Plans in the shape of ../shared/fixtures/terraform-show-json (format 1.2, compact as Terraform writes).

const MIX = ['create', 'create', 'create', 'create', 'create', 'create', 'create', 'create', 'update', 'update', 'update', 'update', 'update', 'update', 'replace', 'replace-cbd', 'delete', 'delete', 'move', 'import'];

function values(i, generation) {
  return {
    name: `flows-${i}`,
    storage_account_name: `bakery${i % 97}flows`,
    container_access_type: generation === 0 ? 'private' : 'blob',
    metadata: { owner: 'platform', cost_center: `cc-${i % 13}`, generation: String(generation) },
    network_rules: [{ default_action: 'Deny', bypass: ['AzureServices', 'Logging'], ip_rules: ['10.0.0.0/16', `10.${i % 250}.0.0/24`, '192.168.1.1'] }],
    primary_access_key: `k${i}-${generation}-${'x'.repeat(40)}`,
    connection: { host: `acct${i}.blob.core.windows.net`, password: `p${i}-${generation}-secret` },
    id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-bakery-dev/providers/Microsoft.Storage/storageAccounts/bakery${i % 97}flows/blobServices/default/containers/flows-${i}`,
  };
}

const SENSITIVE = { primary_access_key: true, connection: { password: true } };

function generatePlan(count) {
  const resourceChanges = [];
  const planned = new Map();
  const prior = new Map();
  const drift = [];
  for (let i = 0; i < count; i++) {
    const kind = MIX[i % MIX.length];
    const moduleAddress = `module.stack_${i % 10}`;
    const address = `${moduleAddress}.azurerm_storage_container.flows["c${i}"]`;
    const before = kind === 'create' ? null : values(i, 0);
    const after = kind === 'delete' ? null : { ...values(i, kind === 'update' || kind.startsWith('replace') ? 1 : 0) };
    if (after && (kind === 'create' || kind.startsWith('replace'))) delete after.id;
    const actions = { create: ['create'], update: ['update'], replace: ['delete', 'create'], 'replace-cbd': ['create', 'delete'], delete: ['delete'], move: ['no-op'], import: ['no-op'] }[kind];
    const change = {
      address,
      module_address: moduleAddress,
      mode: 'managed',
      type: 'azurerm_storage_container',
      name: 'flows',
      index: `c${i}`,
      provider_name: 'registry.terraform.io/hashicorp/azurerm',
      change: {
        actions,
        before,
        after,
        after_unknown: after && !after.id ? { id: true } : {},
        before_sensitive: before ? SENSITIVE : false,
        after_sensitive: after ? SENSITIVE : false,
      },
    };
    if (kind.startsWith('replace')) {
      change.change.replace_paths = [['name']];
      change.action_reason = 'replace_because_cannot_update';
    }
    if (kind === 'delete') change.action_reason = 'delete_because_no_resource_config';
    if (kind === 'move') change.previous_address = `${moduleAddress}.azurerm_storage_container.legacy["c${i}"]`;
    if (kind === 'import') change.change.importing = { id: values(i, 0).id };
    resourceChanges.push(change);
    if (kind === 'update' && i % 50 === 8) {
      drift.push({ ...change, change: { ...change.change, before: values(i, 0), after: { ...values(i, 0), metadata: { owner: 'someone-else' } } } });
    }
    const resource = (vals) => ({ address, mode: 'managed', type: 'azurerm_storage_container', name: 'flows', index: `c${i}`, provider_name: change.provider_name, schema_version: 0, values: vals, sensitive_values: SENSITIVE });
    if (after) (planned.get(moduleAddress) ?? planned.set(moduleAddress, []).get(moduleAddress)).push(resource(after));
    if (before) (prior.get(moduleAddress) ?? prior.set(moduleAddress, []).get(moduleAddress)).push(resource(before));
  }
  const modules = (byModule) => ({ child_modules: [...byModule].map(([address, resources]) => ({ address, resources })) });
  const outputs = Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`output_${i}`, { actions: [i % 2 ? 'update' : 'no-op'], before: `v${i}`, after: `v${i}-new`, after_unknown: false, before_sensitive: i === 3, after_sensitive: i === 3 }]),
  );
  return {
    format_version: '1.2',
    terraform_version: '1.9.8',
    planned_values: { root_module: modules(planned) },
    resource_drift: drift,
    resource_changes: resourceChanges,
    output_changes: outputs,
    prior_state: { format_version: '1.0', terraform_version: '1.9.8', values: { root_module: modules(prior) } },
    configuration: {
      provider_config: { azurerm: { name: 'azurerm', full_name: 'registry.terraform.io/hashicorp/azurerm' } },
      root_module: {
        module_calls: Object.fromEntries(
          Array.from({ length: 10 }, (_, m) => [`stack_${m}`, { source: './modules/stack', module: { resources: [{ address: 'azurerm_storage_container.flows', mode: 'managed', type: 'azurerm_storage_container', name: 'flows', provider_config_key: 'azurerm', expressions: { name: { references: ['each.key'] } }, schema_version: 0, for_each_expression: { references: ['var.containers'] } }] } }]),
        ),
      },
    },
    timestamp: '2025-01-01T00:00:00Z',
    applyable: true,
    complete: true,
    errored: false,
  };
}

// ---------------------------------------------------------------------------------------------------

function runChild(mode, file, rounds) {
  const result = spawnSync(process.execPath, ['--expose-gc', here, '--child', mode, '--file', file, '--rounds', String(rounds)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`child ${mode} failed (${result.status}):\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

const megabytes = (bytes) => (bytes / 1024 / 1024).toFixed(1);

async function parent(sizes, rounds, keep) {
  if (!existsSync(bundle)) {
    console.error('dist/cli/index.js is missing: run `npm run bundle cli` first.');
    process.exit(2);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'render-plan-bench-'));
  const rows = [];
  let allMet = true;
  try {
    for (const count of sizes) {
      const file = path.join(dir, `plan-${count}.json`);
      writeFileSync(file, JSON.stringify(generatePlan(count)));
      const size = statSync(file).size;
      console.error(`${count} resources: ${megabytes(size)} MB; timing…`);
      const timing = runChild('timing', file, rounds);
      console.error(`${count} resources: memory…`);
      const parseMemory = runChild('memory-parse', file, 1);
      const coldMemory = runChild('memory-render', file, 1);
      const warmMemory = runChild('memory-render-warm', file, 1);
      const ratio = timing.renderMs / timing.parseMs;
      const peak = (memory) => {
        const grown = memory.peak - memory.baseline;
        return { text: `${megabytes(grown)} (${(grown / size).toFixed(2)}×)`, times: grown / size };
      };
      const cold = peak(coldMemory);
      const timeMet = ratio <= 1.5;
      const memoryMet = cold.times <= 4;
      allMet &&= timeMet && memoryMet;
      rows.push(
        `| ${count.toLocaleString('en')} | ${megabytes(size)} | ${timing.parseMs.toFixed(0)} | ${timing.renderMs.toFixed(0)} | ${ratio.toFixed(2)}× | ` +
          `${peak(parseMemory).text} | ${cold.text} | ${peak(warmMemory).text} | ${timing.bodyLength.toLocaleString('en')} | ` +
          `${timeMet ? 'yes' : '**no**'} / ${memoryMet ? 'yes' : '**no**'} |`,
      );
    }
  } finally {
    if (keep) console.error(`plans kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  console.log(`Node ${process.version}; time: median of ≥ ${rounds} alternating rounds (more for small plans, up to 2 s) after 3 warm-up rounds; memory: peak RSS above the pre-read baseline in a fresh process (MB, and × the file size).\n`);
  console.log('| resources | plan JSON (MB) | JSON.parse (ms) | render (ms) | render ÷ parse | peak, JSON.parse | peak, render | peak, render (code warmed) | comment (chars) | targets: time / memory |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|');
  for (const row of rows) console.log(row);
  console.log('\nrender = parsePlanJson + analysePlan + renderPlanMarkdown (default comment limit). Targets: render ≤ 1.5 × JSON.parse; peak render ≤ 4 × file size (cold process).');
  process.exitCode = allMet ? 0 : 1;
}

const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    file: { type: 'string' },
    rounds: { type: 'string', default: '9' },
    sizes: { type: 'string', default: '1000,10000,50000' },
    keep: { type: 'boolean', default: false },
  },
});
if (args.child) {
  console.log(JSON.stringify(await child(args.child, args.file, Number(args.rounds))));
} else {
  await parent(args.sizes.split(',').map(Number), Number(args.rounds), args.keep);
}
