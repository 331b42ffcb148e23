import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createHash, randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IEvent } from 'kubernetes-models/v1/Event';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { closeServer, listenOnLoopback, readRequestText } from './local-server.js';
import { testTlsOptions } from './tls.js';

/**
 * A Kubernetes API server stand-in, over HTTPS with the test certificate, that behaves like the real one
 * for what the actions do:
 * - authentication: a bearer token it was told to accept (a local account's token, or — through
 *   `acceptToken` — a token the Entra stand-in issued for the AKS AAD server app); anything else is 401.
 *   A TLS client certificate, when presented, is noted (`clientCertificateSeen`).
 * - server-side apply (PATCH, application/apply-patch+yaml, fieldManager required): the body is checked
 *   against the Kubernetes OpenAPI schema with kubernetes-models (422 `Invalid` like the API server),
 *   plus the checks the API server adds (name/namespace must match the URL, the namespace must exist,
 *   a Deployment's selector must match its template). Objects are stored; applying the same content
 *   again writes nothing (resourceVersion unchanged), a change bumps resourceVersion (and generation).
 * - a Deployment controller and kubelet in miniature: a changed pod template replaces the pods, which
 *   become ready after `readyAfterMs`, or — by `podBehaviour` — never pull their image or crash-loop,
 *   with the events and logs the kubelet would produce. Deployment status is derived from the pods.
 * - get, list (labelSelector, fieldSelector on events), delete (a namespace goes Terminating, then
 *   disappears with its contents after `namespaceDeletionMs`), pod logs (tailLines, previous).
 * Every request is recorded in `requests`.
 */

export type PodBehaviour = 'ready' | 'image-pull-error' | 'crash';

export interface KubeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType?: string;
  body?: unknown;
  status: number;
}

type KubeObject = { apiVersion: string; kind: string; metadata: Record<string, unknown> & { name: string; namespace?: string }; [key: string]: unknown };

interface ResourceKind {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
  /** kubernetes-models' class, which validates against the OpenAPI schema. */
  model?: new (data: never) => { validate(): void };
}

const RESOURCES: Record<string, ResourceKind> = {
  'v1/namespaces': { apiVersion: 'v1', kind: 'Namespace', namespaced: false, model: Namespace },
  'v1/secrets': { apiVersion: 'v1', kind: 'Secret', namespaced: true, model: Secret },
  'v1/serviceaccounts': { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true, model: ServiceAccount },
  'v1/configmaps': { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true, model: ConfigMap },
  'v1/services': { apiVersion: 'v1', kind: 'Service', namespaced: true, model: Service },
  'v1/pods': { apiVersion: 'v1', kind: 'Pod', namespaced: true },
  'v1/events': { apiVersion: 'v1', kind: 'Event', namespaced: true },
  'apps/v1/deployments': { apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true, model: Deployment },
  'rbac.authorization.k8s.io/v1/roles': { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespaced: true, model: Role },
  'rbac.authorization.k8s.io/v1/rolebindings': { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespaced: true, model: RoleBinding },
  'batch/v1/jobs': { apiVersion: 'batch/v1', kind: 'Job', namespaced: true, model: Job },
  'policy/v1/poddisruptionbudgets': { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespaced: true, model: PodDisruptionBudget },
};

