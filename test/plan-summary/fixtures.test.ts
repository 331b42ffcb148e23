import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../support/azure-stand-in.js';
import { analysePlan, countPlan, parsePlanJson, renderPlanMarkdown, DEFAULT_MAX_LENGTH, type PlanCounts } from '../../src/lib/plan-summary.js';

/**
 * Every plan Terraform's own tests expect from `terraform show -json`, with its counts worked out by
 * hand from the JSON (resource_changes, mode "managed"; see the comment on each), never by the code
 * under test.
 */
const SHOW_JSON_DIR = path.join(FIXTURES_DIR, 'terraform-show-json');

const zero: PlanCounts = { add: 0, change: 0, destroy: 0, replace: 0, import: 0, move: 0, forget: 0 };

interface Expected {
  counts: PlanCounts;
  hasChanges: boolean;
  hasDestructive?: boolean;
  errored?: boolean;
  /** Addresses the rendered summary must list. */
  listed?: string[];
}

const EXPECTED: Record<string, Expected> = {
  // test_instance.test[0], [1], [2]: actions ["create"] each.
  'basic-create.json': { counts: { ...zero, add: 3 }, hasChanges: true, listed: ['test_instance.test[0]', 'test_instance.test[1]', 'test_instance.test[2]'] },
  // test_instance.test ["update"]; test_instance.test-delete ["delete"] (delete_because_no_resource_config).
  'basic-delete.json': { counts: { ...zero, change: 1, destroy: 1 }, hasChanges: true, hasDestructive: true, listed: ['test_instance.test', 'test_instance.test-delete'] },
  // One ["no-op"] resource and a ["no-op"] output: nothing changes.
  'basic-update.json': { counts: zero, hasChanges: false },
  // No resource_changes at all; output foo_id ["create"] is a change; two checks have status "fail".
  'conditions-refresh-only.json': { counts: zero, hasChanges: true, listed: ['test_instance.bar', 'test_instance.foo'] },
  // test_instance.bar and test_instance.foo ["create"].
  'conditions.json': { counts: { ...zero, add: 2 }, hasChanges: true, listed: ['test_instance.bar', 'test_instance.foo'] },
  // no_refresh and should_refresh ["update"]; resource_drift has should_refresh ["update"] (not counted).
  'drift.json': { counts: { ...zero, change: 2 }, hasChanges: true, listed: ['test_instance.no_refresh', 'test_instance.should_refresh'] },
  // test_instance.test ["create"].
  'module-depends-on.json': { counts: { ...zero, add: 1 }, hasChanges: true, listed: ['test_instance.test'] },
  // module.module_test_bar.test_instance.test + module.module_test_foo.test_instance.test[0..2]: 4 × ["create"].
  'modules.json': { counts: { ...zero, add: 4 }, hasChanges: true, listed: ['module.module_test_bar.test_instance.test', 'module.module_test_foo.test_instance.test[2]'] },
  // no_refresh ["update"]; should_refresh_with_move ["update"] with previous_address test_instance.should_refresh.
  'moved-drift.json': { counts: { ...zero, change: 2, move: 1 }, hasChanges: true, listed: ['test_instance.no_refresh', 'test_instance.should_refresh_with_move'] },
  // test_instance.baz ["update"], previous_address test_instance.foo.
  'moved.json': { counts: { ...zero, change: 1, move: 1 }, hasChanges: true, listed: ['test_instance.baz', 'test_instance.foo'] },
  // test_instance.test[0] ["no-op"] moved from test_instance.test; test_instance.test[1] ["create"].
  'multi-resource-update.json': { counts: { ...zero, add: 1, move: 1 }, hasChanges: true, listed: ['test_instance.test[0]', 'test_instance.test[1]'] },
  // module.my_module.module.more.test_instance.test ["create"].
  'nested-modules.json': { counts: { ...zero, add: 1 }, hasChanges: true, listed: ['module.my_module.module.more.test_instance.test'] },
  // errored: true, no resource_changes.
  'plan-error.json': { counts: zero, hasChanges: false, errored: true },
  // test_instance.test and module.child.test_instance.test ["create"].
  'provider-aliasing-conflict.json': { counts: { ...zero, add: 2 }, hasChanges: true, listed: ['module.child.test_instance.test'] },
  // Four ["create"]: the root one, module.child and its two submodules.
  'provider-aliasing-default.json': { counts: { ...zero, add: 4 }, hasChanges: true, listed: ['module.child.module.with_requirement.test_instance.test'] },
  // Ten ["create"] across root, module.child, module.sibling and their grandchildren.
  'provider-aliasing.json': { counts: { ...zero, add: 10 }, hasChanges: true, listed: ['test_instance.test_backup', 'module.sibling.module.grandchild.test_instance.test_main'] },
  // test_instance.test[0..2] ["create"].
  'provider-version-no-config.json': { counts: { ...zero, add: 3 }, hasChanges: true },
  'provider-version.json': { counts: { ...zero, add: 3 }, hasChanges: true },
  // test_instance.test ["delete", "create"]: one to add, one to destroy, one replacement.
  'requires-replace.json': { counts: { ...zero, add: 1, destroy: 1, replace: 1 }, hasChanges: true, hasDestructive: true, listed: ['test_instance.test'] },
  // test_instance.test ["create"] (ami sensitive); sensitive output test ["create"].
  'sensitive-values.json': { counts: { ...zero, add: 1 }, hasChanges: true, listed: ['test_instance.test'] },
  // Only outputs bar, baz, foo ["create"].
  'unknown-output.json': { counts: zero, hasChanges: true },
};

