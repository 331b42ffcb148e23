import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The key pair global-setup made; every HTTPS stand-in serves it. */
export function testTlsOptions(): { key: Buffer; cert: Buffer } {
  const dir = process.env.AZURE_BAKERY_TEST_TLS_DIR ?? path.resolve('.tmp/tls');
  return { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) };
}
