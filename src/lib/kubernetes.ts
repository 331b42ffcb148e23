import { request as httpsRequest } from 'node:https';
import type { IEvent } from 'kubernetes-models/v1/Event';
import type { IStatus } from '@kubernetes-models/apimachinery/apis/meta/v1/Status';
import { formatDuration } from './duration.js';
import { GuidedError } from './errors.js';
import { STATUS_INTERVAL_MS } from './progress.js';
import { HttpError, isNotFound, sleep, withHttpRetry, type HttpRetryOptions } from './retry.js';

/**
 * A small Kubernetes API client on node:https: server-side apply, get, list, delete, wait-until-gone,
 * pod logs and events (reading a kubeconfig, which needs a YAML parser, is kubeconfig.ts). It replaces
 * @kubernetes/client-node, which would add ~15 MB to every bundle that carries it; the API surface here
 * is what the actions need, no more.
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

/** `attempts`: per request, for throttling (429), 5xx and dropped connections; default 5. */
export interface KubernetesClientOptions extends HttpRetryOptions {
  fieldManager?: string;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
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
   * STATUS_INTERVAL_MS) with what is still there; throws a GuidedError naming the object after `timeoutMs`.
   */
  async waitGone(
    ref: ObjectRef,
    options: { timeoutMs: number; pollMs?: number; reportEveryMs?: number; onWaiting?: (status: { elapsedMs: number; phase?: string }) => void },
  ): Promise<void> {
    const started = Date.now();
    const pollMs = options.pollMs ?? 2000;
    const reportEveryMs = options.reportEveryMs ?? STATUS_INTERVAL_MS;
    let lastReport = started;
    for (;;) {
      const object = await this.get<KubeObject & { status?: { phase?: string } }>(ref);
      if (!object) return;
      const elapsedMs = Date.now() - started;
      if (elapsedMs >= options.timeoutMs) {
        throw new GuidedError(
          `${describeRef(ref)} still exists after ${formatDuration(elapsedMs)} (phase ${object.status?.phase ?? 'unknown'})`,
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
    return withHttpRetry(
      `${method} ${path.split('?')[0]}`,
      async () => {
        const response = await this.sendOnce(method, path, options);
        if (response.status >= 400) {
          const retryAfter = response.headers['retry-after'];
          throw new HttpError(method, `${this.connection.server}${path.split('?')[0]}`, response.status, response.body, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
        }
        return response;
      },
      { attempts: this.attempts, sleep: this.wait, onRetry: this.options.onRetry },
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
