import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuidedError } from '../../src/lib/errors.js';
import { NO_PLACEMENT, readFlowPodPlacement, type PodPlacement } from '../../src/lib/pod-placement.js';
import { PrefectClient, parsePrefectApiUrl } from '../../src/lib/prefect.js';
import { defaultKubernetesBaseJobTemplate } from '../../src/lib/prefect-kubernetes-template.js';
import { WORKLOAD_IDENTITY_POD_LABEL, ensureWorkPool } from '../../src/setup-agent/work-pool.js';
import { clearInputs, configurationErrorOf, setInput } from '../support/action-inputs.js';
import { startPrefectApi, type PrefectStandIn } from '../support/prefect-api.js';

// setup-agent's work pool step against the Prefect stand-in (schema-checked requests, the server's
// base_job_template validation, PATCH semantics), and the flow-pod placement inputs.

const SPOT = { key: 'kubernetes.azure.com/scalesetpriority', operator: 'Equal', value: 'spot', effect: 'NoSchedule' } as const;
const PLACEMENT: PodPlacement = { tolerations: [SPOT], nodeSelector: { 'bakery.pangeo-forge.org/pool': 'workers' } };
const noWait = { sleep: async (): Promise<void> => {}, baseDelayMs: 1 };

let api: PrefectStandIn;
let prefect: PrefectClient;

beforeEach(async () => {
  api = await startPrefectApi();
  prefect = new PrefectClient(parsePrefectApiUrl(api.apiUrl), noWait);
});
afterEach(async () => {
  await api.stop();
  clearInputs();
});

const podTemplateOf = (template: unknown): Record<string, unknown> =>
  ((((template as Record<string, unknown>).job_configuration as Record<string, unknown>).job_manifest as Record<string, unknown>).spec as Record<string, unknown>).template as Record<string, unknown>;
const podSpecOf = (template: unknown): Record<string, unknown> => podTemplateOf(template).spec as Record<string, unknown>;
const podLabelsOf = (template: unknown): unknown => (podTemplateOf(template).metadata as Record<string, unknown> | undefined)?.labels;
/** AKS's webhook injects the federated token only into pods labelled so (the ServiceAccount annotation is not enough). */
const WORKLOAD_IDENTITY_LABELS = { 'azure.workload.identity/use': 'true' };
const LABEL_CHANGE = 'label flow pods azure.workload.identity/use=true';
const poolTemplate = (name = 'bakery') => api.workPools.get(name)!.base_job_template as Record<string, unknown>;
const ensure = (placement: PodPlacement) => ensureWorkPool(prefect, { name: 'bakery', description: 'test', placement });

