import { afterEach, describe, expect, it } from 'vitest';
import { readBoolean, readEnum, readGuid, readInteger, readKeyValues, readList, readString } from '../../src/lib/inputs.js';
import { resetSecretsForTesting, scrub } from '../../src/lib/mask.js';
import { clearInputs, configurationErrorOf, setInput } from '../support/action-inputs.js';
import { splitMaskCommands } from '../support/in-process.js';

afterEach(() => {
  clearInputs();
  resetSecretsForTesting();
});

const failure = configurationErrorOf;

/** Runs `read` while capturing stdout, where @actions/core writes ::add-mask:: commands. */
function capturingStdout<T>(read: () => T): { value: T; masked: string[] } {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    return { value: read(), masked: splitMaskCommands(out).masked };
  } finally {
    process.stdout.write = write;
  }
}

describe('readString', () => {
  const rule = { required: true, pattern: /^[a-z]{1,5}$/, expected: '1–5 lowercase letters', example: 'abc' } as const;

  it('returns the trimmed value', () => {
    setInput('name', '  abc \n');
    expect(readString('name', rule)).toBe('abc');
  });

  it.each(['', '   ', '\t\n'])('a required input that is %j is "required but empty", with the fix', (value) => {
    setInput('name', value);
    const error = failure(() => readString('name', rule));
    expect(error.input).toBe('name');
    expect(error.message).toBe('Input "name" is required but empty. Set "name" to 1–5 lowercase letters, e.g. "abc".');
  });

  it('an optional empty input is undefined, or the default (which is not validated)', () => {
    expect(readString('name', { pattern: /^x$/ })).toBeUndefined();
    setInput('name', '  ');
    expect(readString('name', { default: 'DEFAULT', pattern: /^x$/ })).toBe('DEFAULT');
  });

  it.each(['ab\u00a0c', 'ab“c”', 'café', 'ab\u200bc', '日本'])('refuses non-ASCII %j, saying why', (value) => {
    setInput('name', value);
    const error = failure(() => readString('name', rule));
    expect(error.problem).toMatch(/outside printable ASCII \(often a pasted smart quote or non-breaking space\)/);
    expect(error.message).toContain('Set "name" to 1–5 lowercase letters');
  });

  it('refuses an over-long value with its length and the limit, shortening what it echoes', () => {
    setInput('name', 'x'.repeat(100));
    const error = failure(() => readString('name', { maxLength: 90 }));
    expect(error.problem).toContain('100 characters long; the limit is 90');
    expect(error.problem).toContain(`"${'x'.repeat(57)}..."`);
    expect(error.problem).not.toContain('x'.repeat(61));
  });

  it('refuses a value not matching the pattern, in the rule\'s words', () => {
    setInput('name', 'ABC');
    expect(failure(() => readString('name', rule)).message).toBe(
      'Input "name" is "ABC", which is not 1–5 lowercase letters. Set "name" to 1–5 lowercase letters, e.g. "abc".',
    );
  });

  it('a secret is masked on read and never echoed back in an error', () => {
    setInput('token', 'Sekr3t-value-that-is-wrong');
    const { value: error, masked } = capturingStdout(() => failure(() => readString('token', { secret: true, pattern: /^ghp_/, expected: 'a GitHub token' })));
    expect(masked).toContain('Sekr3t-value-that-is-wrong');
    expect(error.message).not.toContain('Sekr3t');
    expect(error.message).toContain('the given value');
    expect(scrub('x Sekr3t-value-that-is-wrong y')).toBe('x *** y');
  });

  it('a secret may hold non-ASCII characters (passwords do)', () => {
    setInput('token', 'pässwörd-123');
    expect(capturingStdout(() => readString('token', { secret: true })).value).toBe('pässwörd-123');
  });
});

describe('readBoolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['yes', true],
    ['on', true],
    ['1', true],
    ['false', false],
    ['No', false],
    ['off', false],
    ['0', false],
  ])('%j → %s', (value, expected) => {
    setInput('flag', value);
    expect(readBoolean('flag', !expected)).toBe(expected);
  });

  it.each(['', '  '])('%j → the default', (value) => {
    setInput('flag', value);
    expect(readBoolean('flag', true)).toBe(true);
    expect(readBoolean('flag', false)).toBe(false);
  });

  it.each(['maybe', 'truee', 'ｔｒｕｅ'])('refuses %j', (value) => {
    setInput('flag', value);
    expect(failure(() => readBoolean('flag', false)).message).toBe(`Input "flag" is ${JSON.stringify(value)}, which is not a boolean. Set "flag" to true or false.`);
  });
});

