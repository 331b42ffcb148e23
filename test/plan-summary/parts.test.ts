import { describe, expect, it } from 'vitest';
import { GuidedError } from '../../src/lib/errors.js';
import { codeBlock, escapeMarkdownText, inlineCode } from '../../src/lib/markdown.js';
import { parsePlanJson } from '../../src/lib/plan-json.js';
import { excerptPlanText, toDiffLine, MAX_PLAN_LINE_LENGTH } from '../../src/lib/plan-text.js';
import { changedAttributes, formatPlanValue } from '../../src/lib/plan-values.js';
import { createScrubber, secretForms } from '../../src/lib/secret-text.js';
import { loadFixture } from './plans.js';

describe('toDiffLine: Terraform markers in the first column', () => {
  it.each([
    ['  + resource "azurerm_resource_group" "main" {', '+   resource "azurerm_resource_group" "main" {'],
    ['      + name = "rg-bakery"', '+       name = "rg-bakery"'],
    ['  - resource "azurerm_storage_account" "old" {', '-   resource "azurerm_storage_account" "old" {'],
    ['  ~ resource "azurerm_kubernetes_cluster" "bakery" {', '!   resource "azurerm_kubernetes_cluster" "bakery" {'],
    ['      ~ tags = {', '!       tags = {'],
    ['-/+ resource "azurerm_kubernetes_cluster_node_pool" "dask" {', '-/+ resource "azurerm_kubernetes_cluster_node_pool" "dask" {'],
    ['+/- resource "azurerm_container_registry" "acr" {', '+/- resource "azurerm_container_registry" "acr" {'],
    [' <= data "azurerm_client_config" "current" {', ' <= data "azurerm_client_config" "current" {'],
    ['          - "10.0.0.0/16",', '-           "10.0.0.0/16",'],
    ['  + create', '+   create'],
    ['      +', '+      '],
    ['  # azurerm_resource_group.main will be created', '  # azurerm_resource_group.main will be created'],
    ['Plan: 1 to add, 0 to change, 0 to destroy.', 'Plan: 1 to add, 0 to change, 0 to destroy.'],
    ['+not-a-marker', ' +not-a-marker'],
    ['<html>', ' <html>'],
    ['@@ -1 +1 @@', ' @@ -1 +1 @@'],
    ['', ''],
  ])('%j → %j', (line, expected) => {
    expect(toDiffLine(line)).toBe(expected);
    // Columns stay aligned, except for the one-space guard in front of a plain line.
    if (line.startsWith('+not') || line.startsWith('<') || line.startsWith('@')) return;
    expect(toDiffLine(line).length).toBe(line.length);
  });
});

describe('excerptPlanText', () => {
  const identity = (line: string) => line;

  it('takes whole lines until the budget is spent and counts them all', () => {
    // 14 characters a line, 15 with its line break: a budget of 150 holds exactly 10.
    const text = Array.from({ length: 100 }, (_, i) => `  + line ${String(i).padStart(5, '0')}`).join('\n') + '\n';
    const excerpt = excerptPlanText(text, 10 * 15, identity);
    expect(excerpt.totalLines).toBe(100);
    expect(excerpt.shownLines).toBe(10);
    expect(excerpt.shortened).toBe(true);
    expect(excerpt.text.split('\n')).toEqual(Array.from({ length: 10 }, (_, i) => `+   line ${String(i).padStart(5, '0')}`));
  });

  it('keeps everything when it fits, and strips colours and carriage returns', () => {
    const excerpt = excerptPlanText('\u001b[32m  + a\u001b[0m\r\n  - b\r\n', 1_000, identity);
    expect(excerpt).toEqual({ text: '+   a\n-   b', shownLines: 2, totalLines: 2, shortened: false });
  });

  it('cuts a single enormous line instead of losing everything after it', () => {
    const excerpt = excerptPlanText(`      + policy = "${'x'.repeat(50_000)}"\n  # next`, 10_000, identity);
    expect(excerpt.shownLines).toBe(2);
    expect(excerpt.text.split('\n')[0]!.length).toBeLessThan(MAX_PLAN_LINE_LENGTH + 30);
    expect(excerpt.text).toContain('… (line shortened)');
    expect(excerpt.shortened).toBe(true);
  });

  it('scrubs each line before measuring it', () => {
    const excerpt = excerptPlanText('  + password = "a-very-long-secret-value-here"\n', 1_000, createScrubber(['a-very-long-secret-value-here']));
    expect(excerpt.text).toBe('+   password = "***"');
  });

  it('an empty text plan has no lines', () => {
    expect(excerptPlanText('', 100, identity)).toEqual({ text: '', shownLines: 0, totalLines: 0, shortened: false });
  });
});

