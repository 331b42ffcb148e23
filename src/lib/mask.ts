import * as core from '@actions/core';

/**
 * Every secret this process knows about. `core.setSecret` makes the runner hide a value in the log; this
 * set lets us also scrub the texts we write ourselves (outputs, comments, summaries, files), which the
 * runner never sees.
 */
const knownSecrets = new Set<string>();

/** Shorter values would turn ordinary words into *** everywhere; nothing real is that short. */
const MIN_SECRET_LENGTH = 3;

export function registerSecret(value: string | undefined | null): void {
  if (!value) return;
  const forms = new Set<string>([value, value.trim()]);
  // The runner masks line by line, so a multi-line secret (a PEM key) is registered per line too.
  for (const line of value.split(/\r?\n/)) forms.add(line.trim());
  // The same value as it appears inside JSON (escaped quotes, backslashes, newlines).
  forms.add(JSON.stringify(value).slice(1, -1));
  for (const form of forms) {
    if (form.length < MIN_SECRET_LENGTH || knownSecrets.has(form)) continue;
    knownSecrets.add(form);
    core.setSecret(form);
  }
}

/** A storage connection string: the whole string and each credential part in it. */
export function registerConnectionString(connectionString: string): void {
  registerSecret(connectionString);
  for (const part of connectionString.split(';')) {
    const match = /^\s*(AccountKey|SharedAccessSignature|SharedAccessKey)=(.+)$/i.exec(part);
    if (match?.[2]) registerSecret(match[2]);
  }
}

/** Replaces every registered secret in `text` with `***` (longest first, so no secret leaves a tail). */
export function scrub(text: string): string {
  if (knownSecrets.size === 0 || !text) return text;
  let result = text;
  for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) {
    if (result.includes(secret)) result = result.split(secret).join('***');
  }
  return result;
}

/** For tests: forget what earlier cases registered. */
export function resetSecretsForTesting(): void {
  knownSecrets.clear();
}
