import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSecret, resetSecretsForTesting } from '../../src/lib/mask.js';
import { escapeCell, markdownTable } from '../../src/lib/markdown.js';
import { JOB_SUMMARY_LIMIT, appendJobSummary, truncate } from '../../src/lib/summary.js';

const savedSummary = process.env.GITHUB_STEP_SUMMARY;
afterEach(() => {
  if (savedSummary === undefined) delete process.env.GITHUB_STEP_SUMMARY;
  else process.env.GITHUB_STEP_SUMMARY = savedSummary;
  resetSecretsForTesting();
});

function summaryFile(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'summary-')), 'step-summary');
  writeFileSync(file, '');
  process.env.GITHUB_STEP_SUMMARY = file;
  return file;
}

describe('markdown helpers', () => {
  it('escapes what would break a table cell', () => {
    expect(escapeCell('a|b')).toBe('a\\|b');
    expect(escapeCell('back\\slash')).toBe('back\\\\slash');
    expect(escapeCell('two\nlines\r\nhere')).toBe('two<br>lines<br>here');
  });

  it('builds a table with a header separator', () => {
    expect(markdownTable(['Name', 'Value'], [['a', '1|2'], ['b', '']])).toBe('| Name | Value |\n| --- | --- |\n| a | 1\\|2 |\n| b |  |');
  });

  it('truncates with a notice, never beyond the limit', () => {
    expect(truncate('short', 10, '…')).toBe('short');
    expect(truncate('0123456789abc', 10, '[cut]')).toBe('01234[cut]');
    expect(truncate('0123456789abc', 10, '[cut]')).toHaveLength(10);
    // A notice longer than the limit: cut hard (was: returned the whole notice, over the limit).
    expect(truncate('0123456789', 3, '[much too long notice]')).toBe('012');
  });
});

describe('appendJobSummary', () => {
  it('does nothing outside a runner', async () => {
    delete process.env.GITHUB_STEP_SUMMARY;
    await expect(appendJobSummary('# hi')).resolves.toBeUndefined();
  });

  it('appends scrubbed Markdown', async () => {
    const file = summaryFile();
    registerSecret('hunter2-secret');
    await appendJobSummary('password: hunter2-secret');
    await appendJobSummary('second');
    expect(readFileSync(file, 'utf8')).toBe('password: ***\nsecond\n');
  });

  it('keeps under GitHub\'s 1 MiB limit, saying it shortened', async () => {
    const file = summaryFile();
    await appendJobSummary('x'.repeat(2 * 1024 * 1024));
    const text = readFileSync(file, 'utf8');
    expect(text.length).toBeLessThanOrEqual(JOB_SUMMARY_LIMIT + 1);
    expect(text).toContain('summary shortened');
  });

  it('writes to the GITHUB_STEP_SUMMARY of the moment (core.summary would keep the first one it saw)', async () => {
    const first = summaryFile();
    await appendJobSummary('one');
    const second = summaryFile();
    await appendJobSummary('two');
    expect(readFileSync(first, 'utf8')).toBe('one\n');
    expect(readFileSync(second, 'utf8')).toBe('two\n');
  });
});
