import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { registerSecret } from './mask.js';

/** Renew this long before a token expires, so no request goes out with a token about to lapse. */
const TOKEN_RENEW_MARGIN_MS = 5 * 60_000;

/**
 * A bearer-token source for `scope` for our own fetch/https clients (the Azure SDKs manage theirs): it
 * reuses the token until shortly before it expires (or the credential's refreshAfter hint), and
 * concurrent callers share one in-flight request. Every token is registered as a secret.
 */
export function renewingToken(credential: TokenCredential, scope: string, now: () => number = Date.now): () => Promise<string> {
  let current: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;
  return async () => {
    const renewAt = current ? (current.refreshAfterTimestamp ?? current.expiresOnTimestamp - TOKEN_RENEW_MARGIN_MS) : 0;
    if (current && now() < renewAt) return current.token;
    pending ??= credential.getToken(scope).then((token) => {
      if (!token) throw new Error(`no token was issued for ${scope}`);
      registerSecret(token.token);
      return token;
    });
    try {
      current = await pending;
    } finally {
      pending = undefined;
    }
    return current.token;
  };
}
