import * as core from '@actions/core';
import { secretForms } from './secret-text.js';

/**
 * Every secret this process knows about. `core.setSecret` makes the runner hide a value in the log; this
 * set lets us also scrub the texts we write ourselves (outputs, comments, summaries, files), which the
 * runner never sees.
 */
const knownSecrets = new Set<string>();

export function registerSecret(value: string | undefined | null): void {
  if (!value) return;
  for (const form of secretForms(value)) {
    if (knownSecrets.has(form)) continue;
    knownSecrets.add(form);
    core.setSecret(form);
  }
}

/** A storage connection string: the whole string and each credential part in it. */
export function registerConnectionString(connectionString: string): void {
  if (!connectionString) return;
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
