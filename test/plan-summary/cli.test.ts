import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/usage.js';
import { REPO_ROOT } from '../support/run-dist.js';
import { SHOW_JSON_DIR, textPlanOfSize } from './plans.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], stdin = ''): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), readStdin: async () => stdin };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const fixture = (name: string) => path.join(SHOW_JSON_DIR, name);
const scratch = mkdtempSync(path.join(tmpdir(), 'plan-summary-cli-'));

describe('azure-bakery-actions plan-summary', () => {
  it('prints the comment markdown for a plan', async () => {
    const result = await run(['plan-summary', fixture('requires-replace.json'), '--environment', 'dev', '--working-directory', 'terraform/stacks/bakery']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('### ⚠️ Terraform plan for `dev` in `terraform/stacks/bakery`');
    expect(result.stdout).toContain('**Plan: 1 to add, 0 to change, 1 to destroy.**');
    expect(result.stdout).toContain('- `test_instance.test` — `ami` forces replacement');
  });

  it('prints the counts as JSON with --json', async () => {
    const result = await run(['plan-summary', fixture('basic-delete.json'), '--json']);
    expect(result.code).toBe(0);
    // basic-delete.json: one ["update"], one ["delete"].
    expect(JSON.parse(result.stdout)).toEqual({ add: 0, change: 1, destroy: 1, replace: 0, import: 0, move: 0, forget: 0, hasChanges: true, hasDestructive: true, errored: false });
  });

  it('reads the plan from stdin with -, and a text plan with --text-plan', async () => {
    const textPlanFile = path.join(scratch, 'plan.txt');
    writeFileSync(textPlanFile, textPlanOfSize(200_000));
    const result = await run(['plan-summary', '-', '--text-plan', textPlanFile, '--max-length', '20000', '--full-plan-location', 'the job summary'], readFileSync(fixture('basic-create.json'), 'utf8'));
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeLessThanOrEqual(20_000);
    expect(result.stdout).toContain('```diff\nTerraform used the selected providers');
    expect(result.stdout).toMatch(/showing \d+ of \d+ lines; the full plan is in the job summary/);
  });

  it('exits 2 with a clear message for a missing file', async () => {
    const result = await run(['plan-summary', path.join(scratch, 'missing.json')]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`cannot read the plan JSON file "${path.join(scratch, 'missing.json')}": no such file.`);
  });

  it('exits 2 with a clear message for a file that is not a plan', async () => {
    const notPlan = path.join(scratch, 'state.json');
    writeFileSync(notPlan, JSON.stringify({ format_version: '1.0', values: { root_module: {} } }));
    const state = await run(['plan-summary', notPlan]);
    expect(state.code).toBe(2);
    expect(state.stderr).toContain(`${notPlan} is not a Terraform JSON plan: it is a state`);
    expect(state.stderr).toContain('terraform show -json <planfile>');

    const garbage = path.join(scratch, 'garbage.json');
    writeFileSync(garbage, '{ not json');
    const invalid = await run(['plan-summary', garbage, '--json']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('it is not valid JSON');

    const directory = await run(['plan-summary', scratch]);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain('it is a directory');
  });

  it('exits 2 for usage mistakes, 0 for help', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['plan-summary'])).stderr).toContain('give the plan JSON file');
    expect((await run(['plan-sumary'])).stderr).toContain('unknown command "plan-sumary"; commands are: plan-summary');
    const unknownOption = await run(['plan-summary', fixture('basic-create.json'), '--colour']);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain("Unknown option '--colour'");
    const badLength = await run(['plan-summary', fixture('basic-create.json'), '--max-length', '12']);
    expect(badLength.code).toBe(2);
    expect(badLength.stderr).toContain('--max-length is "12"; give a whole number of at least 4096.');
    const help = await run(['plan-summary', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: azure-bakery-actions plan-summary <plan.json | -> [options]');
  });
});

describe('bin/azure-bakery-actions.mjs (the bundled CLI, as npx runs it)', () => {
  const bin = path.join(REPO_ROOT, 'bin/azure-bakery-actions.mjs');

  it('runs dist/cli/index.js and sets the exit code', () => {
    if (!existsSync(path.join(REPO_ROOT, 'dist/cli/index.js'))) throw new Error('dist/cli/index.js is missing: run `npm run bundle cli` first');
    const ok = spawnSync(process.execPath, [bin, 'plan-summary', fixture('moved.json'), '--json'], { encoding: 'utf8', cwd: scratch });
    expect(ok.status).toBe(0);
    // moved.json: test_instance.baz ["update"] moved from test_instance.foo.
    expect(JSON.parse(ok.stdout)).toMatchObject({ change: 1, move: 1, add: 0, destroy: 0 });

    const missing = spawnSync(process.execPath, [bin, 'plan-summary', 'nope.json'], { encoding: 'utf8', cwd: scratch });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('cannot read the plan JSON file "nope.json": no such file.');
  });

  it('the bundle runs the CLI when run directly, and nothing when imported', () => {
    const bundle = path.join(REPO_ROOT, 'dist/cli/index.js');
    const direct = spawnSync(process.execPath, [bundle, 'plan-summary', fixture('basic-update.json')], { encoding: 'utf8', cwd: scratch });
    expect(direct.status).toBe(0);
    expect(direct.stdout).toContain('**No changes.**');
    const imported = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundle)}); console.log(Object.keys(m).sort().join(','));`], { encoding: 'utf8', cwd: scratch });
    expect(imported.status).toBe(0);
    expect(imported.stdout.trim()).toBe('analysePlan,countPlan,formatPlanLine,main,parsePlanJson,renderPlanFailureMarkdown,renderPlanMarkdown');
  });
});
