import { describe, expect, it } from 'vitest';
import { withStatusLines } from '../../src/lib/progress.js';
import { runInProcess } from '../support/in-process.js';

describe('withStatusLines', () => {
  it('prints a status line every interval while the work runs, and stops when it settles', async () => {
    let value: string | undefined;
    const result = await runInProcess(async () => {
      value = await withStatusLines('creating storage account acct', new Promise<string>((resolve) => setTimeout(() => resolve('done'), 130)), 40);
      await new Promise((resolve) => setTimeout(resolve, 100));
    });
    expect(value).toBe('done');
    const lines = result.log.split('\n').filter((line) => line.startsWith('… still creating storage account acct ('));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    // Nothing after the work ended (100 ms more would have been 2 more lines).
    expect(lines.length).toBeLessThanOrEqual(3);
  });

  it('passes a failure through, and prints nothing for quick work', async () => {
    const result = await runInProcess(async () => {
      await withStatusLines('x', Promise.reject(new Error('boom')), 1000);
    });
    expect((result.error as Error).message).toBe('boom');
    expect(result.log).not.toContain('still');
  });
});
