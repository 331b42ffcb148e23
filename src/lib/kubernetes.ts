import { request as httpsRequest } from 'node:https';
import YAML from 'yaml';
import type { IEvent } from 'kubernetes-models/v1/Event';
import type { IStatus } from '@kubernetes-models/apimachinery/apis/meta/v1/Status';
import { GuidedError } from './errors.js';
import { registerSecret } from './mask.js';
import { HttpError, isTransientHttpError, retryAfterOf, sleep, withRetry } from './retry.js';

/**
 * A small Kubernetes API client on node:https: kubeconfig parsing, server-side apply, get, list,
 * delete, wait-until-gone, pod logs and events. It replaces @kubernetes/client-node, which would add
 * ~15 MB to every bundle that carries it; the API surface here is what the actions need, no more.
 *
 * Typical use:
 *   const kube = new KubernetesClient(connection);
 *   const { outcome } = await kube.apply(namespaceManifest);            // 'created' | 'configured' | 'unchanged'
 *   await kube.deleteNamespace('bakery');                                 // 'deleted' | 'absent'
 *   await kube.waitGone({ apiVersion: 'v1', kind: 'Namespace', name: 'bakery' }, { timeoutMs: 600_000 });
 */

/** The field manager our server-side applies own their fields as (`kubectl apply --server-side --field-manager`). */
export const FIELD_MANAGER = 'azure-bakery-actions';

/** What every Kubernetes object has; the manifests themselves are typed with kubernetes-models' interfaces. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** Names one object (or, without `name`, one kind in one namespace). */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export type KindRef = Omit<ObjectRef, 'name'>;

/**
 * The REST resource behind each kind the actions touch. Kubernetes has no fixed kind → path rule, and
 * API discovery would cost two extra round trips per run, so the kinds are listed; add one here when a
 * new manifest needs it.
 */
const RESOURCES: Record<string, { plural: string; namespaced: boolean }> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/Pod': { plural: 'pods', namespaced: true },
  'v1/Event': { plural: 'events', namespaced: true },
  'v1/PersistentVolumeClaim': { plural: 'persistentvolumeclaims', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'apps/v1/ReplicaSet': { plural: 'replicasets', namespaced: true },
  'apps/v1/StatefulSet': { plural: 'statefulsets', namespaced: true },
  'batch/v1/Job': { plural: 'jobs', namespaced: true },
  'batch/v1/CronJob': { plural: 'cronjobs', namespaced: true },
  'policy/v1/PodDisruptionBudget': { plural: 'poddisruptionbudgets', namespaced: true },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { plural: 'clusterrolebindings', namespaced: false },
  'networking.k8s.io/v1/Ingress': { plural: 'ingresses', namespaced: true },
  'kubernetes.dask.org/v1/DaskCluster': { plural: 'daskclusters', namespaced: true },
};

/** `/api/v1/namespaces/ns/pods[/name]` or `/apis/apps/v1/namespaces/ns/deployments[/name]`. */
export function resourcePath(ref: KindRef & { name?: string }): string {
  const resource = RESOURCES[`${ref.apiVersion}/${ref.kind}`];
  if (!resource) {
    throw new Error(`No REST resource is known for ${ref.apiVersion} ${ref.kind}; add it to RESOURCES in src/lib/kubernetes.ts`);
  }
  const root = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  let path = root;
  if (resource.namespaced) {
    if (!ref.namespace) throw new Error(`${ref.kind} ${ref.name ?? ''} is namespaced, but no namespace was given`);
    path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  }
  path += `/${resource.plural}`;
  if (ref.name) path += `/${encodeURIComponent(ref.name)}`;
  return path;
}

