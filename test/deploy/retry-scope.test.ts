import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlanJson, type TerraformPlanJson } from '../../src/lib/plan-json.js';
import { changesOutsideReview, managedChanges } from '../../src/lib/terraform-retry.js';
import { SHOW_JSON } from './helpers.js';

const plan = (name: string): TerraformPlanJson => parsePlanJson(readFileSync(path.join(SHOW_JSON, `${name}.json`), 'utf8'), name);

/** The same plan with one resource change's actions replaced (as a retry plan would show it). */
function withActions(base: TerraformPlanJson, address: string, actions: string[]): TerraformPlanJson {
  const copy = structuredClone(base);
  const change = copy.resource_changes!.find((candidate) => candidate.address === address)!;
  change.change.actions = actions as typeof change.change.actions;
  return copy;
}

describe('what a retry may apply (changesOutsideReview)', () => {
  it('what is left of the reviewed changes is inside the review', () => {
    // basic-create creates test[0..2]; multi-resource-update still has test[1] to create.
    expect(changesOutsideReview(plan('basic-create'), plan('multi-resource-update'))).toEqual([]);
  });

  it('a resource the reviewed plan did not touch is outside', () => {
    const violations = changesOutsideReview(plan('basic-create'), plan('basic-delete'));
    expect(violations.map((v) => v.address).sort()).toEqual(['test_instance.test', 'test_instance.test-delete']);
  });

  it('replacing what the reviewed plan created (left tainted by the failed create) is inside', () => {
    const reviewed = plan('basic-create');
    expect(changesOutsideReview(reviewed, withActions(reviewed, 'test_instance.test[0]', ['delete', 'create']))).toEqual([]);
  });

  it('replacing what the reviewed plan only updated is outside: it would destroy data', () => {
    const reviewed = withActions(plan('requires-replace'), 'test_instance.test', ['update']);
    const violations = changesOutsideReview(reviewed, plan('requires-replace'));
    expect(violations).toEqual([{ address: 'test_instance.test', actions: ['delete', 'create'], reason: 'the reviewed plan would only update it, not delete or replace it' }]);
  });

  it('no-ops and data source reads are not changes', () => {
    expect(managedChanges(plan('basic-update'))).toEqual([]);
  });
});
