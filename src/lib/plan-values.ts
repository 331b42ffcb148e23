/**
 * Short, one-line renderings of plan values for the summary, with Terraform's sensitivity and
 * unknown-value markers applied at every depth. Terraform marks them in mirror structures beside the
 * value: `after_sensitive: {"password": true, "tags": {"owner": true}}` or `true` for the whole value;
 * `after_unknown` the same way for values known only after apply.
 */

export const SENSITIVE_PLACEHOLDER = '(sensitive)';
export const UNKNOWN_PLACEHOLDER = '(known after apply)';

/** The mirror entry for `key` inside a sensitivity/unknown mirror (`true` covers everything below). */
function child(mirror: unknown, key: string | number): unknown {
  if (mirror === true) return true;
  if (mirror === null || typeof mirror !== 'object') return undefined;
  return (mirror as Record<string | number, unknown>)[key];
}

// The walks below use for…in rather than Object.keys/values: they run over every changed resource of
// a plan with tens of thousands, and allocating key arrays there is most of their cost in time and in
// memory. Objects from JSON.parse have no inherited enumerable keys, so for…in sees exactly their own.

/** Whether any value anywhere under `mirror` is marked (`true`). */
export function anyMarked(mirror: unknown): boolean {
  if (mirror === true) return true;
  if (mirror === null || typeof mirror !== 'object') return false;
  for (const key in mirror) if (anyMarked((mirror as Record<string, unknown>)[key])) return true;
  return false;
}

class BoundedWriter {
  readonly parts: string[] = [];
  private remaining: number;
  full = false;

  constructor(limit: number) {
    this.remaining = limit;
  }

  write(text: string): void {
    if (this.full) return;
    if (text.length > this.remaining) {
      this.parts.push(text.slice(0, Math.max(0, this.remaining)), '…');
      this.full = true;
      return;
    }
    this.parts.push(text);
    this.remaining -= text.length;
  }
}

function writeValue(out: BoundedWriter, value: unknown, sensitive: unknown, unknown: unknown): void {
  if (out.full) return;
  if (sensitive === true) return out.write(SENSITIVE_PLACEHOLDER);
  if (unknown === true) return out.write(UNKNOWN_PLACEHOLDER);
  if (Array.isArray(value) || (Array.isArray(unknown) && (value === null || value === undefined))) {
    const items = Array.isArray(value) ? value : [];
    const length = Math.max(items.length, Array.isArray(unknown) ? unknown.length : 0);
    out.write('[');
    for (let i = 0; i < length && !out.full; i++) {
      if (i > 0) out.write(', ');
      writeValue(out, items[i], child(sensitive, i), child(unknown, i));
    }
    return out.write(']');
  }
  const isObject = value !== null && typeof value === 'object';
  const unknownKeys = unknown !== null && typeof unknown === 'object' && !Array.isArray(unknown) ? Object.keys(unknown) : [];
  if (isObject || unknownKeys.length > 0) {
    const record = (isObject ? value : {}) as Record<string, unknown>;
    const keys = Object.keys(record);
    // Attributes known only after apply are absent from `after`; show them too, as Terraform does.
    for (const key of unknownKeys) if (!(key in record) && child(unknown, key) === true) keys.push(key);
    out.write('{');
    keys.forEach((key, index) => {
      if (out.full) return;
      if (index > 0) out.write(', ');
      out.write(`${JSON.stringify(key)}: `);
      writeValue(out, record[key], child(sensitive, key), child(unknown, key));
    });
    return out.write('}');
  }
  if (value === undefined) return out.write('null');
  out.write(JSON.stringify(value));
}

/**
 * A one-line JSON-like rendering of `value` of at most about `limit` characters, with every sensitive
 * part replaced by "(sensitive)" and every unknown part by "(known after apply)". Stops walking as soon
 * as the limit is reached, so a huge value costs no more than a small one.
 */
export function formatPlanValue(value: unknown, sensitive: unknown, unknown: unknown, limit = 200): string {
  const out = new BoundedWriter(limit);
  writeValue(out, value, sensitive, unknown);
  return out.parts.join('');
}

/** Structural equality of two JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  let aCount = 0;
  for (const key in aRecord) {
    aCount++;
    if (!(key in bRecord) || !jsonEqual(aRecord[key], bRecord[key])) return false;
  }
  let bCount = 0;
  for (const _key in bRecord) bCount++;
  return aCount === bCount;
}

/**
 * The top-level attributes whose value differs between `before` and `after`, or becomes known only
 * after apply: what an in-place update or a drift touches. Names only, never values.
 */
export function changedAttributes(before: unknown, after: unknown, afterUnknown: unknown): string[] {
  const beforeRecord = (before !== null && typeof before === 'object' ? before : {}) as Record<string, unknown>;
  const afterRecord = (after !== null && typeof after === 'object' ? after : {}) as Record<string, unknown>;
  const unknownRecord = (afterUnknown !== null && typeof afterUnknown === 'object' ? afterUnknown : {}) as Record<string, unknown>;
  const changed: string[] = [];
  for (const key in afterRecord) {
    if (anyMarked(unknownRecord[key]) || !jsonEqual(beforeRecord[key], afterRecord[key])) changed.push(key);
  }
  // Absent from `after`: known only after apply (then in after_unknown), or removed.
  for (const key in beforeRecord) {
    if (!(key in afterRecord) && (beforeRecord[key] !== null || anyMarked(unknownRecord[key]))) changed.push(key);
  }
  for (const key in unknownRecord) {
    if (!(key in afterRecord) && !(key in beforeRecord) && anyMarked(unknownRecord[key])) changed.push(key);
  }
  return changed;
}
