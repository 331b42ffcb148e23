/**
 * Finding secrets in text, without the Actions runtime: `mask.ts` registers secrets with the runner and
 * keeps the process-wide list; this file only knows what a secret can look like in printed text, so
 * code that must stay light (the plan renderer, the CLI bundle) can scrub what it is handed.
 */

/** Shorter values would turn ordinary words into *** everywhere; nothing real is that short. */
export const MIN_SECRET_LENGTH = 3;

/**
 * The forms in which a secret can turn up in text we print: as given, trimmed, each of its lines (the
 * runner masks line by line, and a multi-line secret such as a PEM key is printed across lines), and
 * as it appears inside JSON (escaped quotes, backslashes, newlines). Forms shorter than
 * MIN_SECRET_LENGTH are left out.
 */
export function secretForms(value: string): string[] {
  const forms = new Set<string>([value, value.trim()]);
  for (const line of value.split(/\r?\n/)) forms.add(line.trim());
  forms.add(JSON.stringify(value).slice(1, -1));
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

/**
 * A function replacing every form of every one of `secrets` with `***`. One regular expression, longest
 * form first, so at any position the longest matching secret is replaced and none leaves a tail; with
 * no secrets it returns the text unchanged at no cost.
 */
export function createScrubber(secrets: readonly string[]): (text: string) => string {
  return scrubberFor(secrets.filter(Boolean).flatMap(secretForms));
}

/** The same for exact strings (forms already worked out, as mask.ts keeps them). */
export function scrubberFor(forms: Iterable<string>): (text: string) => string {
  const longestFirst = [...new Set(forms)].sort((a, b) => b.length - a.length);
  if (longestFirst.length === 0) return (text) => text;
  const pattern = new RegExp(longestFirst.map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return (text) => text.replace(pattern, '***');
}
