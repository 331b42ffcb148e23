import type { AzureAuth } from './azure-auth.js';
import { GuidedError, errorMessage } from './errors.js';
import { HttpError, httpStatusOf } from './retry.js';

/**
 * Turning the Azure failures a workflow author can fix (no token, no role) into GuidedErrors that say
 * what to do, instead of a bare "403". Works on the errors of every Azure SDK without importing one —
 * RestError carries `statusCode` and the service's error `code`; @azure/identity's errors carry a
 * `name` — and on the HttpError of our own ARM client (arm-rest.ts), whose body is ARM's error envelope.
 */

export interface ArmErrorBody {
  error?: { code?: string; message?: string };
}

/** ARM's error envelope `{ error: { code, message } }` of an HttpError, when the failure carries one. */
export function armErrorOf(error: unknown): { code: string; message: string } | undefined {
  if (!(error instanceof HttpError)) return undefined;
  try {
    const body = JSON.parse(error.body) as ArmErrorBody;
    return body.error?.code ? { code: body.error.code, message: body.error.message ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

/** The service's error code: ARM's `error.code` (ResourceGroupNotFound) or Storage's x-ms-error-code. */
export function errorCodeOf(error: unknown): string | undefined {
  const armError = armErrorOf(error);
  if (armError) return armError.code;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The service's own words: ARM's `error.message` when our client got an envelope, else the error's message. */
function serviceMessageOf(error: unknown): string {
  return armErrorOf(error)?.message || errorMessage(error);
}

/** The message with the HTTP status and service error code, which the SDKs leave out of it. */
export function describeAzureError(error: unknown): string {
  const message = serviceMessageOf(error);
  const status = httpStatusOf(error);
  const code = errorCodeOf(error);
  if (status === undefined && code === undefined) return message;
  const tag = [status, code].filter((part) => part !== undefined).join(' ');
  return message.includes(tag) ? message : `${message} (${tag})`;
}

const IDENTITY_ERRORS = new Set(['AuthenticationError', 'AuthenticationRequiredError', 'CredentialUnavailableError', 'AggregateAuthenticationError']);

function identityGuidance(auth: AzureAuth): string {
  switch (auth.method) {
    case 'oidc':
      return (
        'Check that the app registration or managed identity "client-id" has a federated credential with issuer ' +
        'https://token.actions.githubusercontent.com and a subject matching this job (e.g. repo:OWNER/REPO:environment:ENV ' +
        'when the job has an environment, repo:OWNER/REPO:ref:refs/heads/BRANCH otherwise), and that "tenant-id" is its tenant.'
      );
    case 'client-secret':
      return 'Check "client-id" and "tenant-id", and that the client secret has not expired (Entra ID → App registrations → Certificates & secrets).';
    case 'azure-cli':
      return 'Run azure/login (or `az login`) in an earlier step of this job, or choose another "auth".';
    case 'connection-string':
      return 'Check that the connection string is current (keys rotate) and that the account allows shared-key access.';
  }
}

/**
 * `error` explained as a GuidedError when it is a credential or permission failure; otherwise `error`
 * itself. `doing` reads as "while <doing>"; `roleHint` names the role that grants it.
 */
export function explainAzureError(error: unknown, context: { doing: string; auth: AzureAuth; roleHint: string }): unknown {
  if (error instanceof GuidedError) return error;
  const name = (error as { name?: unknown } | undefined)?.name;
  const firstLine = serviceMessageOf(error).split('\n')[0] ?? '';
  if (typeof name === 'string' && IDENTITY_ERRORS.has(name)) {
    return new GuidedError(`Could not get an Azure token (auth: ${context.auth.method}) while ${context.doing}: ${firstLine}`, identityGuidance(context.auth));
  }
  const status = httpStatusOf(error);
  const code = errorCodeOf(error) ?? '';
  if (status === 401) {
    return new GuidedError(`Azure did not accept the token while ${context.doing} (401 ${code}): ${firstLine}`, identityGuidance(context.auth));
  }
  if (status === 403) {
    const who = context.auth.clientId ? `the identity with client id ${context.auth.clientId}` : 'the signed-in identity';
    return new GuidedError(
      `Azure refused ${context.doing} (403 ${code}): ${firstLine}`,
      `Give ${who} ${context.roleHint}. Role assignments can take a few minutes to apply; re-running is safe.`,
    );
  }
  return error;
}