describe('ensureWorkPool with a flow-pod placement', () => {
  it('creates a missing pool with Prefect\'s published default template plus the toleration and node selector, and nothing else changed', async () => {
    const result = await ensure(PLACEMENT);
    expect(result).toEqual({ outcome: 'created', changes: [LABEL_CHANGE, 'tolerate kubernetes.azure.com/scalesetpriority=spot:NoSchedule', 'select nodes labelled bakery.pangeo-forge.org/pool=workers'] });
    const template = poolTemplate();
    expect(podLabelsOf(template)).toEqual(WORKLOAD_IDENTITY_LABELS);
    expect(podSpecOf(template).tolerations).toEqual([SPOT]);
    expect(podSpecOf(template).nodeSelector).toEqual(PLACEMENT.nodeSelector);
    const expected = defaultKubernetesBaseJobTemplate();
    podTemplateOf(expected).metadata = { labels: WORKLOAD_IDENTITY_LABELS };
    Object.assign(podSpecOf(expected), { tolerations: [SPOT], nodeSelector: PLACEMENT.nodeSelector });
    expect(template).toEqual(expected);
    expect(api.problems).toEqual([]);
  });

  it('changes nothing on a second run (no PATCH)', async () => {
    await ensure(PLACEMENT);
    const before = structuredClone(poolTemplate());
    expect(await ensure(PLACEMENT)).toEqual({ outcome: 'unchanged', changes: [] });
    expect(api.calls('update_work_pool')).toHaveLength(0);
    expect(poolTemplate()).toEqual(before);
  });

  it('patches a pool the worker already filled with its default, once', async () => {
    api.addWorkPool('bakery');
    api.workerStarted('bakery');
    expect((await ensure(PLACEMENT)).outcome).toBe('updated');
    const patches = api.calls('update_work_pool');
    expect(patches).toHaveLength(1);
    expect(patches[0]!.status).toBe(204);
    expect(Object.keys(patches[0]!.body as object)).toEqual(['base_job_template']);
    expect(podSpecOf(poolTemplate()).tolerations).toEqual([SPOT]);
    expect(podLabelsOf(poolTemplate())).toEqual(WORKLOAD_IDENTITY_LABELS);
    expect((await ensure(PLACEMENT)).outcome).toBe('unchanged');
    expect(api.calls('update_work_pool')).toHaveLength(1);
    expect(api.problems).toEqual([]);
  });

  it('fills an existing pool whose template is still empty (no worker has started) from the published default', async () => {
    api.addWorkPool('bakery');
    const result = await ensure(PLACEMENT);
    expect(result.outcome).toBe('updated');
    expect(poolTemplate().variables).toEqual(defaultKubernetesBaseJobTemplate().variables);
    expect(podSpecOf(poolTemplate()).nodeSelector).toEqual(PLACEMENT.nodeSelector);
  });

  it('keeps a user-customised template: its variables, resources, own tolerations and other node labels', async () => {
    const custom = defaultKubernetesBaseJobTemplate();
    (custom.variables as { properties: Record<string, unknown> }).properties.memory = { type: 'string', default: '8Gi', title: 'Memory' };
    const spec = podSpecOf(custom);
    (spec.containers as Record<string, unknown>[])[0]!.resources = { requests: { memory: '{{ memory }}' } };
    spec.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'bakery', effect: 'NoSchedule' }];
    spec.nodeSelector = { 'kubernetes.io/os': 'linux', 'bakery.pangeo-forge.org/pool': 'old' };
    podTemplateOf(custom).metadata = { labels: { team: 'forge' }, annotations: { 'example.org/owner': 'bakery' } };
    api.addWorkPool('bakery', 'kubernetes', custom);

    const result = await ensure(PLACEMENT);
    expect(result.changes).toEqual([LABEL_CHANGE, 'tolerate kubernetes.azure.com/scalesetpriority=spot:NoSchedule', 'select nodes labelled bakery.pangeo-forge.org/pool=workers (was "old")']);
    const expected = structuredClone(custom);
    podSpecOf(expected).tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'bakery', effect: 'NoSchedule' }, SPOT];
    podSpecOf(expected).nodeSelector = { 'kubernetes.io/os': 'linux', 'bakery.pangeo-forge.org/pool': 'workers' };
    podTemplateOf(expected).metadata = { labels: { team: 'forge', ...WORKLOAD_IDENTITY_LABELS }, annotations: { 'example.org/owner': 'bakery' } };
    expect(poolTemplate()).toEqual(expected);
    expect(api.problems).toEqual([]);
  });

  it('recognises a toleration written without the default operator as the same one', async () => {
    const custom = defaultKubernetesBaseJobTemplate();
    podSpecOf(custom).tolerations = [{ key: SPOT.key, value: 'spot', effect: 'NoSchedule' }];
    podSpecOf(custom).nodeSelector = { ...PLACEMENT.nodeSelector };
    podTemplateOf(custom).metadata = { labels: { ...WORKLOAD_IDENTITY_LABELS } };
    api.addWorkPool('bakery', 'kubernetes', custom);
    expect(await ensure(PLACEMENT)).toEqual({ outcome: 'unchanged', changes: [] });
  });

  it('explains a template whose tolerations are a template variable, and changes nothing', async () => {
    const custom = defaultKubernetesBaseJobTemplate();
    podSpecOf(custom).tolerations = '{{ tolerations }}';
    (custom.variables as { properties: Record<string, unknown> }).properties.tolerations = { type: 'array', default: [] };
    api.addWorkPool('bakery', 'kubernetes', custom);
    const error = await ensure(PLACEMENT).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GuidedError);
    expect(String((error as Error).message)).toContain('job_configuration.job_manifest.spec.template.spec.tolerations is "{{ tolerations }}", not a list');
    expect(api.calls('update_work_pool')).toHaveLength(0);
  });

  it('explains a template without a Job manifest', async () => {
    api.addWorkPool('bakery', 'kubernetes', { job_configuration: { command: '{{ command }}' }, variables: { properties: { command: { type: 'string' } } } });
    await expect(ensure(PLACEMENT)).rejects.toThrow(/has no job_configuration\.job_manifest, so the flow pods' workload identity label, tolerations and node selector have no place to go/);
  });

  it('the stand-in refuses a template with an undeclared variable, as the server does', async () => {
    api.addWorkPool('bakery');
    const broken = defaultKubernetesBaseJobTemplate();
    podSpecOf(broken).priorityClassName = '{{ priority_class }}';
    await expect(prefect.updateWorkPool('bakery', { base_job_template: broken })).rejects.toThrow(/422.*undeclared variable\(s\): priority_class/);
  });
});

