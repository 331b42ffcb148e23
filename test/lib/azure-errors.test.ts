import { describe, expect, it } from 'vitest';
import { RestError } from '@azure/core-rest-pipeline';
import type { AzureAuth } from '../../src/lib/azure-auth.js';
import { describeAzureError, errorCodeOf, explainAzureError } from '../../src/lib/azure-errors.js';
import { GuidedError } from '../../src/lib/errors.js';
import { HttpError, httpStatusOf, isNotFound } from '../../src/lib/retry.js';

const OIDC: AzureAuth = { method: 'oidc', tenantId: 't', clientId: '11111111-2222-3333-4444-555555555555', subscriptionId: 's', armEndpoint: 'https://management.azure.com' };
const context = { doing: 'creating resource group "rg"', auth: OIDC, roleHint: 'the Contributor role on the subscription' };

function restError(statusCode: number, code: string, message: string): RestError {
  return new RestError(message, { statusCode, code });
}

describe('reading Azure SDK errors', () => {
  it('status, code, not-found', () => {
    const error = restError(404, 'ResourceGroupNotFound', "Resource group 'rg' could not be found.");
    expect(httpStatusOf(error)).toBe(404);
    expect(errorCodeOf(error)).toBe('ResourceGroupNotFound');
    expect(isNotFound(error)).toBe(true);
    expect(isNotFound(restError(403, 'AuthorizationFailed', 'no'))).toBe(false);
    expect(httpStatusOf(new Error('plain'))).toBeUndefined();
    expect(errorCodeOf(undefined)).toBeUndefined();
  });

  it('describeAzureError adds the status and code the SDK message lacks', () => {
    expect(describeAzureError(restError(409, 'Conflict', 'Busy.'))).toBe('Busy. (409 Conflict)');
    expect(describeAzureError(new Error('plain'))).toBe('plain');
    expect(describeAzureError(restError(409, 'Conflict', 'Busy (409 Conflict)'))).toBe('Busy (409 Conflict)');
  });
});

describe('explainAzureError', () => {
  it('403: names the identity and the role to grant', () => {
    const explained = explainAzureError(restError(403, 'AuthorizationFailed', "The client '…' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourcegroups/write'"), context);
    expect(explained).toBeInstanceOf(GuidedError);
    expect((explained as Error).message).toMatch(/^Azure refused creating resource group "rg" \(403 AuthorizationFailed\)/);
    expect((explained as GuidedError).guidance).toBe(
      'Give the identity with client id 11111111-2222-3333-4444-555555555555 the Contributor role on the subscription. Role assignments can take a few minutes to apply; re-running is safe.',
    );
  });

  it('401 and credential failures: guidance for the auth method', () => {
    const unauthorized = explainAzureError(restError(401, 'InvalidAuthenticationToken', 'The access token is invalid.'), context) as GuidedError;
    expect(unauthorized.guidance).toMatch(/federated credential with issuer https:\/\/token\.actions\.githubusercontent\.com/);
    const noToken = Object.assign(new Error('AADSTS7000215: Invalid client secret provided.'), { name: 'AuthenticationRequiredError' });
    const explained = explainAzureError(noToken, { ...context, auth: { ...OIDC, method: 'client-secret' } }) as GuidedError;
    expect(explained.headline).toBe('Could not get an Azure token (auth: client-secret) while creating resource group "rg": AADSTS7000215: Invalid client secret provided.');
    expect(explained.guidance).toMatch(/client secret has not expired/);
    const cli = explainAzureError(Object.assign(new Error('az not found'), { name: 'CredentialUnavailableError' }), { ...context, auth: { method: 'azure-cli', armEndpoint: 'x' } }) as GuidedError;
    expect(cli.guidance).toMatch(/azure\/login/);
  });

  it('leaves other failures, and GuidedErrors, as they are', () => {
    const conflict = restError(409, 'Conflict', 'busy');
    expect(explainAzureError(conflict, context)).toBe(conflict);
    const guided = new GuidedError('x', 'y');
    expect(explainAzureError(guided, context)).toBe(guided);
  });
});

describe('errors of our own ARM client (HttpError with ARM\'s envelope)', () => {
  const forbidden = new HttpError(
    'GET',
    'https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr',
    403,
    JSON.stringify({ error: { code: 'AuthorizationFailed', message: "The client 'x' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read'." } }),
  );

  it('reads the status and the ARM error code', () => {
    expect(httpStatusOf(forbidden)).toBe(403);
    expect(errorCodeOf(forbidden)).toBe('AuthorizationFailed');
    expect(isNotFound(new HttpError('GET', 'https://k8s/api/v1/namespaces/x', 404, '{}'))).toBe(true);
    // Octokit's RequestError carries `status`.
    expect(httpStatusOf(Object.assign(new Error('Not Found'), { status: 404 }))).toBe(404);
  });

  it('explains a 403 with the role to grant and ARM\'s own message (not the raw JSON body)', () => {
    const explained = explainAzureError(forbidden, { ...context, doing: 'reading registry "acr"', roleHint: '"AcrPush" on the registry' }) as GuidedError;
    expect(explained).toBeInstanceOf(GuidedError);
    expect(explained.headline).toBe("Azure refused reading registry \"acr\" (403 AuthorizationFailed): The client 'x' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read'.");
    expect(explained.guidance).toMatch(/^Give the identity with client id 11111111-2222-3333-4444-555555555555 "AcrPush" on the registry\./);
    expect(describeAzureError(forbidden)).toBe("The client 'x' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read'. (403 AuthorizationFailed)");
  });
});