describe('formatPlanValue and changedAttributes', () => {
  it('renders JSON-like text with markers and stops at the limit', () => {
    expect(formatPlanValue({ a: 1, b: [true, null], c: 'x"y' }, false, false)).toBe('{"a": 1, "b": [true, null], "c": "x\\"y"}');
    expect(formatPlanValue('secret', true, false)).toBe('(sensitive)');
    expect(formatPlanValue(null, false, true)).toBe('(known after apply)');
    expect(formatPlanValue({ list: ['a', 'b'] }, { list: [false, true] }, {})).toBe('{"list": ["a", (sensitive)]}');
    expect(formatPlanValue({ deep: { deeper: { key: 'hidden' } } }, { deep: true }, {})).toBe('{"deep": (sensitive)}');
    const long = formatPlanValue({ blob: 'z'.repeat(10_000) }, false, false, 50);
    expect(long.length).toBeLessThanOrEqual(51);
    expect(long.endsWith('…')).toBe(true);
  });

  it('names the top-level attributes that change or become unknown', () => {
    expect(changedAttributes({ a: 1, b: { c: [1, 2] }, d: 'same' }, { a: 2, b: { c: [1, 2] }, d: 'same' }, {})).toEqual(['a']);
    expect(changedAttributes({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } }, {})).toEqual(['b']);
    expect(changedAttributes({ id: 'x', a: 1 }, { a: 1 }, { id: true })).toEqual(['id']);
    expect(changedAttributes({ a: 1 }, { a: 1, tags: {} }, { tags: { owner: true } })).toEqual(['tags']);
    expect(changedAttributes({ a: 1 }, { a: 1 }, {})).toEqual([]);
  });
});

describe('markdown helpers', () => {
  it('inlineCode survives backticks, spaces and line breaks', () => {
    expect(inlineCode('plain')).toBe('`plain`');
    expect(inlineCode('a`b')).toBe('``a`b``');
    expect(inlineCode('`x')).toBe('`` `x ``');
    expect(inlineCode('a\n\nb')).toBe('`a\\n\\nb`');
    expect(inlineCode('')).toBe('` `');
  });

  it('codeBlock uses a fence longer than any run of backticks inside', () => {
    expect(codeBlock('a\n```\nb', 'diff')).toBe('````diff\na\n```\nb\n````');
    expect(codeBlock('plain')).toBe('```\nplain\n```');
  });

  it('escapeMarkdownText leaves no markup, HTML or mention', () => {
    expect(escapeMarkdownText('<b>*x*</b> [l](u) @team\nnext')).toBe('&lt;b&gt;\\*x\\*&lt;/b&gt; \\[l\\]\\(u\\) @\u200bteam next');
  });
});

describe('secretForms and createScrubber', () => {
  it('covers the trimmed value, each line and the JSON-escaped form, not short fragments', () => {
    expect(secretForms(' ab"c\nde\nfghij ').sort()).toEqual([' ab"c\nde\nfghij ', 'ab"c', 'ab"c\nde\nfghij', 'fghij', ' ab\\"c\\nde\\nfghij '].sort());
  });

  it('replaces the longest secret first and leaves text without secrets alone', () => {
    const scrub = createScrubber(['abc', 'abcdef']);
    expect(scrub('xabcdefx abc')).toBe('x***x ***');
    expect(createScrubber([])('unchanged')).toBe('unchanged');
    expect(createScrubber(['a.b*c'])('a.b*c and axbyc')).toBe('*** and axbyc');
  });
});

