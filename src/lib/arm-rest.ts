import type { TokenCredential } from '@azure/core-auth';
import { renewingToken, type AzureAuth } from './azure-auth.js';
import { formatDuration } from './duration.js';
import { GuidedError } from './errors.js';
import { STATUS_INTERVAL_MS, withStatusLines } from './progress.js';
import { HttpError, sleep, withHttpRetry, type HttpRetryOptions } from './retry.js';

/**
 * A minimal Azure Resource Manager client on fetch, for the ARM operations no installed SDK exposes
 * (ACR Tasks: @azure/arm-containerregistry 12 covers only the 2025-11-01 registry API and no longer has
 * scheduleRun, runs or listBuildSourceUploadUrl). It authenticates with the same TokenCredential as the
 * SDK clients, retries throttling and 5xx, and follows ARM's long-running-operation protocol
 * (202/201 + Location or Azure-AsyncOperation).
 */

/** A failure's ARM error envelope is read by armErrorOf (azure-errors.ts). */
export interface ArmRestOptions extends HttpRetryOptions {
  /** Delay between polls of a long-running operation when ARM gives no Retry-After. */
  pollDelayMs?: number;
  /** Give up on a long-running operation after this long. */
  operationTimeoutMs?: number;
  /** A "still waiting" line at least this often while a long-running operation runs; default STATUS_INTERVAL_MS. */
  statusIntervalMs?: number;
}

export class ArmRestClient {
  private readonly token: () => Promise<string>;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(
    private readonly auth: AzureAuth,
    credential: TokenCredential,
    private readonly options: ArmRestOptions = {},
  ) {
    this.token = renewingToken(credential, `${auth.armEndpoint}/.default`);
    this.wait = options.sleep ?? sleep;
  }

  /**
   * `method` on `path` (starting with /subscriptions/…) at `apiVersion`; returns the parsed JSON body,
   * or, for a long-running operation, the final result.
   */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, apiVersion: string, body?: unknown): Promise<T> {
    const url = `${this.auth.armEndpoint}${path}${path.includes('?') ? '&' : '?'}api-version=${encodeURIComponent(apiVersion)}`;
    const response = await this.send(method, url, body);
    if ((response.status === 202 || response.status === 201) && (response.headers.get('azure-asyncoperation') || response.headers.get('location'))) {
      return withStatusLines(`waiting for Azure to finish ${method} ${path.split('?')[0]}`, this.pollOperation<T>(response), this.options.statusIntervalMs ?? STATUS_INTERVAL_MS);
    }
    return parseJson<T>(await response.text());
  }

  private async send(method: string, url: string, body?: unknown): Promise<Response> {
    return withHttpRetry(
      `${method} ${url.split('?')[0]}`,
      async () => {
        const response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${await this.token()}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? (method === 'POST' ? '' : undefined) : JSON.stringify(body),
        });
        if (response.status >= 400) {
          throw new HttpError(method, url.split('?')[0]!, response.status, await response.text(), response.headers.get('retry-after'));
        }
        return response;
      },
      { attempts: this.options.attempts ?? 5, sleep: this.wait, onRetry: this.options.onRetry },
    );
  }

  /**
   * ARM's asynchronous pattern: poll Azure-AsyncOperation (a status document) or Location (202 until
   * the final result) until done. With Azure-AsyncOperation the final body comes from Location when
   * ARM gave one, as the SDKs do for POST.
   */
  private async pollOperation<T>(first: Response): Promise<T> {
    const asyncUrl = first.headers.get('azure-asyncoperation');
    const locationUrl = first.headers.get('location');
    const timeoutMs = this.options.operationTimeoutMs ?? 30 * 60_000;
    const deadline = Date.now() + timeoutMs;
    let retryAfter = first.headers.get('retry-after');
    for (;;) {
      if (Date.now() > deadline) {
        throw new GuidedError(
          `The Azure operation ${(asyncUrl ?? locationUrl ?? '').split('?')[0]} did not finish in ${formatDuration(timeoutMs)}`,
          'Azure may still be working on it: look at the resource\'s Activity log in the Azure portal, then re-run this step.',
        );
      }
      await this.wait(retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : (this.options.pollDelayMs ?? 5000));
      if (asyncUrl) {
        const response = await this.send('GET', asyncUrl);
        const status = parseJson<{ status?: string; error?: { code?: string; message?: string } }>(await response.text());
        retryAfter = response.headers.get('retry-after');
        if (status.status === 'Succeeded') {
          if (!locationUrl) return undefined as T;
          return parseJson<T>(await (await this.send('GET', locationUrl)).text());
        }
        if (status.status === 'Failed' || status.status === 'Canceled') {
          throw new HttpError('GET', asyncUrl.split('?')[0]!, 200, JSON.stringify({ error: status.error ?? { code: status.status, message: `the operation ${status.status}` } }));
        }
      } else {
        const response = await this.send('GET', locationUrl!);
        retryAfter = response.headers.get('retry-after');
        if (response.status !== 202) return parseJson<T>(await response.text());
      }
    }
  }
}

function parseJson<T>(text: string): T {
  return (text ? JSON.parse(text) : undefined) as T;
}
