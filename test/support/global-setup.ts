import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The Azure SDKs refuse bearer tokens over plain HTTP, so the ARM, Entra ID and Kubernetes stand-ins
 * serve HTTPS with one self-signed certificate for 127.0.0.1/localhost, made here once per run. Test
 * workers and the action child processes trust it through NODE_EXTRA_CA_CERTS, which Node reads at start.
 */
export const TLS_DIR = path.resolve('.tmp/tls');

export default function setup(): void {
  mkdirSync(TLS_DIR, { recursive: true });
  const key = path.join(TLS_DIR, 'key.pem');
  const cert = path.join(TLS_DIR, 'cert.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30',
      '-keyout', key, '-out', cert,
      '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ], { stdio: 'ignore' });
  }
  process.env.NODE_EXTRA_CA_CERTS = cert;
  process.env.AZURE_BAKERY_TEST_TLS_DIR = TLS_DIR;
}
