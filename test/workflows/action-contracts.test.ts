import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { STACK_OUTPUTS, toActionOutputName } from '../../src/lib/stack-outputs.js';
import { EXPECTED_ACTIONS, actionMetadataFiles, readRepoFile } from './workflow-files.js';

/**
 * Each action's action.yml against the conventions of CONTRIBUTING.md and its "Action contracts"
 * table, which the reusable workflows are written against: a name the table promises and the
 * action.yml lacks breaks a workflow, so every expected action is checked by name, and a missing
 * action.yml fails here instead of being skipped.
 */

interface Contract {
  inputs: string[];
  outputs: string[];
}

/** The "Action contracts" table of CONTRIBUTING.md: action → the input and output names it promises. */
export function parseContractTable(markdown: string): Map<string, Contract> {
  const contracts = new Map<string, Contract>();
  const section = markdown.split(/^## /m).find((part) => part.startsWith('Action contracts'));
  if (!section) throw new Error('CONTRIBUTING.md has no "## Action contracts" section');
  for (const line of section.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*-/.test(line) || /^\|\s*action\s*\|/.test(line)) continue;
    // Split on unescaped pipes; a parenthesised remark (defaults, enum values) names no input.
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    const names = (cell: string) => [...cell.replace(/\([^)]*\)/g, '').matchAll(/`([a-z0-9-]+)`/g)].map((match) => match[1]!);
    const [action, inputs, outputs] = cells;
    if (!action || inputs === undefined || outputs === undefined) continue;
    contracts.set(action, { inputs: names(inputs), outputs: names(outputs) });
  }
  return contracts;
}

const contracts = parseContractTable(readRepoFile('CONTRIBUTING.md'));

// deploy's outputs are "every Terraform output in kebab-case"; the list is src/lib/stack-outputs.ts.
function promisedOutputs(action: string): string[] {
  if (action === 'deploy') return STACK_OUTPUTS.bakery.map(toActionOutputName);
  return contracts.get(action)?.outputs ?? [];
}

/** The common auth inputs of every action that calls Azure (it has an `auth` input). */
const AUTH_INPUTS = ['auth', 'subscription-id', 'tenant-id', 'client-id', 'client-secret', 'arm-endpoint', 'authority-host'];

interface Metadata {
  name?: unknown;
  description?: unknown;
  author?: unknown;
  branding?: { icon?: unknown; color?: unknown };
  inputs?: Record<string, { description?: unknown } | null>;
  outputs?: Record<string, { description?: unknown } | null>;
  runs?: { using?: unknown; main?: unknown };
}

function conventionProblems(action: string, metadata: Metadata): string[] {
  const problems: string[] = [];
  for (const key of ['name', 'description', 'author'] as const) {
    if (typeof metadata[key] !== 'string' || !(metadata[key] as string).trim()) problems.push(`no ${key}`);
  }
  if (!metadata.branding?.icon || !metadata.branding?.color) problems.push('branding needs an icon and a color');
  if (metadata.runs?.using !== 'node24') problems.push(`runs.using is ${String(metadata.runs?.using)}, not node24`);
  if (metadata.runs?.main !== `../../dist/${action}/index.js`) problems.push(`runs.main is ${String(metadata.runs?.main)}, not ../../dist/${action}/index.js`);
  for (const [kind, entries] of [['input', metadata.inputs], ['output', metadata.outputs]] as const) {
    for (const [name, spec] of Object.entries(entries ?? {})) {
      if (typeof spec?.description !== 'string' || !spec.description.trim()) problems.push(`${kind} '${name}' has no description`);
    }
  }
  return problems;
}

function contractProblems(action: string, metadata: Metadata): string[] {
  const inputs = new Set(Object.keys(metadata.inputs ?? {}));
  const outputs = new Set(Object.keys(metadata.outputs ?? {}));
  const problems = [
    ...(contracts.get(action)?.inputs ?? []).filter((name) => !inputs.has(name)).map((name) => `the contract's input '${name}' is not declared`),
    ...promisedOutputs(action).filter((name) => !outputs.has(name)).map((name) => `the contract's output '${name}' is not declared`),
  ];
  if (inputs.has('auth')) problems.push(...AUTH_INPUTS.filter((name) => !inputs.has(name)).map((name) => `common auth input '${name}' is not declared`));
  return problems;
}