describe('ensureWorkPool without a placement', () => {
  it('creates the pool with Prefect\'s published default template plus the workload identity label only, which the worker keeps, and a second run does not patch', async () => {
    expect(await ensure(NO_PLACEMENT)).toEqual({ outcome: 'created', changes: [LABEL_CHANGE] });
    const expected = defaultKubernetesBaseJobTemplate();
    podTemplateOf(expected).metadata = { labels: WORKLOAD_IDENTITY_LABELS };
    expect(poolTemplate()).toEqual(expected);
    api.workerStarted('bakery');
    expect(poolTemplate()).toEqual(expected);
    expect(await ensure(NO_PLACEMENT)).toEqual({ outcome: 'unchanged', changes: [] });
    expect(api.calls('update_work_pool')).toHaveLength(0);
    expect(api.problems).toEqual([]);
  });

  it('labels the flow pods of a pool the worker already filled with its default, once, with nothing else changed', async () => {
    api.addWorkPool('bakery');
    api.workerStarted('bakery');
    expect(await ensure(NO_PLACEMENT)).toEqual({ outcome: 'updated', changes: [LABEL_CHANGE] });
    const expected = defaultKubernetesBaseJobTemplate();
    podTemplateOf(expected).metadata = { labels: WORKLOAD_IDENTITY_LABELS };
    expect(poolTemplate()).toEqual(expected);
    expect(await ensure(NO_PLACEMENT)).toEqual({ outcome: 'unchanged', changes: [] });
    expect(api.calls('update_work_pool')).toHaveLength(1);
    expect(api.problems).toEqual([]);
  });

  it('fills an existing pool whose template is still empty from the published default, with the label', async () => {
    api.addWorkPool('bakery');
    expect(await ensure(NO_PLACEMENT)).toEqual({ outcome: 'updated', changes: [LABEL_CHANGE] });
    expect(poolTemplate().variables).toEqual(defaultKubernetesBaseJobTemplate().variables);
    expect(podLabelsOf(poolTemplate())).toEqual(WORKLOAD_IDENTITY_LABELS);
  });

  it('keeps the pod template\'s other labels and sets a wrong value of the workload identity label to "true"', async () => {
    const custom = defaultKubernetesBaseJobTemplate();
    podTemplateOf(custom).metadata = { labels: { team: 'forge', [WORKLOAD_IDENTITY_POD_LABEL.key]: 'false' } };
    api.addWorkPool('bakery', 'kubernetes', custom);
    expect(await ensure(NO_PLACEMENT)).toEqual({ outcome: 'updated', changes: [`${LABEL_CHANGE} (was "false")`] });
    expect(podLabelsOf(poolTemplate())).toEqual({ team: 'forge', ...WORKLOAD_IDENTITY_LABELS });
    expect(await ensure(NO_PLACEMENT)).toEqual({ outcome: 'unchanged', changes: [] });
    expect(api.calls('update_work_pool')).toHaveLength(1);
  });

  it.each([
    ['labels are a template variable', { labels: '{{ labels }}' }, 'metadata.labels is "{{ labels }}", not an object'],
    ['labels are a list', { labels: ['azure.workload.identity/use'] }, 'metadata.labels is ["azure.workload.identity/use"], not an object'],
    ['metadata is a string', '{{ pod_metadata }}', 'metadata is "{{ pod_metadata }}", not an object'],
  ])('explains a pod template whose %s, and changes nothing', async (_case, metadata, problem) => {
    const custom = defaultKubernetesBaseJobTemplate();
    podTemplateOf(custom).metadata = metadata;
    api.addWorkPool('bakery', 'kubernetes', custom);
    const error = await ensure(NO_PLACEMENT).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GuidedError);
    expect(String((error as Error).message)).toContain(`base_job_template.job_configuration.job_manifest.spec.template.${problem}, so the flow pods cannot be labelled azure.workload.identity/use=true`);
    expect(api.calls('update_work_pool')).toHaveLength(0);
    expect(poolTemplate()).toEqual(custom);
  });

  it('refuses a pool of another type', async () => {
    api.addWorkPool('bakery', 'process');
    await expect(ensure(PLACEMENT)).rejects.toThrow(/exists with type "process"/);
  });
});

