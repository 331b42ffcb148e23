import * as core from '@actions/core';
import { GuidedError } from '../lib/errors.js';
import { addPlacement, isEmptyPlacement, type PodPlacement } from '../lib/pod-placement.js';
import type { PrefectClient } from '../lib/prefect.js';
import { defaultKubernetesBaseJobTemplate } from '../lib/prefect-kubernetes-template.js';

export interface WorkPoolResult {
  outcome: 'created' | 'updated' | 'unchanged';
  /** What changed in the base job template (placement of flow pods), one line each. */
  changes: string[];
}

/** Where the flow-run pod's spec sits in a Kubernetes base job template. */
const POD_SPEC_PATH = ['job_configuration', 'job_manifest', 'spec', 'template', 'spec'] as const;

/**
 * The base job template with the flow pods' placement added to its Job's pod spec
 * (job_configuration.job_manifest.spec.template.spec), everything else kept as it is: a user's
 * customisations survive, and a second run finds nothing to add. An empty template (the pool was
 * created without one and no worker has filled it yet) starts from Prefect's published default, as
 * `prefect work-pool create --type kubernetes` would.
 */
export function placeFlowPods(template: Record<string, unknown> | undefined, placement: PodPlacement): { template: Record<string, unknown>; changes: string[]; fromDefault: boolean } {
  const fromDefault = !template || Object.keys(template).length === 0;
  const result = fromDefault ? defaultKubernetesBaseJobTemplate() : structuredClone(template);
  let node: unknown = result;
  for (const [depth, key] of POD_SPEC_PATH.entries()) {
    const parent = node as Record<string, unknown>;
    node = parent[key];
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      const where = POD_SPEC_PATH.slice(0, depth + 1).join('.');
      throw new GuidedError(
        `The work pool's base job template has ${node === undefined ? 'no' : `a non-object (${JSON.stringify(node).slice(0, 60)})`} ${where}, so the flow pods' tolerations and node selector have no place to go`,
        'A Kubernetes work pool\'s template holds the Job manifest at job_configuration.job_manifest; restore it (Prefect UI → work pool → Edit → Base Job Template, or `prefect work-pool get-default-base-job-template --type kubernetes`), then run again.',
      );
    }
  }
  const changes = addPlacement(node as Record<string, unknown>, placement, `base_job_template.${POD_SPEC_PATH.join('.')}`);
  return { template: result, changes, fromDefault };
}

/**
 * Makes sure the Kubernetes work pool exists and, when a placement is asked, that its flow-run pods
 * tolerate and select the worker pool's nodes (read → merge → PATCH only when something changed).
 * Without a placement a new pool gets no template: the worker writes its own version's default on
 * its first start.
 */
export async function ensureWorkPool(prefect: PrefectClient, pool: { name: string; description: string; placement: PodPlacement }): Promise<WorkPoolResult> {
  const wantsPlacement = !isEmptyPlacement(pool.placement);
  const existing = await prefect.readWorkPool(pool.name);
  if (!existing) {
    const placed = wantsPlacement ? placeFlowPods(undefined, pool.placement) : undefined;
    await prefect.createWorkPool({ name: pool.name, type: 'kubernetes', description: pool.description, ...(placed ? { base_job_template: placed.template } : {}) });
    core.info(`Created work pool ${pool.name} (type kubernetes)${placed ? ` with Prefect's default Kubernetes job template, set to ${placed.changes.join(', ')}` : ''}.`);
    return { outcome: 'created', changes: placed?.changes ?? [] };
  }
  if (existing.type !== 'kubernetes') {
    throw new GuidedError(
      `Work pool "${pool.name}" exists with type "${existing.type}", but this worker is a Kubernetes worker`,
      'Choose another "work-pool", or delete the pool in Prefect (flows deployed to it must be redeployed).',
    );
  }
  if (!wantsPlacement) {
    core.info(`Work pool ${pool.name} exists (type kubernetes).`);
    return { outcome: 'unchanged', changes: [] };
  }
  const placed = placeFlowPods(existing.base_job_template, pool.placement);
  if (placed.changes.length === 0) {
    core.info(`Work pool ${pool.name} exists (type kubernetes); its flow pods already tolerate and select what is asked.`);
    return { outcome: 'unchanged', changes: [] };
  }
  await prefect.updateWorkPool(pool.name, { base_job_template: placed.template });
  core.info(`Updated the base job template of work pool ${pool.name}${placed.fromDefault ? ' (it had none: Prefect\'s default Kubernetes template)' : ''}: ${placed.changes.join(', ')}.`);
  return { outcome: 'updated', changes: placed.changes };
}
