import { appendFile } from 'node:fs/promises';
import { EOL } from 'node:os';
import { scrub } from './mask.js';

/** GitHub refuses a step summary over 1 MiB; leave room for what other steps append. */
export const JOB_SUMMARY_LIMIT = 1024 * 1024 - 16 * 1024;

/** Shortens `text` to at most `limit` characters, ending with `notice` when it had to cut. */
export function truncate(text: string, limit: number, notice: string): string {
  if (text.length <= limit) return text;
  // No room for the notice: cut hard rather than return more than `limit`.
  if (notice.length >= limit) return text.slice(0, limit);
  return text.slice(0, limit - notice.length) + notice;
}

/**
 * Appends Markdown to the job summary, scrubbed of every known secret and kept under GitHub's limit.
 * Outside a runner (no GITHUB_STEP_SUMMARY) it does nothing, so local runs do not fail on it.
 */
export async function appendJobSummary(markdown: string): Promise<void> {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  const text = truncate(scrub(markdown), JOB_SUMMARY_LIMIT, '\n\n_(summary shortened to fit GitHub\'s 1 MiB limit)_\n');
  // Appended directly rather than through core.summary, which remembers the first GITHUB_STEP_SUMMARY
  // it saw for the life of the process (so in-process tests of several runs all wrote to one file).
  await appendFile(file, `${text}${EOL}`, 'utf8');
}
