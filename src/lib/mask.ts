import * as core from '@actions/core';
import { CREDENTIAL_PARTS, connectionStringParts } from './connection-string.js';
import { scrubberFor, secretForms } from './secret-text.js';

/**
 * Every secret this process knows about. `core.setSecret` makes the runner hide a value in the log; this
 * set lets us also scrub the texts we write ourselves (outputs, comments, summaries, files), which the
 * runner never sees.
 */
const knownSecrets = new Set<string>();
/** Built from knownSecrets on first use after a change. */
let scrubber: ((text: string) => string) | undefined;

export function registerSecret(value: string | undefined | null): void {
  if (!value) return;
  for (const form of secretForms(value)) {
    if (knownSecrets.has(form)) continue;
    knownSecrets.add(form);
    scrubber = undefined;
    core.setSecret(form);
  }
}

/** A storage connection string: the whole string and each credential part in it. */
export function registerConnectionString(connectionString: string): void {
  if (!connectionString) return;
  registerSecret(connectionString);
  for (const [name, value] of connectionStringParts(connectionString)) {
    if (CREDENTIAL_PARTS.has(name)) registerSecret(value);
  }
}

/** Replaces every registered secret in `text` with `***` (longest first, so no secret leaves a tail). */
export function scrub(text: string): string {
  if (knownSecrets.size === 0 || !text) return text;
  scrubber ??= scrubberFor(knownSecrets);
  return scrubber(text);
}

/** For tests: forget what earlier cases registered. */
export function resetSecretsForTesting(): void {
  knownSecrets.clear();
  scrubber = undefined;
}