describe('the contract table of CONTRIBUTING.md', () => {
  it('names every expected action with its inputs and outputs', () => {
    expect([...contracts.keys()].sort()).toEqual([...EXPECTED_ACTIONS].sort());
    expect(contracts.get('setup-remote-state')?.outputs).toEqual(['backend-config-file', 'resource-group', 'storage-account', 'container', 'state-key']);
    // Parenthesised remarks are values, not names: `mode` (`acr-task` | `docker`) is one input.
    expect(contracts.get('build-image')?.inputs).toContain('mode');
    expect(contracts.get('build-image')?.inputs).not.toContain('acr-task');
    expect(contracts.get('deploy')?.inputs).toEqual(expect.arrayContaining(['working-directory', 'working-directories', 'plan-id']));
  });

  it('parses a row with escaped pipes inside a remark', () => {
    const table = parseContractTable('## Action contracts\n\n| action | main inputs | outputs |\n|---|---|---|\n| x | `mode` (`a` \\| `b`), `name` | `out` |\n');
    expect(table.get('x')).toEqual({ inputs: ['mode', 'name'], outputs: ['out'] });
  });
});

describe.each(EXPECTED_ACTIONS)('actions/%s/action.yml', (action) => {
  const file = `actions/${action}/action.yml`;
  const load = (): Metadata => {
    expect(actionMetadataFiles(), `${file} does not exist yet`).toContain(file);
    return parse(readRepoFile(file)) as Metadata;
  };

  it('follows the conventions (node24, ../../dist/<action>/index.js, name, description, author, branding, described inputs and outputs)', () => {
    expect(conventionProblems(action, load())).toEqual([]);
  });

  it('declares every input and output of its contract', () => {
    expect(contractProblems(action, load())).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const good: Metadata = {
    name: 'Plan',
    description: 'Plans.',
    author: 'Azure Bakery Actions',
    branding: { icon: 'map', color: 'blue' },
    runs: { using: 'node24', main: '../../dist/plan/index.js' },
    inputs: Object.fromEntries([...(contracts.get('plan')?.inputs ?? []), ...AUTH_INPUTS].map((name) => [name, { description: `The ${name}.` }])),
    outputs: Object.fromEntries(promisedOutputs('plan').map((name) => [name, { description: `The ${name}.` }])),
  };

  it('accept a complete action.yml', () => {
    expect(conventionProblems('plan', good)).toEqual([]);
    expect(contractProblems('plan', good)).toEqual([]);
  });

  it('report each broken convention', () => {
    const broken: Metadata = { ...good, author: '', branding: { icon: 'map' }, runs: { using: 'node20', main: 'dist/index.js' }, inputs: { ...good.inputs, extra: null } };
    expect(conventionProblems('plan', broken)).toEqual([
      'no author',
      'branding needs an icon and a color',
      'runs.using is node20, not node24',
      'runs.main is dist/index.js, not ../../dist/plan/index.js',
      "input 'extra' has no description",
    ]);
  });

  it('report a renamed contract input, a missing output and a missing auth input', () => {
    const { 'plan-id': _planId, ...outputs } = good.outputs!;
    const { 'backend-config-file': _backend, 'authority-host': _authority, ...inputs } = good.inputs!;
    expect(contractProblems('plan', { ...good, inputs: { ...inputs, 'backend-config': { description: 'x' } }, outputs })).toEqual([
      "the contract's input 'backend-config-file' is not declared",
      "the contract's output 'plan-id' is not declared",
      "common auth input 'authority-host' is not declared",
    ]);
  });

  it('expect every bakery stack output from deploy', () => {
    expect(promisedOutputs('deploy')).toEqual(expect.arrayContaining(['resource-group-name', 'cluster-name', 'registry-login-server', 'worker-service-account-name']));
    expect(promisedOutputs('deploy')).toHaveLength(STACK_OUTPUTS.bakery.length);
  });
});
