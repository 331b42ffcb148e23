import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/lib/bytes.js';

describe('formatBytes', () => {
  it('picks the largest binary unit under 1024 of it, with one decimal', () => {
    expect(formatBytes(0)).toBe('0.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3.4 * 1024 * 1024)).toBe('3.4 MiB');
    expect(formatBytes(5 * 1024 ** 4)).toBe('5120.0 GiB');
  });
});