/** A Kubernetes `Status` failure body (apimachinery metav1.Status). */
function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** The fields the API server sets; equal content ignores them. */
function withoutServerFields(object: KubeObject): unknown {
  const { uid: _uid, resourceVersion: _rv, generation: _gen, creationTimestamp: _ct, managedFields: _mf, ...metadata } = object.metadata;
  const { status: _status, ...rest } = object;
  return canonical({ ...rest, metadata });
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

interface SimulatedPod {
  pod: IPod;
  createdAt: number;
  behaviour: PodBehaviour;
  deployment: string;
}

export class KubernetesApiStandIn {
  readonly requests: KubeRequest[] = [];
  readonly objects = new Map<string, KubeObject>();
  /** Tokens accepted as they are (a local account's token). */
  readonly acceptedTokens = new Set<string>();
  /** Further tokens to accept, e.g. the Entra stand-in's tokens for the AKS AAD server app. */
  acceptToken?: (token: string) => boolean;
  /** Refuse a request with 403 Forbidden when this says so (RBAC). */
  forbid?: (request: { verb: string; resource: string; namespace?: string; name?: string }) => boolean;
  podBehaviour: PodBehaviour = 'ready';
  readyAfterMs = 1200;
  namespaceDeletionMs = 300;
  /** What a crash-looping worker printed before it died. */
  crashLog = [
    '12:00:01.123 | INFO    | prefect.worker - Worker pool "bakery" not found, creating it...',
    'Traceback (most recent call last):',
    '  File "/opt/venv/lib/python3.12/site-packages/prefect/client/orchestration/__init__.py", line 1012, in _request',
    "httpx.HTTPStatusError: Client error '401 Unauthorized' for url 'https://api.prefect.cloud/api/accounts/…/work_pools/bakery'",
    'prefect.exceptions.PrefectHTTPStatusError: Client error 401: Invalid API key',
  ];
  clientCertificateSeen = false;
  url = '';
  private server?: Server;
  private resourceVersion = 1000;
  private readonly pods = new Map<string, SimulatedPod>();
  private readonly events: IEvent[] = [];
  private readonly terminatingSince = new Map<string, number>();

  async start(): Promise<this> {
    this.server = createServer({ ...testTlsOptions(), requestCert: true, rejectUnauthorized: false }, (req, res) => void this.handle(req, res));
    this.url = await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  /** A kubeconfig as AKS returns it: `aad` (kubelogin exec user) or `local` (token + client certificate). */
  kubeconfig(mode: 'aad' | 'local', options: { tenantId?: string; token?: string } = {}): string {
    const tls = testTlsOptions();
    const cluster = 'aks-bakery-dev';
    const user =
      mode === 'aad'
        ? {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1beta1',
              command: 'kubelogin',
              args: ['get-token', '--environment', 'AzurePublicCloud', '--server-id', '6dae42f8-4368-4678-94ff-3960e28e3630', '--client-id', '80faf920-1908-4b52-b5ef-a8e7bedfc67a', '--tenant-id', options.tenantId ?? '72f988bf-86f1-41af-91ab-2d7cd011db47', '--login', 'devicecode'],
              env: null,
              installHint: 'kubelogin is not installed which is required to connect to AAD enabled cluster.',
              provideClusterInfo: false,
            },
          }
        : {
            'client-certificate-data': tls.cert.toString('base64'),
            'client-key-data': tls.key.toString('base64'),
            token: options.token ?? 'local-account-token-0123456789abcdef',
          };
    return YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: cluster, cluster: { 'certificate-authority-data': tls.cert.toString('base64'), server: this.url } }],
      contexts: [{ name: cluster, context: { cluster, user: `clusterUser_rg-bakery-dev_${cluster}` } }],
      'current-context': cluster,
      preferences: {},
      users: [{ name: `clusterUser_rg-bakery-dev_${cluster}`, user }],
    });
  }

  object<T = KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): T | undefined {
    this.reapNamespaces();
    const found = this.objects.get(key(apiVersion, kind, namespace, name));
    return found ? (this.withStatus(found) as T) : undefined;
  }

  /** Requests that were server-side applies. */
  applies(): KubeRequest[] {
    return this.requests.filter((request) => request.method === 'PATCH');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readRequestText(req);
    const url = new URL(req.url ?? '/', this.url);
    if ((req.socket as TLSSocket).getPeerCertificate?.()?.raw) this.clientCertificateSeen = true;
    const record: KubeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, contentType: req.headers['content-type'], status: 0 };
    this.requests.push(record);
    let answer: { status: number; body: unknown; text?: boolean };
    try {
      answer = this.respond(record, rawBody, req.headers.authorization ?? '');
    } catch (error) {
      answer = { status: 500, body: statusBody(500, 'InternalError', `stand-in failure: ${String(error)}`) };
    }
    record.status = answer.status;
    res.writeHead(answer.status, { 'content-type': answer.text ? 'text/plain' : 'application/json' });
    res.end(answer.text ? String(answer.body) : JSON.stringify(answer.body));
  }

  private respond(request: KubeRequest, rawBody: string, authorization: string): { status: number; body: unknown; text?: boolean } {
    const token = /^Bearer (.+)$/.exec(authorization)?.[1];
    if (!token || !(this.acceptedTokens.has(token) || this.acceptToken?.(token))) {
      return { status: 401, body: statusBody(401, 'Unauthorized', 'Unauthorized') };
    }
    this.reapNamespaces();
    const route = parsePath(request.path);
    if (!route) return { status: 404, body: statusBody(404, 'NotFound', 'the server could not find the requested resource') };
    const resource = RESOURCES[`${route.groupVersion}/${route.plural}`];
    if (!resource) return { status: 404, body: statusBody(404, 'NotFound', 'the server could not find the requested resource') };
    const verb = request.method === 'GET' ? (route.name ? 'get' : 'list') : request.method === 'PATCH' ? 'patch' : request.method === 'DELETE' ? 'delete' : request.method.toLowerCase();
    if (this.forbid?.({ verb, resource: route.plural, namespace: route.namespace, name: route.name })) {
      return {
        status: 403,
        body: statusBody(403, 'Forbidden', `${route.plural}${route.group ? `.${route.group}` : ''} "${route.name ?? ''}" is forbidden: User "bakery-deployer" cannot ${verb} resource "${route.plural}" in API group "${route.group}"${route.namespace ? ` in the namespace "${route.namespace}"` : ''}`),
      };
    }
    if (route.subresource === 'log' && request.method === 'GET') return this.podLog(route.namespace!, route.name!, request.query);
    if (request.method === 'GET' && route.name) {
      const found = this.objects.get(key(resource.apiVersion, resource.kind, route.namespace, route.name));
      return found ? { status: 200, body: this.withStatus(found) } : this.notFound(route);
    }
    if (request.method === 'GET') return { status: 200, body: this.list(resource, route.namespace, request.query) };
    if (request.method === 'PATCH' && route.name) return this.apply(request, resource, route as ParsedPath & { name: string }, rawBody);
    if (request.method === 'DELETE' && route.name) return this.delete(resource, route as ParsedPath & { name: string });
    return { status: 405, body: statusBody(405, 'MethodNotAllowed', `${request.method} is not supported here`) };
  }

  private notFound(route: ParsedPath): { status: number; body: unknown } {
    return { status: 404, body: statusBody(404, 'NotFound', `${route.plural}${route.group ? `.${route.group}` : ''} "${route.name}" not found`, { name: route.name, group: route.group, kind: route.plural }) };
  }

  private apply(request: KubeRequest, resource: ResourceKind, route: ParsedPath & { name: string }, rawBody: string): { status: number; body: unknown } {
    if (request.contentType !== 'application/apply-patch+yaml') {
      return { status: 415, body: statusBody(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`) };
    }
    if (!request.query.get('fieldManager')) {
      return { status: 400, body: statusBody(400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch') };
    }
    let applied: KubeObject;
    try {
      applied = YAML.parse(rawBody) as KubeObject;
    } catch (error) {
      return { status: 400, body: statusBody(400, 'BadRequest', `error decoding YAML: ${String(error)}`) };
    }
    request.body = applied;
    if (applied.apiVersion !== resource.apiVersion || applied.kind !== resource.kind) {
      return { status: 400, body: statusBody(400, 'BadRequest', `the API version in the data (${applied.apiVersion}) does not match the expected API version (${resource.apiVersion}) or kind`) };
    }
    if (applied.metadata?.name !== route.name) {
      return { status: 400, body: statusBody(400, 'BadRequest', `the name of the object (${applied.metadata?.name}) does not match the name on the URL (${route.name})`) };
    }
    if (resource.namespaced && applied.metadata.namespace !== undefined && applied.metadata.namespace !== route.namespace) {
      return { status: 400, body: statusBody(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request') };
    }
    const invalid = this.validate(resource, applied);
    if (invalid) return { status: 422, body: statusBody(422, 'Invalid', `${resource.kind} "${route.name}" is invalid: ${invalid}`, { name: route.name, kind: resource.kind }) };
    if (resource.namespaced) {
      const namespace = this.objects.get(key('v1', 'Namespace', undefined, route.namespace!));
      if (!namespace) return { status: 404, body: statusBody(404, 'NotFound', `namespaces "${route.namespace}" not found`, { name: route.namespace, kind: 'namespaces' }) };
      if (this.terminatingSince.has(route.namespace!)) {
        return { status: 403, body: statusBody(403, 'Forbidden', `${route.plural} "${route.name}" is forbidden: unable to create new content in namespace ${route.namespace} because it is being terminated`) };
      }
      applied.metadata.namespace = route.namespace;
    }

    const objectKey = key(resource.apiVersion, resource.kind, route.namespace, route.name);
    const existing = this.objects.get(objectKey);
    if (existing && JSON.stringify(withoutServerFields(existing)) === JSON.stringify(withoutServerFields(applied))) {
      return { status: 200, body: this.withStatus(existing) };
    }
    const specChanged = !existing || JSON.stringify(canonical(existing.spec)) !== JSON.stringify(canonical(applied.spec));
    const stored: KubeObject = {
      ...applied,
      metadata: {
        ...applied.metadata,
        uid: (existing?.metadata.uid as string) ?? randomUUID(),
        creationTimestamp: (existing?.metadata.creationTimestamp as string) ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        resourceVersion: String(++this.resourceVersion),
        ...(resource.kind === 'Deployment' ? { generation: ((existing?.metadata.generation as number) ?? 0) + (specChanged ? 1 : 0) } : {}),
        managedFields: [{ manager: request.query.get('fieldManager'), operation: 'Apply', apiVersion: resource.apiVersion, time: new Date().toISOString(), fieldsType: 'FieldsV1' }],
      },
    };
    if (resource.kind === 'Namespace') stored.status = { phase: 'Active' };
    this.objects.set(objectKey, stored);
    if (resource.kind === 'Deployment' && specChanged) this.rollOut(stored as unknown as IDeployment);
    return { status: existing ? 200 : 201, body: this.withStatus(stored) };
  }

  /** kubernetes-models' schema check, plus the API server's own rules for what we send. */
  private validate(resource: ResourceKind, object: KubeObject): string | undefined {
    if (!resource.model) return undefined;
    try {
      new resource.model(object as never).validate();
    } catch (error) {
      return (error as Error).message;
    }
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(object.metadata.name)) return `metadata.name: Invalid value: "${object.metadata.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`;
    if (resource.kind === 'Deployment') {
      const deployment = object as unknown as IDeployment;
      const selector = deployment.spec?.selector?.matchLabels ?? {};
      const labels = deployment.spec?.template?.metadata?.labels ?? {};
      if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) return 'spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`';
      for (const container of deployment.spec?.template?.spec?.containers ?? []) {
        for (const kind of ['cpu', 'memory'] as const) {
          const request = container.resources?.requests?.[kind];
          const limit = container.resources?.limits?.[kind];
          if (request !== undefined && limit !== undefined && quantity(String(request)) > quantity(String(limit))) {
            return `spec.template.spec.containers[0].resources.requests: Invalid value: "${request}": must be less than or equal to ${kind} limit of ${limit}`;
          }
        }
      }
    }
    return undefined;
  }

  private list(resource: ResourceKind, namespace: string | undefined, query: URLSearchParams): unknown {
    let items: unknown[];
    if (resource.kind === 'Pod') items = [...this.pods.values()].filter((p) => p.pod.metadata?.namespace === namespace).map((p) => this.podWithStatus(p));
    else if (resource.kind === 'Event') items = this.events.filter((e) => e.metadata?.namespace === namespace);
    else items = [...this.objects.values()].filter((o) => o.kind === resource.kind && o.apiVersion === resource.apiVersion && (!resource.namespaced || o.metadata.namespace === namespace)).map((o) => this.withStatus(o));
    const labelSelector = query.get('labelSelector');
    if (labelSelector) {
      const wanted = labelSelector.split(',').map((pair) => pair.split('='));
      items = items.filter((item) => wanted.every(([k, v]) => ((item as KubeObject).metadata.labels as Record<string, string> | undefined)?.[k!] === v));
    }
    const fieldSelector = query.get('fieldSelector');
    if (fieldSelector) {
      const wanted = fieldSelector.split(',').map((pair) => pair.split('='));
      items = items.filter((item) => wanted.every(([path, v]) => String(path!.split('.').reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], item)) === v));
    }
    return { kind: `${resource.kind}List`, apiVersion: resource.apiVersion, metadata: { resourceVersion: String(this.resourceVersion) }, items };
  }

  private delete(resource: ResourceKind, route: ParsedPath & { name: string }): { status: number; body: unknown } {
    const objectKey = key(resource.apiVersion, resource.kind, route.namespace, route.name);
    const existing = this.objects.get(objectKey);
    if (!existing) return this.notFound(route);
    if (resource.kind === 'Namespace') {
      if (!this.terminatingSince.has(route.name)) this.terminatingSince.set(route.name, Date.now());
      existing.status = { phase: 'Terminating' };
      existing.metadata.deletionTimestamp = new Date().toISOString();
      return { status: 200, body: existing };
    }
    this.objects.delete(objectKey);
    if (resource.kind === 'Deployment') for (const [name, simulated] of this.pods) if (simulated.deployment === route.name) this.pods.delete(name);
    return { status: 200, body: existing };
  }

  /** Namespaces whose finalizers have run: gone, with everything in them. */
  private reapNamespaces(): void {
    for (const [namespace, since] of this.terminatingSince) {
      if (Date.now() - since < this.namespaceDeletionMs) continue;
      this.terminatingSince.delete(namespace);
      for (const [objectKey, object] of this.objects) if (object.metadata.namespace === namespace || (object.kind === 'Namespace' && object.metadata.name === namespace)) this.objects.delete(objectKey);
      for (const [name, simulated] of this.pods) if (simulated.pod.metadata?.namespace === namespace) this.pods.delete(name);
    }
  }

  // ---- the Deployment controller, scheduler and kubelet in miniature -------------------------------

  private rollOut(deployment: IDeployment): void {
    const name = deployment.metadata!.name!;
    const namespace = deployment.metadata!.namespace!;
    for (const [podName, simulated] of this.pods) if (simulated.deployment === name && simulated.pod.metadata?.namespace === namespace) this.pods.delete(podName);
    const template = deployment.spec!.template;
    const hash = createHash('sha256').update(JSON.stringify(canonical(template))).digest('hex').slice(0, 10);
    for (let i = 0; i < (deployment.spec!.replicas ?? 1); i++) {
      const podName = `${name}-${hash}-${randomUUID().slice(0, 5)}`;
      const pod: IPod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: podName, namespace, uid: randomUUID(), labels: { ...template.metadata?.labels, 'pod-template-hash': hash }, creationTimestamp: new Date().toISOString() },
        spec: { ...template.spec!, nodeName: 'aks-system-12345678-vmss000000' },
      };
      const simulated: SimulatedPod = { pod, createdAt: Date.now(), behaviour: this.podBehaviour, deployment: name };
      this.pods.set(podName, simulated);
      this.addPodEvents(simulated);
    }
  }

  private addPodEvents(simulated: SimulatedPod): void {
    const pod = simulated.pod;
    const container = pod.spec!.containers[0]!;
    const image = container.image ?? '';
    const add = (type: 'Normal' | 'Warning', reason: string, message: string, count = 1, component = 'kubelet'): void => {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      this.events.push({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${pod.metadata!.name}.${randomUUID().slice(0, 8)}`, namespace: pod.metadata!.namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, namespace: pod.metadata!.namespace, uid: pod.metadata!.uid, fieldPath: `spec.containers{${container.name}}` },
        reason,
        message,
        type,
        count,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component, host: pod.spec!.nodeName },
      });
    };
    add('Normal', 'Scheduled', `Successfully assigned ${pod.metadata!.namespace}/${pod.metadata!.name} to ${pod.spec!.nodeName}`, 1, 'default-scheduler');
    add('Normal', 'Pulling', `Pulling image "${image}"`);
    if (simulated.behaviour === 'image-pull-error') {
      add('Warning', 'Failed', `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`, 3);
      add('Warning', 'Failed', 'Error: ErrImagePull', 3);
      add('Normal', 'BackOff', `Back-off pulling image "${image}"`, 5);
      add('Warning', 'Failed', 'Error: ImagePullBackOff', 5);
      return;
    }
    add('Normal', 'Pulled', `Successfully pulled image "${image}" in 2.1s (2.1s including waiting)`);
    add('Normal', 'Created', `Created container ${container.name}`);
    add('Normal', 'Started', `Started container ${container.name}`);
    if (simulated.behaviour === 'crash') add('Warning', 'BackOff', `Back-off restarting failed container ${container.name} in pod ${pod.metadata!.name}_${pod.metadata!.namespace}(${pod.metadata!.uid})`, 4);
  }

  private podWithStatus(simulated: SimulatedPod): IPod {
    const container = simulated.pod.spec!.containers[0]!;
    const startTime = new Date(simulated.createdAt).toISOString();
    const base = { name: container.name, image: container.image ?? '', imageID: '' };
    let status: IPod['status'];
    switch (simulated.behaviour) {
      case 'image-pull-error':
        status = { phase: 'Pending', startTime, containerStatuses: [{ ...base, ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${container.image}"` } } }] };
        break;
      case 'crash':
        status = {
          phase: 'Running',
          startTime,
          containerStatuses: [{
            ...base, ready: false, restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 1m20s restarting failed container=${container.name} pod=${simulated.pod.metadata!.name}_${simulated.pod.metadata!.namespace}` } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: startTime, finishedAt: startTime } },
          }],
        };
        break;
      default: {
        const ready = Date.now() - simulated.createdAt >= this.readyAfterMs;
        status = { phase: 'Running', startTime, containerStatuses: [{ ...base, ready, restartCount: 0, started: true, state: { running: { startedAt: startTime } } }] };
      }
    }
    return { ...simulated.pod, status };
  }

  private podLog(namespace: string, name: string, query: URLSearchParams): { status: number; body: unknown; text?: boolean } {
    const simulated = this.pods.get(name);
    if (!simulated || simulated.pod.metadata?.namespace !== namespace) return { status: 404, body: statusBody(404, 'NotFound', `pods "${name}" not found`) };
    const container = query.get('container') ?? simulated.pod.spec!.containers[0]!.name;
    const tail = Number(query.get('tailLines') ?? '1000');
    if (simulated.behaviour === 'image-pull-error') {
      return { status: 400, body: statusBody(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: trying and failing to pull image`) };
    }
    const lines = simulated.behaviour === 'crash' ? this.crashLog : ['12:00:00.000 | INFO    | prefect.worker.kubernetes.kubernetesworker 1a2b3c - Worker pool "bakery" polling for work'];
    return { status: 200, body: lines.slice(-tail).join('\n') + '\n', text: true };
  }

  private withStatus(object: KubeObject): KubeObject {
    if (object.kind !== 'Deployment') return object;
    const deployment = object as unknown as IDeployment;
    const pods = [...this.pods.values()].filter((p) => p.deployment === deployment.metadata!.name && p.pod.metadata?.namespace === deployment.metadata!.namespace).map((p) => this.podWithStatus(p));
    const ready = pods.filter((pod) => pod.status?.containerStatuses?.every((c) => c.ready)).length;
    const wanted = deployment.spec?.replicas ?? 1;
    const complete = ready >= wanted;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      ...object,
      status: {
        observedGeneration: deployment.metadata!.generation,
        replicas: pods.length,
        updatedReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
        ...(ready < pods.length ? { unavailableReplicas: pods.length - ready } : {}),
        conditions: [
          { type: 'Available', status: complete ? 'True' : 'False', reason: complete ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: complete ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.', lastUpdateTime: now, lastTransitionTime: now },
          { type: 'Progressing', status: 'True', reason: complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: `ReplicaSet "${deployment.metadata!.name}" ${complete ? 'has successfully progressed' : 'is progressing'}.`, lastUpdateTime: now, lastTransitionTime: now },
        ],
      },
    };
  }
}

interface ParsedPath {
  group: string;
  groupVersion: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
}

/** /api/v1/... and /apis/<group>/<version>/...; `namespaces/<ns>/` introduces a namespaced resource. */
function parsePath(pathname: string): ParsedPath | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let groupVersion: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1]) {
    groupVersion = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts[1] && parts[2]) {
    group = parts[1];
    groupVersion = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) return { group, groupVersion, namespace: rest[1], plural: rest[2]!, name: rest[3], subresource: rest[4] };
  if (rest.length >= 1) return { group, groupVersion, plural: rest[0]!, name: rest[1], subresource: rest[2] };
  return undefined;
}

function key(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
  return `${apiVersion}/${kind}/${namespace ?? ''}/${name}`;
}

function quantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text);
  const factors: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return match ? Number(match[1]) * factors[match[2] ?? '']! : Number.NaN;
}

export async function startKubernetesApi(): Promise<KubernetesApiStandIn> {
  return new KubernetesApiStandIn().start();
}
