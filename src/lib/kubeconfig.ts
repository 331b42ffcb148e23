import YAML from 'yaml';
import { registerSecret } from './mask.js';

/**
 * Reading a kubeconfig (what AKS returns for `listClusterUserCredential`), apart from the client in
 * kubernetes.ts so that the YAML parser loads only with the code that connects to a cluster.
 */

/** How the kubeconfig's user authenticates. `exec` and `auth-provider` are described, never run. */
export type KubeconfigUser =
  | { kind: 'token'; token: string; clientCertificate?: { cert: Buffer; key: Buffer } }
  | { kind: 'client-certificate'; clientCertificate: { cert: Buffer; key: Buffer } }
  | { kind: 'exec'; command: string; args: string[] }
  | { kind: 'auth-provider'; name: string; config: Record<string, string> }
  | { kind: 'none' };

export interface Kubeconfig {
  contextName: string;
  server: string;
  /** PEM of the cluster CA (certificate-authority-data), when the kubeconfig pins one. */
  caData?: Buffer;
  tlsServerName?: string;
  insecureSkipTlsVerify: boolean;
  namespace?: string;
  user: KubeconfigUser;
}

interface RawKubeconfig {
  'current-context'?: string;
  clusters?: { name: string; cluster?: Record<string, unknown> }[];
  contexts?: { name: string; context?: { cluster?: string; user?: string; namespace?: string } }[];
  users?: { name: string; user?: Record<string, unknown> }[];
}

function decodeBase64Field(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !value) throw new Error(`kubeconfig field ${field} is empty`);
  return Buffer.from(value, 'base64');
}

/**
 * Reads the current (or the named) context of a kubeconfig. Every credential in it is registered as a
 * secret before anything could print it. Files referenced by path (certificate-authority, token-file)
 * are not read: AKS returns inline data, and a path would point into someone else's machine.
 */
export function parseKubeconfig(text: string, contextName?: string): Kubeconfig {
  const raw = YAML.parse(text) as RawKubeconfig | null;
  if (!raw || typeof raw !== 'object') throw new Error('the kubeconfig is not a YAML mapping');
  const name = contextName ?? raw['current-context'] ?? raw.contexts?.[0]?.name;
  const context = raw.contexts?.find((candidate) => candidate.name === name)?.context;
  if (!name || !context) throw new Error(`the kubeconfig has no context ${JSON.stringify(name ?? '')}`);
  const cluster = raw.clusters?.find((candidate) => candidate.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string') throw new Error(`the kubeconfig has no cluster ${JSON.stringify(context.cluster ?? '')} with a server`);
  const user = raw.users?.find((candidate) => candidate.name === context.user)?.user ?? {};

  let parsedUser: KubeconfigUser = { kind: 'none' };
  const clientCertificate =
    typeof user['client-certificate-data'] === 'string' && typeof user['client-key-data'] === 'string'
      ? { cert: decodeBase64Field(user['client-certificate-data'], 'client-certificate-data'), key: decodeBase64Field(user['client-key-data'], 'client-key-data') }
      : undefined;
  if (clientCertificate) {
    registerSecret(user['client-key-data'] as string);
    registerSecret(clientCertificate.key.toString('utf8'));
  }
  if (typeof user.token === 'string' && user.token) {
    registerSecret(user.token);
    parsedUser = { kind: 'token', token: user.token, clientCertificate };
  } else if (clientCertificate) {
    parsedUser = { kind: 'client-certificate', clientCertificate };
  } else if (user.exec && typeof user.exec === 'object') {
    const exec = user.exec as { command?: string; args?: string[] };
    parsedUser = { kind: 'exec', command: exec.command ?? '', args: Array.isArray(exec.args) ? exec.args.map(String) : [] };
  } else if (user['auth-provider'] && typeof user['auth-provider'] === 'object') {
    const provider = user['auth-provider'] as { name?: string; config?: Record<string, string> };
    parsedUser = { kind: 'auth-provider', name: provider.name ?? '', config: provider.config ?? {} };
  }

  return {
    contextName: name,
    server: cluster.server.replace(/\/+$/, ''),
    caData: cluster['certificate-authority-data'] ? decodeBase64Field(cluster['certificate-authority-data'], 'certificate-authority-data') : undefined,
    tlsServerName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    namespace: context.namespace,
    user: parsedUser,
  };
}
