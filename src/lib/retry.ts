import { errorMessage } from './errors.js';

/**
 * Retry with exponential backoff and full jitter, honouring a server's Retry-After. Used for the calls
 * the Azure SDKs do not already retry (Prefect, Kubernetes, GitHub, Terraform runs). Also what every
 * client here knows about a failed HTTP call: HttpError, its status whoever threw it, and whether it
 * is worth another attempt.
 */

export interface RetryOptions {
  /** Total attempts, the first included (1 = no retry). */
  attempts: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Whether an error is worth another attempt. */
  isRetryable: (error: unknown) => boolean;
  /** A delay the server asked for (Retry-After), in ms; wins over the computed backoff. */
  retryAfterMs?: (error: unknown) => number | undefined;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** A server may ask for a long pause, but a CI step should not silently hang for hours. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full jitter: a random delay in [0, min(max, base·2^(attempt−1))], never below 1/4 of it. */
export function backoffDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 4 + random() * (ceiling * 3) / 4);
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  // Every HTTP-date form starts with the day name; anything else ("1.5", "soon") is not a Retry-After,
  // even where Date.parse would make a date of it.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseDelayMs ?? 1000;
  const max = options.maxDelayMs ?? 60_000;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.isRetryable(error)) throw error;
      const asked = options.retryAfterMs?.(error);
      const delayMs = asked ?? backoffDelayMs(attempt, base, max, options.random);
      options.onRetry?.({ attempt, delayMs, error });
      await wait(delayMs);
    }
  }
}

/** An HTTP failure from one of our own fetch-based clients (Prefect, Kubernetes, GitHub stand-ins). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly body: string,
    readonly retryAfter?: string | null,
  ) {
    super(`${method} ${url} answered ${status}${body ? `: ${body.slice(0, 500)}` : ''}`);
  }
}

const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Throttling, server-side hiccups and dropped connections: worth another attempt. */
export function isTransientHttpError(error: unknown): boolean {
  if (error instanceof HttpError) return TRANSIENT_STATUSES.has(error.status);
  const code = (error as { code?: string; cause?: { code?: string } } | undefined)?.cause?.code ?? (error as { code?: string } | undefined)?.code;
  return code !== undefined && TRANSIENT_CODES.has(code);
}

export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof HttpError ? parseRetryAfter(error.retryAfter) : undefined;
}

/**
 * The HTTP status of a failed call, whichever client made it: our HttpError (`status`), an Azure SDK
 * RestError (`statusCode`) or an Octokit RequestError (`status`). Undefined for anything else.
 */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof HttpError) return error.status;
  const { statusCode, status } = (error ?? {}) as { statusCode?: unknown; status?: unknown };
  if (typeof statusCode === 'number') return statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function isNotFound(error: unknown): boolean {
  return httpStatusOf(error) === 404;
}

/** What the fetch-based clients (ARM, Kubernetes, ACR) take to tune their retries. */
export interface HttpRetryOptions {
  /** Attempts per call, the first included. */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Told of each retry in one line: the call, the attempt, why, and the wait. */
  onRetry?: (message: string) => void;
}

/**
 * `call` (named by `what`, e.g. "GET https://host/path" — never with a query, which may hold a SAS)
 * retried on throttling, 5xx and dropped connections, after the Retry-After the server asked for.
 */
export function withHttpRetry<T>(what: string, call: () => Promise<T>, options: HttpRetryOptions & { attempts: number }): Promise<T> {
  return withRetry(call, {
    attempts: options.attempts,
    isRetryable: isTransientHttpError,
    retryAfterMs: retryAfterOf,
    sleep: options.sleep,
    onRetry: ({ attempt, delayMs, error }) =>
      options.onRetry?.(`${what} failed (attempt ${attempt}: ${errorMessage(error).slice(0, 200)}); retrying in ${Math.round(delayMs / 1000)} s`),
  });
}
