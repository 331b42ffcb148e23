import * as core from '@actions/core';
import { ConfigurationError } from './errors.js';
import { registerSecret } from './mask.js';

/**
 * Readers for action inputs. Each action parses its inputs once, through these, into a typed `Inputs`
 * object before it does anything else, so a bad value stops the run before the first side effect.
 * Every error names the input, says what is wrong with the value, and how to fix it.
 */

/** Raw value as the runner passes it (`INPUT_<NAME>`), trimmed; `''` when unset. */
export function rawInput(name: string): string {
  return core.getInput(name, { trimWhitespace: true });
}

export interface StringRule {
  required?: boolean;
  default?: string;
  /** The value must match this whole pattern. */
  pattern?: RegExp;
  /** Human wording of `pattern`, used in the error: "1–10 lowercase letters or digits". */
  expected?: string;
  /** An example of a good value, for the error's fix. */
  example?: string;
  maxLength?: number;
  /** Never echo the value back (tokens, keys, connection strings); it is masked on read. */
  secret?: boolean;
}

function describeValue(value: string, secret: boolean | undefined): string {
  if (secret) return 'the given value';
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

function fixText(name: string, rule: StringRule): string {
  const want = rule.expected ? ` to ${rule.expected}` : '';
  const example = rule.example ? `, e.g. "${rule.example}"` : '';
  return `Set "${name}"${want}${example}.`;
}

/** Characters outside printable ASCII are almost always a copy-paste accident (smart quotes, NBSP). */
const NON_PRINTABLE_ASCII = /[^\x20-\x7e\r\n\t]/;

export function readString(name: string, rule: StringRule & { required: true }): string;
export function readString(name: string, rule: StringRule & { default: string }): string;
export function readString(name: string, rule?: StringRule): string | undefined;
export function readString(name: string, rule: StringRule = {}): string | undefined {
  const value = rawInput(name);
  if (rule.secret && value) registerSecret(value);
  if (!value) {
    if (rule.default !== undefined) return rule.default;
    if (rule.required) {
      throw new ConfigurationError(name, 'is required but empty', fixText(name, rule));
    }
    return undefined;
  }
  if (!rule.secret && NON_PRINTABLE_ASCII.test(value)) {
    throw new ConfigurationError(
      name,
      `is ${describeValue(value, rule.secret)}, which holds a character outside printable ASCII (often a pasted smart quote or non-breaking space)`,
      fixText(name, rule),
    );
  }
  if (rule.maxLength !== undefined && value.length > rule.maxLength) {
    throw new ConfigurationError(
      name,
      `is ${describeValue(value, rule.secret)}, ${value.length} characters long; the limit is ${rule.maxLength}`,
      fixText(name, rule),
    );
  }
  if (rule.pattern && !rule.pattern.test(value)) {
    throw new ConfigurationError(
      name,
      `is ${describeValue(value, rule.secret)}, which is not ${rule.expected ?? `of the form ${rule.pattern}`}`,
      fixText(name, rule),
    );
  }
  return value;
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

export function readBoolean(name: string, defaultValue: boolean): boolean {
  const value = rawInput(name).toLowerCase();
  if (!value) return defaultValue;
  if (TRUE_WORDS.has(value)) return true;
  if (FALSE_WORDS.has(value)) return false;
  throw new ConfigurationError(
    name,
    `is ${JSON.stringify(rawInput(name))}, which is not a boolean`,
    `Set "${name}" to true or false.`,
  );
}

export function readEnum<T extends string>(name: string, allowed: readonly T[], defaultValue: T): T {
  const value = rawInput(name);
  if (!value) return defaultValue;
  // Case-insensitive both ways, so allowed values with capitals (Standard_LRS) can be matched at all.
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (!match) {
    throw new ConfigurationError(
      name,
      `is ${describeValue(value, false)}, which is not one of the accepted values`,
      `Set "${name}" to one of: ${allowed.join(', ')}.`,
    );
  }
  return match;
}

export function readInteger(name: string, rule: { default: number; min?: number; max?: number }): number {
  const value = rawInput(name);
  if (!value) return rule.default;
  const bounds = [rule.min !== undefined ? `≥ ${rule.min}` : '', rule.max !== undefined ? `≤ ${rule.max}` : ''].filter(Boolean);
  const range = `a whole number${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
  const parsed = Number(value);
  // Beyond 2^53 a number is no longer exact: "9007199254740993" would silently become ...992.
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw new ConfigurationError(name, `is ${describeValue(value, false)}, which is not a whole number`, `Set "${name}" to ${range}.`);
  }
  if ((rule.min !== undefined && parsed < rule.min) || (rule.max !== undefined && parsed > rule.max)) {
    throw new ConfigurationError(name, `is ${parsed}, outside the accepted range`, `Set "${name}" to ${range}.`);
  }
  return parsed;
}

/** A list given one item per line (blank lines and `#` comments ignored) or comma-separated on one line. */
export function readList(name: string): string[] {
  const value = rawInput(name);
  if (!value) return [];
  const lines = value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const items = lines.length === 1 ? lines[0]!.split(',') : lines;
  return items.map((item) => item.trim()).filter(Boolean);
}

/** Multi-line `name=value` pairs (Terraform variables, tags). Keys must be unique. */
export function readKeyValues(
  name: string,
  rule: { keyPattern?: RegExp; keyExpected?: string } = {},
): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = rawInput(name).split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!key) {
      throw new ConfigurationError(
        name,
        `line ${index + 1} is ${describeValue(line, false)}, which is not of the form name=value`,
        `Write one name=value pair per line in "${name}".`,
      );
    }
    if (rule.keyPattern && !rule.keyPattern.test(key)) {
      throw new ConfigurationError(
        name,
        `line ${index + 1} has the name ${JSON.stringify(key)}, which is not ${rule.keyExpected ?? `of the form ${rule.keyPattern}`}`,
        `Rename it in "${name}".`,
      );
    }
    if (key in result) {
      throw new ConfigurationError(name, `names ${JSON.stringify(key)} twice (line ${index + 1})`, `Keep one line for ${key} in "${name}".`);
    }
    result[key] = line.slice(eq + 1).trim();
  });
  return result;
}

/** http(s)://host[:port][/path]: no user info, query or fragment (a query could carry a SAS token). */
const HTTP_URL = /^https?:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/;
const HTTPS_URL = /^https:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/;

export type UrlRule = Omit<StringRule, 'pattern' | 'secret'> & {
  /** Refuse http:// (endpoints that get a credential). */
  httpsOnly?: boolean;
};

/** A URL input, checked as one (see HTTP_URL) and returned without a trailing slash. */
export function readUrl(name: string, rule: UrlRule & { required: true }): string;
export function readUrl(name: string, rule: UrlRule & { default: string }): string;
export function readUrl(name: string, rule: UrlRule): string | undefined;
export function readUrl(name: string, rule: UrlRule): string | undefined {
  const { httpsOnly, ...stringRule } = rule;
  return readString(name, { ...stringRule, pattern: httpsOnly ? HTTPS_URL : HTTP_URL })?.replace(/\/+$/, '');
}

/** This machine (a port-forward, an emulator): the one place plain http:// may carry a credential. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}

export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function readGuid(name: string, required: boolean, what: string): string | undefined {
  return readString(name, {
    required,
    pattern: GUID_PATTERN,
    expected: `a GUID (${what})`,
    example: '00000000-0000-0000-0000-000000000000',
  });
}
