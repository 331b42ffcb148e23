import { describe, expect, it } from 'vitest';
import { HttpError, backoffDelayMs, isTransientHttpError, parseRetryAfter, retryAfterOf, withRetry } from '../../src/lib/retry.js';

describe('backoffDelayMs', () => {
  it('grows exponentially within [ceiling/4, ceiling], capped at the maximum', () => {
    expect(backoffDelayMs(1, 1000, 60_000, () => 0)).toBe(250);
    expect(backoffDelayMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelayMs(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(backoffDelayMs(3, 1000, 60_000, () => 0)).toBe(1000);
    expect(backoffDelayMs(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelayMs(20, 1000, 60_000, () => 0)).toBe(15_000);
  });

  it('is jittered: different random draws give different delays', () => {
    const delays = new Set([0.1, 0.5, 0.9].map((r) => backoffDelayMs(4, 1000, 60_000, () => r)));
    expect(delays.size).toBe(3);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    // The obsolete forms every recipient must accept (RFC 9110 §5.6.7).
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed Oct 21 07:28:20 2015', Date.parse('Wed Oct 21 07:28:00 2015'))).toBe(20_000);
  });

  it('caps a very long request at 10 minutes', () => {
    expect(parseRetryAfter('86400')).toBe(600_000);
    expect(parseRetryAfter('Thu, 22 Oct 2015 07:28:00 GMT', now)).toBe(600_000);
  });

  it.each([undefined, null, '', 'soon', '1.5', '-5', '12 apples'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('withRetry', () => {
  const noSleep = { sleep: async () => {}, random: () => 1 };

  it('retries a retryable failure until it succeeds, reporting each retry', async () => {
    const retries: { attempt: number; delayMs: number }[] = [];
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new HttpError('GET', 'https://x', 503, 'busy');
        return 'done';
      },
      { attempts: 5, baseDelayMs: 100, isRetryable: isTransientHttpError, onRetry: ({ attempt, delayMs }) => retries.push({ attempt, delayMs }), ...noSleep },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(retries).toEqual([
      { attempt: 1, delayMs: 100 },
      { attempt: 2, delayMs: 200 },
    ]);
  });

  it('gives up after `attempts` and throws the last error', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new HttpError('GET', 'https://x', 500, `failure ${calls}`);
        },
        { attempts: 3, isRetryable: () => true, ...noSleep },
      ),
    ).rejects.toThrow('failure 3');
    expect(calls).toBe(3);
  });

  it('does not retry what is not retryable', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new HttpError('GET', 'https://x', 404, 'gone');
        },
        { attempts: 5, isRetryable: isTransientHttpError, ...noSleep },
      ),
    ).rejects.toBeInstanceOf(HttpError);
    expect(calls).toBe(1);
  });

  it('waits what the server asked (Retry-After) instead of its own backoff', async () => {
    const waits: number[] = [];
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls === 1) throw new HttpError('GET', 'https://x', 429, 'slow down', '7');
        return calls;
      },
      { attempts: 2, baseDelayMs: 1, isRetryable: isTransientHttpError, retryAfterMs: retryAfterOf, sleep: async (ms) => void waits.push(ms) },
    );
    expect(waits).toEqual([7000]);
  });

  it('really sleeps by default (a short delay)', async () => {
    const started = Date.now();
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls === 1) throw new Error('once');
        return calls;
      },
      { attempts: 2, baseDelayMs: 40, random: () => 1, isRetryable: () => true },
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });
});

describe('HttpError and isTransientHttpError', () => {
  it('summarises the failure, cutting a long body', () => {
    const error = new HttpError('POST', 'https://api/x', 500, 'y'.repeat(2000));
    expect(error.message.startsWith('POST https://api/x answered 500: yyy')).toBe(true);
    expect(error.message.length).toBeLessThan(600);
    expect(new HttpError('GET', 'https://api/x', 204, '').message).toBe('GET https://api/x answered 204');
  });

  it.each([408, 425, 429, 500, 502, 503, 504])('%i is transient', (status) => {
    expect(isTransientHttpError(new HttpError('GET', 'u', status, ''))).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 501])('%i is not', (status) => {
    expect(isTransientHttpError(new HttpError('GET', 'u', status, ''))).toBe(false);
  });

  it('dropped connections are transient, directly or as fetch\'s cause', () => {
    expect(isTransientHttpError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientHttpError(new TypeError('fetch failed', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) }))).toBe(true);
    expect(isTransientHttpError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isTransientHttpError(undefined)).toBe(false);
    expect(isTransientHttpError('string')).toBe(false);
  });

  it('retryAfterOf reads only HttpError', () => {
    expect(retryAfterOf(new HttpError('GET', 'u', 503, '', '3'))).toBe(3000);
    expect(retryAfterOf(new Error('x'))).toBeUndefined();
  });
});
