/**
 * A deliberately small evaluator of GitHub Actions expressions, for running the reusable workflows in
 * tests. It knows exactly what those workflows use and refuses everything else with an
 * ExpressionError, so an expression it does not understand fails the test instead of passing through
 * as text:
 *
 * - literals: 'single-quoted strings' ('' escapes a quote), true, false, null, numbers;
 * - references `a.b.c` (property names may contain `-`, as in `inputs.prefect-api-url`), resolved by the
 *   caller's `lookup`, which itself refuses what it cannot resolve;
 * - `a || b` (the first truthy operand, else the last) — everywhere;
 * - `a && b`, `a == b`, `a != b` and parentheses — in conditions (`if:`) only.
 *
 * No functions (success(), contains(), format(), …), no `!`, no `<`/`>`, no `x['y']` or `x.*`.
 * Semantics follow GitHub's: falsy = false, 0, -0, '', null, NaN; `==` compares strings ignoring case
 * and otherwise converts both sides to numbers.
 * https://docs.github.com/en/actions/reference/workflows-and-actions/expressions
 */

export type Value = string | number | boolean | null;

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

/** Resolves a reference such as ['steps', 'plan', 'outputs', 'plan-id']; throws ExpressionError when it cannot. */
export type Lookup = (path: string[]) => Value;

/** `value`: with:, env:, names and outputs (references, literals, ||); `condition`: if: (adds &&, ==, !=, parentheses). */
export type Mode = 'value' | 'condition';

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'reference'; path: string[] }
  | { kind: 'or' | 'and' | 'equal' | 'notEqual'; left: Node; right: Node };

type Token =
  | { type: 'string'; value: string; at: number }
  | { type: 'number'; value: number; at: number }
  | { type: 'word'; value: string; at: number }
  | { type: 'operator'; value: '||' | '&&' | '==' | '!=' | '(' | ')'; at: number };

