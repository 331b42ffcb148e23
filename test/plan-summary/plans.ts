import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from '../support/azure-stand-in.js';
import type { ResourceChange, TerraformPlanJson } from '../../src/lib/plan-json.js';

/**
 * Plans for the cases Terraform's fixtures do not cover (imports, forgets, data reads, deposed objects,
 * thousands of resources), built from a fixture's own resource change so the shape stays Terraform's.
 */

export const SHOW_JSON_DIR = path.join(FIXTURES_DIR, 'terraform-show-json');

export function loadFixture(name: string): TerraformPlanJson {
  return JSON.parse(readFileSync(path.join(SHOW_JSON_DIR, name), 'utf8')) as TerraformPlanJson;
}

/**
 * requires-replace.json's one resource change (its before/after values) at `address` with `actions`;
 * `overrides` adds or replaces top-level fields, `change` fields of the change.
 */
export function resourceChange(
  address: string,
  actions: ResourceChange['change']['actions'],
  overrides: Partial<Omit<ResourceChange, 'change'>> = {},
  change: Partial<ResourceChange['change']> = {},
): ResourceChange {
  const base = structuredClone(loadFixture('requires-replace.json').resource_changes![0]!);
  const isReplace = actions.includes('delete') && actions.includes('create');
  if (!isReplace) {
    delete base.change.replace_paths;
    delete base.action_reason;
  }
  return { ...base, address, ...overrides, change: { ...base.change, actions, ...change } };
}

/** basic-create.json with `changes` as its resource_changes (its output change kept). */
export function planWith(changes: ResourceChange[], extra: Partial<TerraformPlanJson> = {}): TerraformPlanJson {
  return { ...loadFixture('basic-create.json'), resource_changes: changes, ...extra };
}

/**
 * Terraform's human-readable plan (the `terraform show -no-color` layout) for `count` created storage
 * containers, to about `targetBytes`.
 */
export function textPlanOfSize(targetBytes: number, extraLines: string[] = []): string {
  const lines = [
    'Terraform used the selected providers to generate the following execution',
    'plan. Resource actions are indicated with the following symbols:',
    '  + create',
    '  ~ update in-place',
    '-/+ destroy and then create replacement',
    '',
    'Terraform will perform the following actions:',
    '',
    ...extraLines,
  ];
  let size = lines.join('\n').length;
  for (let i = 0; size < targetBytes; i++) {
    const block = [
      `  # azurerm_storage_container.flows[${i}] will be created`,
      `  + resource "azurerm_storage_container" "flows" {`,
      '      + container_access_type = "private"',
      '      + id                    = (known after apply)',
      `      + name                  = "flows-${i}"`,
      '      + storage_account_name  = "bakerydevflows"',
      '    }',
      '',
    ];
    lines.push(...block);
    size += block.join('\n').length + 1;
  }
  lines.push('Plan: 1 to add, 0 to change, 0 to destroy.');
  return `${lines.join('\n')}\n`;
}