describe('flow-pod-tolerations and flow-pod-node-selector', () => {
  it('read the stack outputs as deploy publishes them (JSON), making the operator explicit', () => {
    setInput('flow-pod-tolerations', '[{"key":"kubernetes.azure.com/scalesetpriority","value":"spot","effect":"NoSchedule"}]');
    setInput('flow-pod-node-selector', '{"bakery.pangeo-forge.org/pool":"workers"}');
    expect(readFlowPodPlacement()).toEqual(PLACEMENT);
  });

  it('are empty when not given or given as the empty JSON values', () => {
    expect(readFlowPodPlacement()).toEqual(NO_PLACEMENT);
    setInput('flow-pod-tolerations', '[]');
    setInput('flow-pod-node-selector', '{}');
    expect(readFlowPodPlacement()).toEqual(NO_PLACEMENT);
  });

  it.each([
    ['flow-pod-tolerations', 'true', /is JSON boolean, not a list of tolerations/],
    ['flow-pod-tolerations', '[{"key":"a", "value":"b"', /is not valid JSON/],
    ['flow-pod-tolerations', '[{"key":"a","operator":"In"}]', /item 1 with operator "In"; Kubernetes knows Equal and Exists/],
    ['flow-pod-tolerations', '[{"key":"a","operator":"Exists","value":"b"}]', /Exists takes no value/],
    ['flow-pod-tolerations', '[{"value":"b"}]', /without a key/],
    ['flow-pod-tolerations', '[{"key":"a","effect":"NoScheduled"}]', /effect "NoScheduled"/],
    ['flow-pod-tolerations', '[{"key":"a","tolerationSeconds":60,"effect":"NoSchedule"}]', /NoExecute only/],
    ['flow-pod-tolerations', '[{"key":"a","values":"b"}]', /unknown field\(s\) values/],
    ['flow-pod-tolerations', '[{"key":"bad key"}]', /not a valid taint key/],
    ['flow-pod-node-selector', '["workers"]', /is JSON array, not an object of node labels/],
    ['flow-pod-node-selector', '{"pool": 1}', /"pool" set to 1, which is not a valid label value/],
    ['flow-pod-node-selector', '{"-pool": "x"}', /key "-pool", which is not a valid label key/],
  ])('%s = %s is a ConfigurationError naming the input', (input, value, problem) => {
    setInput(input, value);
    const error = configurationErrorOf(() => readFlowPodPlacement());
    expect(error.input).toBe(input);
    expect(error.message).toMatch(problem);
    expect(error.message).toContain('steps.deploy.outputs.');
  });
});