const fixtureFiles = readdirSync(SHOW_JSON_DIR).filter((name) => name.endsWith('.json')).sort();

describe('terraform show -json fixtures', () => {
  it('has a hand-worked expectation for every fixture, and a fixture for every expectation', () => {
    expect(fixtureFiles).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const file of fixtureFiles) {
    it(`${file}: counts, flags and summary`, () => {
      const expected = EXPECTED[file];
      if (!expected) throw new Error(`${file} has no hand-worked expectation in EXPECTED`);
      const plan = parsePlanJson(readFileSync(path.join(SHOW_JSON_DIR, file), 'utf8'), file);
      expect(countPlan(plan)).toEqual(expected.counts);
      const report = analysePlan(plan);
      expect(report.counts).toEqual(expected.counts);
      expect(report.hasChanges).toBe(expected.hasChanges);
      expect(report.hasDestructive).toBe(expected.hasDestructive ?? false);
      expect(report.errored).toBe(expected.errored ?? false);

      const body = renderPlanMarkdown(report, { environment: 'dev', workingDirectory: 'terraform/stacks/bakery' });
      expect(body.length).toBeLessThanOrEqual(DEFAULT_MAX_LENGTH);
      expect(body).toContain('### ');
      expect(body).toContain('`dev`');
      for (const address of expected.listed ?? []) expect(body).toContain(`\`${address}\``);
      if (expected.errored) expect(body).toContain('**Planning failed.**');
      else if (!expected.hasChanges) expect(body).toContain('**No changes.**');
      else expect(body).toContain(`**Plan: `);
      expect(body.includes('[!CAUTION]')).toBe(Boolean(expected.hasDestructive || expected.errored));
    });
  }
});

describe('parsePlanJson reads exactly what JSON.parse does, for the members it keeps', () => {
  const kept = ['format_version', 'terraform_version', 'applyable', 'complete', 'errored', 'timestamp', 'resource_changes', 'resource_drift', 'output_changes', 'deferred_changes', 'checks', 'condition_results'];
  for (const file of fixtureFiles) {
    it(file, () => {
      const text = readFileSync(path.join(SHOW_JSON_DIR, file), 'utf8');
      const full = JSON.parse(text) as Record<string, unknown>;
      const expected = Object.fromEntries(Object.entries(full).filter(([key]) => kept.includes(key)));
      expect(parsePlanJson(text)).toEqual(expected);
      // And the same when Terraform writes it compactly, as `terraform show -json` does.
      expect(parsePlanJson(JSON.stringify(full))).toEqual(expected);
      expect(parsePlanJson(text, file, { keepAll: true })).toEqual(full);
    });
  }
});

describe('what the fixtures show beyond counts', () => {
  const load = (file: string) => analysePlan(parsePlanJson(readFileSync(path.join(SHOW_JSON_DIR, file), 'utf8')));

  it('lists drift with the attribute that changed outside Terraform', () => {
    const report = load('drift.json');
    expect(report.drift).toEqual([{ address: 'test_instance.should_refresh', action: 'update', changedAttributes: ['ami'] }]);
    expect(renderPlanMarkdown(report, { environment: 'dev', workingDirectory: '.' })).toContain('- `test_instance.should_refresh` — changed: `ami`');
  });

  it('names the attribute that forces a replacement', () => {
    const report = load('requires-replace.json');
    expect(report.resources.replace.map((entry) => entry.replacePaths)).toEqual([['ami']]);
    expect(renderPlanMarkdown(report, { environment: 'dev', workingDirectory: '.' })).toContain('`ami` forces replacement');
  });

  it('says why a resource is destroyed', () => {
    const body = renderPlanMarkdown(load('basic-delete.json'), { environment: 'dev', workingDirectory: '.' });
    expect(body).toContain('- `test_instance.test-delete` — no longer in the configuration');
  });

  it('lists failed checks with their messages (format 1.2 checks)', () => {
    const report = load('conditions-refresh-only.json');
    expect(report.failedChecks).toEqual([
      { address: 'test_instance.bar', status: 'fail', problems: ['Resource ID is unacceptably short (9 characters).'] },
      { address: 'test_instance.foo', status: 'fail', problems: ['Invalid AMI ID: must start with "ami-".'] },
    ]);
  });

  it('does not count a condition whose result is only known at apply (format 1.1 condition_results)', () => {
    // test_instance.bar: result false but unknown true; the others are true.
    expect(load('conditions.json').failedChecks).toEqual([]);
  });

  it('shows unknown output values as Terraform does', () => {
    const report = load('unknown-output.json');
    expect(report.outputs.map((output) => [output.name, output.after])).toEqual([
      ['bar', '["hello", (known after apply), "world"]'],
      ['baz', '{"greeting": "hello", "subject": "world", "time": (known after apply)}'],
      ['foo', '"hello"'],
    ]);
  });

  it('never shows a sensitive value (sensitive-values.json: "boop" is the sensitive ami and output)', () => {
    const text = readFileSync(path.join(SHOW_JSON_DIR, 'sensitive-values.json'), 'utf8');
    expect(text).toContain('"boop"');
    const report = analysePlan(parsePlanJson(text));
    const body = renderPlanMarkdown(report, { environment: 'dev', workingDirectory: '.' });
    expect(body).not.toContain('boop');
    expect(body).toContain('- `test` (new): _(sensitive)_');
    expect(JSON.stringify(report)).not.toContain('boop');
  });
});