export function describeRef(ref: KindRef & { name?: string }): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name ?? ''}`.trim();
}

// ---------------------------------------------------------------------------------------------------
// kubeconfig

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

// ---------------------------------------------------------------------------------------------------
// client

export interface KubernetesConnection {
  /** https://host[:port] of the API server. */
  server: string;
  caData?: Buffer;
  tlsServerName?: string;
  insecureSkipTlsVerify?: boolean;
  clientCertificate?: { cert: Buffer; key: Buffer };
  /** Called before each request; should return a cached token and renew it before it expires. */
  bearerToken?: () => Promise<string>;
}

export interface KubernetesClientOptions {
  fieldManager?: string;
  /** Attempts per request for throttling (429), 5xx and dropped connections; default 5. */
  attempts?: number;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (message: string) => void;
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface ApplyResult<T> {
  object: T;
  outcome: ApplyOutcome;
}

interface RawResponse {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** The `message` of a Kubernetes Status body, when the error carries one. */
export function kubernetesStatusOf(error: unknown): IStatus | undefined {
  if (!(error instanceof HttpError)) return undefined;
  try {
    const status = JSON.parse(error.body) as IStatus;
    return status.kind === 'Status' ? status : undefined;
  } catch {
    return undefined;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof HttpError && error.status === 404;
}

export class KubernetesClient {
  private readonly fieldManager: string;
  private readonly attempts: number;
  private readonly requestTimeoutMs: number;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(
    readonly connection: KubernetesConnection,
    private readonly options: KubernetesClientOptions = {},
  ) {
    this.fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.attempts = options.attempts ?? 5;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.wait = options.sleep ?? sleep;
  }

  /**
   * Server-side apply (`kubectl apply --server-side --force-conflicts`): the API server merges the fields
   * we own and leaves others' alone. The outcome compares resourceVersion before and after, so applying
   * the same manifest again reports `unchanged` (the API server does not write a no-op apply).
   */
  async apply<T extends KubeObject>(manifest: T): Promise<ApplyResult<T>> {
    const ref = objectRefOf(manifest);
    const before = await this.get<T>(ref);
    const query = new URLSearchParams({ fieldManager: this.fieldManager, force: 'true' });
    const response = await this.send('PATCH', `${resourcePath(ref)}?${query}`, {
      body: JSON.stringify(manifest),
      // JSON is YAML, and apply-patch+yaml is the one content type server-side apply accepts.
      contentType: 'application/apply-patch+yaml',
    });
    const object = JSON.parse(response.body) as T;
    const outcome: ApplyOutcome = !before
      ? 'created'
      : before.metadata?.resourceVersion === object.metadata?.resourceVersion
        ? 'unchanged'
        : 'configured';
    return { object, outcome };
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      const response = await this.send('GET', resourcePath(ref));
      return JSON.parse(response.body) as T;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every object of a kind in a namespace (all pages), optionally filtered by label/field selector. */
  async list<T>(ref: KindRef, selectors: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
    const items: T[] = [];
    let continueToken: string | undefined;
    do {
      const query = new URLSearchParams({ limit: '500' });
      if (selectors.labelSelector) query.set('labelSelector', selectors.labelSelector);
      if (selectors.fieldSelector) query.set('fieldSelector', selectors.fieldSelector);
      if (continueToken) query.set('continue', continueToken);
      const response = await this.send('GET', `${resourcePath(ref)}?${query}`);
      const page = JSON.parse(response.body) as { items?: T[]; metadata?: { continue?: string } };
      items.push(...(page.items ?? []));
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return items;
  }

  /**
   * Deletes an object; `absent` when it was already gone. `Foreground` (default) makes the API server
   * delete dependents (a Deployment's ReplicaSets and Pods) before the object itself disappears.
   */
  async delete(ref: ObjectRef, options: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' } = {}): Promise<'deleted' | 'absent'> {
    const body = JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: options.propagationPolicy ?? 'Foreground' });
    try {
      await this.send('DELETE', resourcePath(ref), { body, contentType: 'application/json' });
      return 'deleted';
    } catch (error) {
      if (isNotFound(error)) return 'absent';
      throw error;
    }
  }

  /** Deletes a namespace and so everything in it. Pair with `waitGone` to wait for the finalizers. */
  deleteNamespace(name: string): Promise<'deleted' | 'absent'> {
    return this.delete({ apiVersion: 'v1', kind: 'Namespace', name }, { propagationPolicy: 'Foreground' });
  }

  /**
   * Polls until the object no longer exists. Calls `onWaiting` at most every `reportEveryMs` (default
   * 15 s) with what is still there; throws a GuidedError naming the object after `timeoutMs`.
   */
  async waitGone(
    ref: ObjectRef,
    options: { timeoutMs: number; pollMs?: number; reportEveryMs?: number; onWaiting?: (status: { elapsedMs: number; phase?: string }) => void },
  ): Promise<void> {
    const started = Date.now();
    const pollMs = options.pollMs ?? 2000;
    const reportEveryMs = options.reportEveryMs ?? 15_000;
    let lastReport = started;
    for (;;) {
      const object = await this.get<KubeObject & { status?: { phase?: string } }>(ref);
      if (!object) return;
      const elapsedMs = Date.now() - started;
      if (elapsedMs >= options.timeoutMs) {
        throw new GuidedError(
          `${describeRef(ref)} still exists after ${Math.round(elapsedMs / 1000)} s (phase ${object.status?.phase ?? 'unknown'})`,
          'A finalizer is probably waiting on something (a load balancer, a volume, a custom resource whose controller is gone). ' +
            `Look at \`kubectl get ${ref.kind.toLowerCase()} ${ref.name} -o yaml\` (metadata.finalizers, status.conditions), then run again.`,
        );
      }
      if (Date.now() - lastReport >= reportEveryMs) {
        lastReport = Date.now();
        options.onWaiting?.({ elapsedMs, phase: object.status?.phase });
      }
      await this.wait(Math.min(pollMs, Math.max(0, options.timeoutMs - elapsedMs)));
    }
  }

  /** The last `tailLines` lines a pod's container wrote (`kubectl logs --tail`). */
  async podLogs(namespace: string, pod: string, options: { container?: string; tailLines?: number; previous?: boolean } = {}): Promise<string> {
    const query = new URLSearchParams({ tailLines: String(options.tailLines ?? 50) });
    if (options.container) query.set('container', options.container);
    if (options.previous) query.set('previous', 'true');
    const response = await this.send('GET', `${resourcePath({ apiVersion: 'v1', kind: 'Pod', namespace, name: pod })}/log?${query}`, { accept: 'text/plain' });
    return response.body;
  }

  /** Events about one object (or a whole namespace), oldest first. */
  async events(namespace: string, about?: { kind: string; name: string }): Promise<IEvent[]> {
    const fieldSelector = about ? `involvedObject.kind=${about.kind},involvedObject.name=${about.name}` : undefined;
    const events = await this.list<IEvent>({ apiVersion: 'v1', kind: 'Event', namespace }, { fieldSelector });
    return events.sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
  }

  /** One API call with retries for throttling, server hiccups and dropped connections. */
  async send(method: string, path: string, options: { body?: string; contentType?: string; accept?: string } = {}): Promise<RawResponse> {
    return withRetry(
      async () => {
        const response = await this.sendOnce(method, path, options);
        if (response.status >= 400) {
          const retryAfter = response.headers['retry-after'];
          throw new HttpError(method, `${this.connection.server}${path.split('?')[0]}`, response.status, response.body, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
        }
        return response;
      },
      {
        attempts: this.attempts,
        isRetryable: isTransientHttpError,
        retryAfterMs: retryAfterOf,
        sleep: this.wait,
        onRetry: ({ attempt, delayMs, error }) =>
          this.options.onRetry?.(`${method} ${path.split('?')[0]} failed (attempt ${attempt}: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}); retrying in ${Math.round(delayMs / 1000)} s`),
      },
    );
  }

  private async sendOnce(method: string, path: string, options: { body?: string; contentType?: string; accept?: string }): Promise<RawResponse> {
    const url = new URL(path, `${this.connection.server}/`);
    if (url.protocol !== 'https:') throw new Error(`the Kubernetes API server ${this.connection.server} is not https://; refusing to send credentials in the clear`);
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json', 'user-agent': FIELD_MANAGER };
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(options.body));
    }
    if (this.connection.bearerToken) headers.authorization = `Bearer ${await this.connection.bearerToken()}`;
    return new Promise<RawResponse>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          headers,
          // The cluster's own CA when the kubeconfig pins one; otherwise the system store (+ NODE_EXTRA_CA_CERTS).
          ca: this.connection.caData,
          servername: this.connection.tlsServerName,
          rejectUnauthorized: !this.connection.insecureSkipTlsVerify,
          cert: this.connection.clientCertificate?.cert,
          key: this.connection.clientCertificate?.key,
          timeout: this.requestTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error(`${method} ${url.pathname} timed out after ${this.requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(options.body);
    });
  }
}

function objectRefOf(manifest: KubeObject): ObjectRef {
  const name = manifest.metadata?.name;
  if (!name) throw new Error(`a ${manifest.kind} manifest has no metadata.name`);
  return { apiVersion: manifest.apiVersion, kind: manifest.kind, name, namespace: manifest.metadata?.namespace };
}

function eventTime(event: IEvent): string {
  return String(event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata?.creationTimestamp ?? '');
}

/** One readable line per event: `12:00:01 Warning BackOff (x5): Back-off restarting failed container`. */
export function formatEvent(event: IEvent): string {
  const time = eventTime(event).slice(11, 19) || '--:--:--';
  const count = event.count && event.count > 1 ? ` (x${event.count})` : '';
  return `${time} ${event.type ?? 'Normal'} ${event.reason ?? ''}${count}: ${event.message ?? ''}`.trim();
}
