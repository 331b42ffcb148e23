/**
 * Evaluates the small subset of Terraform expressions that the naming and label checks need:
 * literals, string templates, `var.x`, `local.x` and `merge(...)` of those. Anything else throws, so
 * a name pattern or label map that grows beyond the subset makes its test fail loudly instead of
 * passing unchecked.
 */
import { isObject, templateParts, type HclObject, type HclValue } from './hcl.js';

export interface Scope {
  var: Record<string, HclValue>;
  local: HclObject;
}

export function evaluate(value: HclValue, scope: Scope, seen: Set<string> = new Set()): HclValue {
  if (Array.isArray(value)) return value.map((item) => evaluate(item, scope, seen));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, evaluate(item, scope, seen)]));
  if (typeof value !== 'string') return value;

  const parts = templateParts(value);
  if (parts.length === 1 && parts[0]?.expression !== undefined) return evaluateExpression(parts[0].expression, scope, seen);
  return parts
    .map((part) => {
      if (part.expression === undefined) return part.literal ?? '';
      const result = evaluateExpression(part.expression, scope, seen);
      if (typeof result !== 'string' && typeof result !== 'number') throw new Error(`\${${part.expression}} is not a string`);
      return String(result);
    })
    .join('');
}

function evaluateExpression(expression: string, scope: Scope, seen: Set<string>): HclValue {
  const text = expression.trim();
  const reference = /^(var|local)\.([A-Za-z_][\w-]*)$/.exec(text);
  if (reference) {
    const [, kind, name] = reference as unknown as [string, 'var' | 'local', string];
    const table = kind === 'var' ? scope.var : scope.local;
    if (!(name in table)) throw new Error(`${kind}.${name} is not defined`);
    if (kind === 'var') return table[name] as HclValue;
    if (seen.has(name)) throw new Error(`local.${name} refers to itself`);
    return evaluate(table[name] as HclValue, scope, new Set([...seen, name]));
  }
  const merge = /^merge\(([\s\S]*)\)$/.exec(text);
  if (merge) {
    const parts = (merge[1] as string).split(',').map((part) => part.trim()).filter((part) => part !== '');
    return Object.assign({}, ...parts.map((part) => {
      const result = evaluateExpression(part, scope, seen);
      if (!isObject(result)) throw new Error(`merge() argument ${part} is not an object`);
      return result;
    })) as HclObject;
  }
  throw new Error(`cannot evaluate "${text}" (only literals, var.x, local.x and merge() of them)`);
}