describe('parsePlanJson', () => {
  const rejects = (text: string, message: RegExp) => {
    let thrown: unknown;
    try {
      parsePlanJson(text, 'plan.json');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GuidedError);
    expect((thrown as Error).message).toMatch(/^plan\.json is not a Terraform JSON plan: /);
    expect((thrown as Error).message).toMatch(message);
  };

  it('accepts a plan', () => {
    expect(parsePlanJson(JSON.stringify(loadFixture('basic-create.json'))).resource_changes).toHaveLength(3);
  });

  it('says what the file is instead, and what to run', () => {
    rejects('', /it is empty/);
    rejects('PK\u0003\u0004binary', /binary plan file/);
    rejects('Terraform will perform the following actions:\n', /human-readable plan output/);
    rejects('{"format_version": ', /not valid JSON/);
    rejects('[1, 2]', /JSON array/);
    rejects('"text"', /JSON string/);
    rejects('{"format_version":"1.0","terraform_version":"1.9.0","values":{"root_module":{}}}', /it is a state/);
    rejects('{"format_version":"1.0","valid":true,"error_count":0,"warning_count":0,"diagnostics":[]}', /terraform validate -json/);
    rejects('{"resource_changes": []}', /no "format_version"/);
    rejects('{"format_version":"2.0","resource_changes":[]}', /format_version is 2\.0/);
    rejects('{"format_version":"1.2","resource_changes":{}}', /"resource_changes" is not a list/);
    rejects('{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{}}]}', /resource_changes\[0\] has no "address" or no "change.actions"/);
    rejects('{"format_version":"1.2","output_changes":[]}', /"output_changes" is not an object/);
  });

  it('skips the members the summary does not read, including variables (sensitive values in clear)', () => {
    const text = JSON.stringify(loadFixture('sensitive-values.json'));
    expect(text).toContain('"variables":{"test_var":{"value":"boop"}}');
    const plan = parsePlanJson(text);
    expect(Object.keys(plan).sort()).toEqual(['applyable', 'complete', 'format_version', 'output_changes', 'resource_changes']);
    expect(Object.keys(parsePlanJson(text, 'plan.json', { keepAll: true })).sort()).toEqual(
      ['applyable', 'complete', 'configuration', 'format_version', 'output_changes', 'planned_values', 'prior_state', 'resource_changes', 'variables'],
    );
  });

  it('finds member boundaries past strings with brackets, quotes and backslashes', () => {
    const resourceChanges = [{ address: 'a.b["}\\"]', mode: 'managed', type: 'a', name: 'b', change: { actions: ['create'], after: { v: '{[\\"' } } }];
    const text = String.raw`{ "format_version" : "1.2",
 "planned_values": {"s": "}\"{[", "t": "\\", "u": [1, {"x": null}]},
 "resource\u005fchanges": ` + JSON.stringify(resourceChanges) + ', "applyable": true }\n';
    expect((JSON.parse(text) as { planned_values: { s: string; t: string } }).planned_values).toMatchObject({ s: '}"{[', t: '\\' });
    const plan = parsePlanJson(text);
    expect(plan.resource_changes).toEqual(resourceChanges);
    expect(plan.applyable).toBe(true);
    expect(plan.planned_values).toBeUndefined();
  });

  it('still rejects what JSON.parse rejects, with its message', () => {
    const whole = JSON.stringify(loadFixture('basic-create.json'));
    rejects(whole.slice(0, whole.length / 2), /not valid JSON/);
    rejects(`${whole} trailing`, /not valid JSON/);
    rejects(whole.replace('"resource_changes":[{', '"resource_changes":[{,'), /not valid JSON/);
  });

  it('points at terraform show -json', () => {
    expect(() => parsePlanJson('{}')).toThrow(/terraform show -json <planfile>/);
  });
});