describe('readEnum', () => {
  it('matches case-insensitively and returns the canonical value', () => {
    setInput('auth', 'OIDC');
    expect(readEnum('auth', ['oidc', 'client-secret'] as const, 'client-secret')).toBe('oidc');
  });

  it('matches allowed values that have capitals (was: never matched)', () => {
    setInput('sku', 'standard_lrs');
    expect(readEnum('sku', ['Standard_LRS', 'Standard_ZRS'] as const, 'Standard_ZRS')).toBe('Standard_LRS');
    setInput('sku', 'Standard_ZRS');
    expect(readEnum('sku', ['Standard_LRS', 'Standard_ZRS'] as const, 'Standard_LRS')).toBe('Standard_ZRS');
  });

  it('empty → default; unknown → the accepted values', () => {
    expect(readEnum('auth', ['a', 'b'] as const, 'b')).toBe('b');
    setInput('auth', 'c\u00a0');
    expect(failure(() => readEnum('auth', ['a', 'b'] as const, 'a')).message).toMatch(/Set "auth" to one of: a, b\.$/);
  });
});

describe('readInteger', () => {
  it('parses whole numbers within range; empty → default', () => {
    setInput('n', ' 42 ');
    expect(readInteger('n', { default: 1, min: 1, max: 100 })).toBe(42);
    setInput('n', '');
    expect(readInteger('n', { default: 7 })).toBe(7);
    setInput('n', '-3');
    expect(readInteger('n', { default: 0 })).toBe(-3);
  });

  it.each(['1.5', '1e3', 'ten', '٣', '0x10', '9007199254740993'])('refuses %j as not a whole number', (value) => {
    setInput('n', value);
    expect(failure(() => readInteger('n', { default: 1, min: 1 })).problem).toMatch(/not a whole number/);
  });

  it('says the range in plain words, whichever bounds there are', () => {
    setInput('n', '0');
    expect(failure(() => readInteger('n', { default: 1, min: 1, max: 5 })).fix).toBe('Set "n" to a whole number ≥ 1 and ≤ 5.');
    setInput('n', '9');
    expect(failure(() => readInteger('n', { default: 1, max: 5 })).fix).toBe('Set "n" to a whole number ≤ 5.');
    setInput('n', '-1');
    expect(failure(() => readInteger('n', { default: 1, min: 0 })).fix).toBe('Set "n" to a whole number ≥ 0.');
  });
});

describe('readList', () => {
  it('reads one item per line, skipping blanks and comments', () => {
    setInput('items', 'a\n  b  \n\n# not me\nc');
    expect(readList('items')).toEqual(['a', 'b', 'c']);
  });

  it('reads a single comma-separated line', () => {
    setInput('items', 'a, b ,,c');
    expect(readList('items')).toEqual(['a', 'b', 'c']);
  });

  it('empty or whitespace → []', () => {
    setInput('items', '  \n ');
    expect(readList('items')).toEqual([]);
  });
});

describe('readKeyValues', () => {
  it('reads name=value lines; values may hold "=" and are trimmed', () => {
    setInput('vars', 'a = 1\n# comment\n\nb=x=y\r\nc=');
    expect(readKeyValues('vars')).toEqual({ a: '1', b: 'x=y', c: '' });
  });

  it.each([
    ['no equals', /line 1 is "no equals", which is not of the form name=value/],
    ['ok=1\n=value', /line 2 is "=value", which is not of the form name=value/],
    ['a=1\na=2', /names "a" twice \(line 2\)/],
  ])('refuses %j', (value, expected) => {
    setInput('vars', value);
    expect(failure(() => readKeyValues('vars')).message).toMatch(expected);
  });

  it('checks names against a pattern', () => {
    setInput('vars', 'good_name=1\nbad-name=2');
    const error = failure(() => readKeyValues('vars', { keyPattern: /^[a-z_]+$/, keyExpected: 'a Terraform identifier' }));
    expect(error.message).toMatch(/line 2 has the name "bad-name", which is not a Terraform identifier/);
  });
});

describe('readGuid', () => {
  it('accepts a GUID in either case', () => {
    setInput('id', '72F988BF-86F1-41AF-91AB-2D7CD011DB47');
    expect(readGuid('id', true, 'the tenant id')).toBe('72F988BF-86F1-41AF-91AB-2D7CD011DB47');
  });

  it.each(['72f988bf-86f1-41af-91ab', '{72f988bf-86f1-41af-91ab-2d7cd011db47}', 'my-tenant.onmicrosoft.com'])('refuses %j, saying what it is for', (value) => {
    setInput('id', value);
    expect(failure(() => readGuid('id', true, 'the tenant id')).message).toMatch(/which is not a GUID \(the tenant id\)/);
  });

  it('required vs optional when empty', () => {
    expect(readGuid('id', false, 'x')).toBeUndefined();
    expect(failure(() => readGuid('id', true, 'x')).problem).toBe('is required but empty');
  });
});
