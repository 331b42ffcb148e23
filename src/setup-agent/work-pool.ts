import * as core from '@actions/core';
import { GuidedError } from '../lib/errors.js';
import { addPlacement, isEmptyPlacement, type PodPlacement } from '../lib/pod-placement.js';
import type { PrefectClient } from '../lib/prefect.js';
import { defaultKubernetesBaseJobTemplate } from '../lib/prefect-kubernetes-template.js';

export interface WorkPoolResult {
  outcome: 'created' | 'updated' | 'unchanged';
  /** What changed in the base job template (the flow pods' label and placement), one line each. */
  changes: string[];
}

/**
 * The label AKS's workload identity webhook looks for on the pod itself: only a pod that carries it
 * (and runs as a ServiceAccount annotated with the identity's client id) gets the federated token and
 * AZURE_* variables. The ServiceAccount annotation alone is not enough, so every flow-run pod needs it
 * to reach Blob storage with the workload identity.
 */
export const WORKLOAD_IDENTITY_POD_LABEL = { key: 'azure.workload.identity/use', value: 'true' } as const;

/** Where the flow-run pod's template (metadata + spec) sits in a Kubernetes base job template. */
const POD_TEMPLATE_PATH = ['job_configuration', 'job_manifest', 'spec', 'template'] as const;
const POD_TEMPLATE_WHERE = `base_job_template.${POD_TEMPLATE_PATH.join('.')}`;
const EDIT_TEMPLATE = 'Prefect UI → work pool → Edit → Base Job Template';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Puts the workload identity label on the pod template's metadata.labels (creating metadata and
 * labels when absent, keeping every other label). Mutates `podTemplate`; returns what changed.
 */
function addWorkloadIdentityLabel(podTemplate: Record<string, unknown>): string[] {
  const metadata = podTemplate.metadata ?? {};
  if (!isObject(metadata)) {
    throw new GuidedError(
      `${POD_TEMPLATE_WHERE}.metadata is ${JSON.stringify(metadata).slice(0, 80)}, not an object, so the flow pods cannot be labelled ${WORKLOAD_IDENTITY_POD_LABEL.key}=${WORKLOAD_IDENTITY_POD_LABEL.value}`,
      `Put an object there (e.g. {}) in the work pool's base job template (${EDIT_TEMPLATE}), then run again.`,
    );
  }
  const labels = metadata.labels ?? {};
  if (!isObject(labels)) {
    throw new GuidedError(
      `${POD_TEMPLATE_WHERE}.metadata.labels is ${JSON.stringify(labels).slice(0, 80)}, not an object, so the flow pods cannot be labelled ${WORKLOAD_IDENTITY_POD_LABEL.key}=${WORKLOAD_IDENTITY_POD_LABEL.value}`,
      'Someone made the pod labels a template variable or another value: put an object there (e.g. {} — the Job\'s own labels stay at job_manifest.metadata.labels) ' +
        `in the work pool's base job template (${EDIT_TEMPLATE}), then run again.`,
    );
  }
  const { key, value } = WORKLOAD_IDENTITY_POD_LABEL;
  if (labels[key] === value) return [];
  const change = `label flow pods ${key}=${value}${labels[key] === undefined ? '' : ` (was ${JSON.stringify(labels[key])})`}`;
  podTemplate.metadata = { ...metadata, labels: { ...labels, [key]: value } };
  return [change];
}

/**
 * The base job template with what the Bakery's flow-run pods need added to its Job's pod template
 * (job_configuration.job_manifest.spec.template): the workload identity label on its metadata, and
 * the placement (tolerations, node selector) on its spec. Everything else is kept as it is: a user's
 * customisations survive, and a second run finds nothing to add. An empty template (the pool was
 * created without one and no worker has filled it yet) starts from Prefect's published default, as
 * `prefect work-pool create --type kubernetes` would.
 */
export function prepareFlowPodTemplate(template: Record<string, unknown> | undefined, placement: PodPlacement): { template: Record<string, unknown>; changes: string[]; fromDefault: boolean } {
  const fromDefault = !template || Object.keys(template).length === 0;
  const result = fromDefault ? defaultKubernetesBaseJobTemplate() : structuredClone(template);
  const path = [...POD_TEMPLATE_PATH, 'spec'];
  const nodes: Record<string, unknown>[] = [result];
  for (const [depth, key] of path.entries()) {
    const node = nodes[depth]![key];
    if (!isObject(node)) {
      const where = path.slice(0, depth + 1).join('.');
      throw new GuidedError(
        `The work pool's base job template has ${node === undefined ? 'no' : `a non-object (${JSON.stringify(node).slice(0, 60)})`} ${where}, so the flow pods' workload identity label, tolerations and node selector have no place to go`,
        `A Kubernetes work pool's template holds the Job manifest at job_configuration.job_manifest; restore it (${EDIT_TEMPLATE}, or \`prefect work-pool get-default-base-job-template --type kubernetes\`), then run again.`,
      );
    }
    nodes.push(node);
  }
  const [podTemplate, podSpec] = nodes.slice(-2) as [Record<string, unknown>, Record<string, unknown>];
  const changes = [...addWorkloadIdentityLabel(podTemplate), ...addPlacement(podSpec, placement, `${POD_TEMPLATE_WHERE}.spec`)];
  return { template: result, changes, fromDefault };
}

/**
 * Makes sure the Kubernetes work pool exists and that its flow-run pods carry the workload identity
 * label and, when a placement is asked, tolerate and select the worker pool's nodes (read → merge →
 * PATCH only when something changed). A new pool gets Prefect's published default template with
 * those added: left empty, the worker would write its own default on its first start, without the
 * label, and flows could not reach storage.
 */
export async function ensureWorkPool(prefect: PrefectClient, pool: { name: string; description: string; placement: PodPlacement }): Promise<WorkPoolResult> {
  const existing = await prefect.readWorkPool(pool.name);
  if (!existing) {
    const prepared = prepareFlowPodTemplate(undefined, pool.placement);
    await prefect.createWorkPool({ name: pool.name, type: 'kubernetes', description: pool.description, base_job_template: prepared.template });
    core.info(`Created work pool ${pool.name} (type kubernetes) with Prefect's default Kubernetes job template, set to ${prepared.changes.join(', ')}.`);
    return { outcome: 'created', changes: prepared.changes };
  }
  if (existing.type !== 'kubernetes') {
    throw new GuidedError(
      `Work pool "${pool.name}" exists with type "${existing.type}", but this worker is a Kubernetes worker`,
      'Choose another "work-pool", or delete the pool in Prefect (flows deployed to it must be redeployed).',
    );
  }
  const prepared = prepareFlowPodTemplate(existing.base_job_template, pool.placement);
  if (prepared.changes.length === 0) {
    core.info(`Work pool ${pool.name} exists (type kubernetes); its flow pods already carry the workload identity label${isEmptyPlacement(pool.placement) ? '' : ' and tolerate and select what is asked'}.`);
    return { outcome: 'unchanged', changes: [] };
  }
  await prefect.updateWorkPool(pool.name, { base_job_template: prepared.template });
  core.info(`Updated the base job template of work pool ${pool.name}${prepared.fromDefault ? ' (it had none: Prefect\'s default Kubernetes template)' : ''}: ${prepared.changes.join(', ')}.`);
  return { outcome: 'updated', changes: prepared.changes };
}
