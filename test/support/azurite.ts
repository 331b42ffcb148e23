import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { testTlsOptions } from './tls.js';

/** Azurite's documented development account (public, not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  blobEndpoint: string;
  connectionString: string;
  stop: () => Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * Starts Azurite's Blob service on a free loopback port, in memory. `oauth: true` serves HTTPS with the
 * test certificate and accepts Azure AD bearer tokens (as issued by the Entra stand-in), which is how
 * the actions reach Blob storage in real use.
 */
export async function startAzurite(options: { oauth?: boolean } = {}): Promise<Azurite> {
  const bin = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js');
  // In memory: nothing to clean up. (Azurite refuses --location together with --inMemoryPersistence.)
  const args = [bin, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--skipApiVersionCheck', '--disableTelemetry', '--loose'];
  if (options.oauth) {
    const dir = process.env.AZURE_BAKERY_TEST_TLS_DIR ?? path.resolve('.tmp/tls');
    testTlsOptions(); // fails early when global-setup did not run
    args.push('--oauth', 'basic', '--cert', path.join(dir, 'cert.pem'), '--key', path.join(dir, 'key.pem'));
  }
  // Its cwd is a scratch directory, in case a version writes a debug log or database file there anyway.
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: mkdtempSync(path.join(tmpdir(), 'azurite-')) });
  const blobEndpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start: ${seen}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listens on (https?:\/\/[\d.]+:\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(`${match[1]}/${AZURITE_ACCOUNT}`);
      }
    });
    child.on('exit', (code) => reject(new Error(`Azurite exited with ${code}: ${seen}`)));
  });
  const protocol = blobEndpoint.startsWith('https') ? 'https' : 'http';
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=${protocol};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