const WORD = /[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*/y;
const NUMBER = /-?\d+(?:\.\d+)?/y;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new ExpressionError(`${what} at character ${i + 1} of \`${source}\`: this evaluator supports references, literals, || (and &&, ==, != and parentheses in if:) only`);
  };
  while (i < source.length) {
    const char = source[i]!;
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (char === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= source.length) fail('an unterminated string');
        if (source[j] === "'") {
          if (source[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += source[j++];
      }
      tokens.push({ type: 'string', value, at: i });
      i = j + 1;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (two === '||' || two === '&&' || two === '==' || two === '!=') {
      tokens.push({ type: 'operator', value: two, at: i });
      i += 2;
      continue;
    }
    if (char === '(' || char === ')') {
      tokens.push({ type: 'operator', value: char, at: i });
      i++;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(source);
    if (number) {
      tokens.push({ type: 'number', value: Number(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(source);
    if (word) {
      const end = i + word[0].length;
      // `contains(…)`, `success()`: a function call. `x[…]`, `x.*`: index and object filters.
      const next = source.slice(end).trimStart()[0];
      if (next === '(') fail(`a function call (${word[0]}(…))`);
      if (source[end] === '[' || source.slice(end, end + 2) === '.*') fail(`an index or filter on ${word[0]}`);
      tokens.push({ type: 'word', value: word[0], at: i });
      i = end;
      continue;
    }
    fail(`the unsupported ${JSON.stringify(char)}`);
  }
  return tokens;
}

/** Parses one expression (the text between `${{` and `}}`, or an if: condition). */
export function parse(source: string, mode: Mode): Node {
  const tokens = tokenize(source);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const unsupportedInValues = (operator: string): never => {
    throw new ExpressionError(`\`${source}\` uses ${operator}, which this evaluator accepts in if: conditions only; with:, env:, names and outputs may use references, literals and || defaults`);
  };

  const primary = (): Node => {
    const token = tokens[position++];
    if (!token) throw new ExpressionError(`\`${source}\` ends where a value was expected`);
    if (token.type === 'string' || token.type === 'number') return { kind: 'literal', value: token.value };
    if (token.type === 'word') {
      if (token.value === 'true' || token.value === 'false') return { kind: 'literal', value: token.value === 'true' };
      if (token.value === 'null') return { kind: 'literal', value: null };
      return { kind: 'reference', path: token.value.split('.') };
    }
    if (token.value === '(') {
      if (mode === 'value') unsupportedInValues('parentheses');
      const inner = or();
      const close = tokens[position++];
      if (close?.type !== 'operator' || close.value !== ')') throw new ExpressionError(`\`${source}\` has an unclosed parenthesis`);
      return inner;
    }
    throw new ExpressionError(`\`${source}\` has ${token.value} where a value was expected`);
  };
  const comparison = (): Node => {
    let left = primary();
    for (let token = peek(); token?.type === 'operator' && (token.value === '==' || token.value === '!='); token = peek()) {
      if (mode === 'value') unsupportedInValues(token.value);
      position++;
      left = { kind: token.value === '==' ? 'equal' : 'notEqual', left, right: primary() };
    }
    return left;
  };
  const and = (): Node => {
    let left = comparison();
    for (let token = peek(); token?.type === 'operator' && token.value === '&&'; token = peek()) {
      if (mode === 'value') unsupportedInValues('&&');
      position++;
      left = { kind: 'and', left, right: comparison() };
    }
    return left;
  };
  const or = (): Node => {
    let left = and();
    for (let token = peek(); token?.type === 'operator' && token.value === '||'; token = peek()) {
      position++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };

  const node = or();
  if (position < tokens.length) throw new ExpressionError(`\`${source}\` has more after a complete expression (at character ${tokens[position]!.at + 1})`);
  return node;
}

export function isTruthy(value: Value): boolean {
  return !(value === false || value === null || value === '' || value === 0 || (typeof value === 'number' && Number.isNaN(value)));
}

function toNumber(value: Value): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  const trimmed = value.trim();
  return trimmed === '' ? 0 : Number(trimmed);
}

/** GitHub's `==`: strings compare ignoring case; mixed types compare as numbers (NaN equals nothing). */
export function looselyEqual(left: Value, right: Value): boolean {
  if (typeof left === 'string' && typeof right === 'string') return left.toLowerCase() === right.toLowerCase();
  if (left === null && right === null) return true;
  if (typeof left === typeof right && typeof left !== 'object') return left === right;
  const a = toNumber(left);
  const b = toNumber(right);
  return !Number.isNaN(a) && !Number.isNaN(b) && a === b;
}

function evaluateNode(node: Node, lookup: Lookup): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'reference':
      return lookup(node.path);
    case 'or': {
      const left = evaluateNode(node.left, lookup);
      return isTruthy(left) ? left : evaluateNode(node.right, lookup);
    }
    case 'and': {
      const left = evaluateNode(node.left, lookup);
      return isTruthy(left) ? evaluateNode(node.right, lookup) : left;
    }
    case 'equal':
      return looselyEqual(evaluateNode(node.left, lookup), evaluateNode(node.right, lookup));
    case 'notEqual':
      return !looselyEqual(evaluateNode(node.left, lookup), evaluateNode(node.right, lookup));
  }
}

export function evaluate(source: string, lookup: Lookup, mode: Mode): Value {
  return evaluateNode(parse(source, mode), lookup);
}

/** How GitHub turns a value into text (an input, an env variable, part of a string). */
export function toText(value: Value): string {
  if (value === null) return '';
  return String(value);
}

const EMBEDDED = /\$\{\{([\s\S]*?)\}\}/g;

/**
 * A workflow value: text with `${{ }}` expressions, a number or a boolean (YAML scalars). A string that is
 * exactly one expression keeps the expression's type; any other string is the text with each
 * expression's value substituted.
 */
export function interpolate(value: unknown, lookup: Lookup): Value {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value !== 'string') throw new ExpressionError(`${JSON.stringify(value)} is a ${Array.isArray(value) ? 'list' : 'mapping'}, where a workflow value (text) was expected`);
  const withoutExpressions = value.replace(EMBEDDED, '');
  if (withoutExpressions.includes('${{')) throw new ExpressionError(`\`${value}\` has a \${{ without its closing }}`);
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(value);
  if (whole && !whole[1]!.includes('}}')) return evaluate(whole[1]!, lookup, 'value');
  return value.replace(EMBEDDED, (_, source: string) => toText(evaluate(source, lookup, 'value')));
}

/** A step's `if:` — with or without the `${{ }}` around it — as GitHub decides it (truthy or not). */
export function condition(value: unknown, lookup: Lookup): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') throw new ExpressionError(`if: ${JSON.stringify(value)} is not a condition`);
  const whole = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(value);
  const source = whole ? whole[1]! : value;
  if (source.includes('${{')) throw new ExpressionError(`if: \`${value}\` mixes text and \${{ }}; write the condition as one expression`);
  return isTruthy(evaluate(source, lookup, 'condition'));
}
