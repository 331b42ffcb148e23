import { describe, expect, it } from 'vitest';
import { ExpressionError, condition, evaluate, interpolate, looselyEqual, type Lookup } from './expressions.js';

// The evaluator the e2e runner uses: what it evaluates as GitHub does, and that it refuses — never passes
// through — anything else.

const CONTEXT: Record<string, string | boolean> = {
  'inputs.environment': 'dev',
  'inputs.image': '',
  'inputs.smoke-run': true,
  'inputs.prefect-api-url': '',
  'vars.PREFECT_API_URL': 'https://api.prefect.cloud/api/accounts/a/workspaces/w',
  'steps.image.outputs.image': '',
  'needs.plan.outputs.plan-id': 'dev/abc/terraform-stacks-bakery',
};

const lookup: Lookup = (path) => {
  const key = path.join('.');
  if (!(key in CONTEXT)) throw new ExpressionError(`${key}: unknown in this test`);
  return CONTEXT[key]!;
};

describe('values (with:, env:, names, outputs)', () => {
  it('substitutes references into text and keeps the type of a whole expression', () => {
    expect(interpolate('Plan ${{ inputs.environment }}', lookup)).toBe('Plan dev');
    expect(interpolate('bakery-${{ inputs.environment }}-${{ needs.plan.outputs.plan-id }}', lookup)).toBe('bakery-dev-dev/abc/terraform-stacks-bakery');
    expect(interpolate('${{ inputs.smoke-run }}', lookup)).toBe(true);
    expect(interpolate('x ${{ inputs.smoke-run }}', lookup)).toBe('x true');
    expect(interpolate(true, lookup)).toBe(true);
    expect(interpolate('no expression', lookup)).toBe('no expression');
  });

  it('gives || the first truthy operand, else the last', () => {
    expect(interpolate('${{ inputs.prefect-api-url || vars.PREFECT_API_URL }}', lookup)).toBe(CONTEXT['vars.PREFECT_API_URL']);
    expect(interpolate('${{ steps.image.outputs.image || inputs.image }}', lookup)).toBe('');
    expect(interpolate("${{ inputs.image || 'fallback' }}", lookup)).toBe('fallback');
    expect(interpolate("${{ inputs.environment || 'fallback' }}", lookup)).toBe('dev');
    expect(evaluate("'' || false", lookup, 'value')).toBe(false);
  });

  it('reads string literals with doubled quotes, numbers, true, false and null', () => {
    expect(evaluate("'it''s'", lookup, 'value')).toBe("it's");
    expect(evaluate('42', lookup, 'value')).toBe(42);
    expect(evaluate('null || 0', lookup, 'value')).toBe(0);
  });

  it.each([
    ['a function call', '${{ format(\'{0}\', inputs.environment) }}', /function call \(format\(…\)\)/],
    ['a status function', '${{ success() }}', /function call \(success\(…\)\)/],
    ['negation', '${{ !inputs.image }}', /unsupported "!"/],
    ['an index', "${{ steps.plan.outputs['plan-id'] }}", /index or filter on steps\.plan\.outputs/],
    ['an object filter', '${{ needs.*.result }}', /index or filter on needs/],
    ['a comparison in a value', "${{ inputs.image == '' }}", /uses ==, which this evaluator accepts in if: conditions only/],
    ['&& in a value', '${{ inputs.environment && inputs.image }}', /uses &&/],
    ['parentheses in a value', '${{ (inputs.environment) }}', /uses parentheses/],
    ['a less-than', '${{ inputs.environment < 2 }}', /unsupported "<"/],
    ['an unterminated string', "${{ 'dev }}", /unterminated string/],
    ['an unclosed ${{', 'Plan ${{ inputs.environment', /without its closing/],
    ['two values with no operator', '${{ inputs.environment inputs.image }}', /more after a complete expression/],
    ['an unknown reference', '${{ env.HOME }}', /env\.HOME: unknown in this test/],
  ])('refuses %s', (_, text, message) => {
    expect(() => interpolate(text, lookup)).toThrow(ExpressionError);
    expect(() => interpolate(text, lookup)).toThrow(message);
  });

  it('refuses a mapping or list where text is expected', () => {
    expect(() => interpolate({ a: 1 }, lookup)).toThrow(/is a mapping/);
  });
});

describe('conditions (if:)', () => {
  it('decides the forms deploy.yml uses, with or without ${{ }}', () => {
    expect(condition("inputs.image == ''", lookup)).toBe(true);
    expect(condition("${{ inputs.image != '' }}", lookup)).toBe(false);
    expect(condition("(inputs.prefect-api-url || vars.PREFECT_API_URL) != ''", lookup)).toBe(true);
    expect(condition("(inputs.prefect-api-url || vars.PREFECT_API_URL) != '' && inputs.image != ''", lookup)).toBe(false);
    expect(condition("inputs.image == '' && (inputs.environment == 'DEV')", lookup)).toBe(true);
    expect(condition(false, lookup)).toBe(false);
  });

  it("compares as GitHub does: strings ignoring case, mixed types as numbers, NaN equal to nothing", () => {
    expect(looselyEqual('Dev', 'dev')).toBe(true);
    expect(looselyEqual('', false)).toBe(true);
    expect(looselyEqual('1', true)).toBe(true);
    expect(looselyEqual(null, '')).toBe(true);
    expect(looselyEqual('abc', 0)).toBe(false);
    expect(looselyEqual(null, null)).toBe(true);
  });

  it.each([
    ['success()', /function call/],
    ['always() && inputs.image', /function call/],
    ["contains(inputs.environment, 'prod')", /function call/],
    ["!(inputs.image == '')", /unsupported "!"/],
    ["Plan ${{ inputs.image == '' }}", /mixes text and/],
    ["(inputs.image == ''", /unclosed parenthesis/],
  ])('refuses if: %s', (text, message) => {
    expect(() => condition(text, lookup)).toThrow(message);
  });
});
