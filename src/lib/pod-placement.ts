import type { IToleration } from 'kubernetes-models/v1/Toleration';
import { ConfigurationError, GuidedError } from './errors.js';
import { rawInput } from './inputs.js';

/**
 * Where the Bakery's flow pods (the Prefect worker's flow-run Jobs and the Dask pods a flow starts) may
 * run: the tolerations and node selector of the cluster's worker pool. The bakery stack publishes them
 * as `flow_pod_tolerations` (AKS taints every Spot node kubernetes.azure.com/scalesetpriority=spot:NoSchedule,
 * so without the toleration nothing schedules on a Spot pool) and `flow_pod_node_selector`; setup-agent
 * and register-flow read them as `flow-pod-tolerations` / `flow-pod-node-selector` (JSON, deploy's
 * outputs as they are).
 */
export interface PodPlacement {
  tolerations: IToleration[];
  nodeSelector: Record<string, string>;
}

export const NO_PLACEMENT: PodPlacement = { tolerations: [], nodeSelector: {} };

export function isEmptyPlacement(placement: PodPlacement): boolean {
  return placement.tolerations.length === 0 && Object.keys(placement.nodeSelector).length === 0;
}

/**
 * An input holding JSON; `undefined` when empty. V8's parse error quotes the text around the error, which
 * may be a secret in some inputs: only the position is kept.
 */
export function readJsonInput(name: string, fix: string): unknown {
  const text = rawInput(name);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new ConfigurationError(name, `is not valid JSON${position ? ` (error at character ${position})` : ''}`, fix);
  }
}

function jsonKind(value: unknown): string {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

/** A label or taint key: an optional DNS-subdomain prefix and "/", then a name of ≤ 63 characters. */
const QUALIFIED_NAME = /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A label value: empty, or ≤ 63 alphanumerics, "-", "_", "." starting and ending alphanumeric. */
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
const TOLERATION_FIELDS = new Set(['key', 'operator', 'value', 'effect', 'tolerationSeconds']);

const TOLERATIONS_FIX =
  'Pass the bakery stack\'s output as it is (`flow-pod-tolerations: ${{ steps.deploy.outputs.flow-pod-tolerations }}`), or a JSON list of Kubernetes tolerations, ' +
  'e.g. [{"key":"kubernetes.azure.com/scalesetpriority","operator":"Equal","value":"spot","effect":"NoSchedule"}].';
const NODE_SELECTOR_FIX =
  'Pass the bakery stack\'s output as it is (`flow-pod-node-selector: ${{ steps.deploy.outputs.flow-pod-node-selector }}`), or a JSON object of node labels, ' +
  'e.g. {"bakery.pangeo-forge.org/pool":"workers"}.';

/** Checks one toleration as the Kubernetes API server would, and returns it in a canonical form (operator explicit). */
function parseToleration(input: string, index: number, item: unknown): IToleration {
  const where = `item ${index + 1}`;
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new ConfigurationError(input, `has ${where} of JSON ${jsonKind(item)}, not an object`, TOLERATIONS_FIX);
  }
  const fields = item as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((field) => !TOLERATION_FIELDS.has(field));
  if (unknown.length) throw new ConfigurationError(input, `has ${where} with unknown field(s) ${unknown.join(', ')}; a toleration has key, operator, value, effect and tolerationSeconds`, TOLERATIONS_FIX);
  for (const field of ['key', 'operator', 'value', 'effect'] as const) {
    if (fields[field] !== undefined && typeof fields[field] !== 'string') throw new ConfigurationError(input, `has ${where} whose ${field} is JSON ${jsonKind(fields[field])}, not a string`, TOLERATIONS_FIX);
  }
  const key = (fields.key as string | undefined) ?? '';
  const operator = (fields.operator as string | undefined) ?? 'Equal';
  const value = (fields.value as string | undefined) ?? '';
  const effect = fields.effect as string | undefined;
  if (operator !== 'Equal' && operator !== 'Exists') throw new ConfigurationError(input, `has ${where} with operator ${JSON.stringify(operator)}; Kubernetes knows Equal and Exists`, TOLERATIONS_FIX);
  if (key && !QUALIFIED_NAME.test(key)) throw new ConfigurationError(input, `has ${where} with key ${JSON.stringify(key)}, which is not a valid taint key`, TOLERATIONS_FIX);
  if (!key && operator !== 'Exists') throw new ConfigurationError(input, `has ${where} without a key, which Kubernetes allows only with operator Exists (tolerate every taint)`, TOLERATIONS_FIX);
  if (operator === 'Exists' && value) throw new ConfigurationError(input, `has ${where} with operator Exists and value ${JSON.stringify(value)}; Exists takes no value`, TOLERATIONS_FIX);
  if (!LABEL_VALUE.test(value)) throw new ConfigurationError(input, `has ${where} with value ${JSON.stringify(value)}, which is not a valid taint value`, TOLERATIONS_FIX);
  if (effect !== undefined && effect !== '' && !(EFFECTS as readonly string[]).includes(effect)) {
    throw new ConfigurationError(input, `has ${where} with effect ${JSON.stringify(effect)}; Kubernetes knows ${EFFECTS.join(', ')} (or none for every effect)`, TOLERATIONS_FIX);
  }
  const seconds = fields.tolerationSeconds;
  if (seconds !== undefined && (typeof seconds !== 'number' || !Number.isInteger(seconds))) throw new ConfigurationError(input, `has ${where} whose tolerationSeconds is not a whole number`, TOLERATIONS_FIX);
  if (seconds !== undefined && effect !== 'NoExecute') throw new ConfigurationError(input, `has ${where} with tolerationSeconds but effect ${JSON.stringify(effect ?? '')}; Kubernetes allows it with NoExecute only`, TOLERATIONS_FIX);
  return {
    ...(key ? { key } : {}),
    operator,
    ...(value ? { value } : {}),
    ...(effect ? { effect: effect as IToleration['effect'] } : {}),
    ...(seconds !== undefined ? { tolerationSeconds: seconds as number } : {}),
  };
}

/** A JSON list of Kubernetes tolerations; empty input (or `[]`) is none. */
export function readTolerations(input: string): IToleration[] {
  const value = readJsonInput(input, TOLERATIONS_FIX);
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigurationError(input, `is JSON ${jsonKind(value)}, not a list of tolerations`, TOLERATIONS_FIX);
  return value.map((item, index) => parseToleration(input, index, item));
}

/** A JSON object of node labels (key → value); empty input (or `{}`) is none. */
export function readNodeSelector(input: string): Record<string, string> {
  const value = readJsonInput(input, NODE_SELECTOR_FIX);
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigurationError(input, `is JSON ${jsonKind(value)}, not an object of node labels`, NODE_SELECTOR_FIX);
  for (const [key, label] of Object.entries(value)) {
    if (!QUALIFIED_NAME.test(key)) throw new ConfigurationError(input, `has key ${JSON.stringify(key)}, which is not a valid label key`, NODE_SELECTOR_FIX);
    if (typeof label !== 'string' || !LABEL_VALUE.test(label)) throw new ConfigurationError(input, `has ${JSON.stringify(key)} set to ${JSON.stringify(label)}, which is not a valid label value (a string)`, NODE_SELECTOR_FIX);
  }
  return value as Record<string, string>;
}

/** `flow-pod-tolerations` and `flow-pod-node-selector`, the inputs setup-agent and register-flow share. */
export function readFlowPodPlacement(): PodPlacement {
  return { tolerations: readTolerations('flow-pod-tolerations'), nodeSelector: readNodeSelector('flow-pod-node-selector') };
}

/** Two tolerations that tolerate the same taints (an absent operator is Equal, an absent value ""). */
export function sameToleration(a: IToleration, b: IToleration): boolean {
  return (
    (a.key ?? '') === (b.key ?? '') &&
    (a.operator ?? 'Equal') === (b.operator ?? 'Equal') &&
    (a.value ?? '') === (b.value ?? '') &&
    (a.effect ?? '') === (b.effect ?? '') &&
    a.tolerationSeconds === b.tolerationSeconds
  );
}

export function describeToleration(toleration: IToleration): string {
  const match = toleration.operator === 'Exists' ? `${toleration.key ?? '*'} exists` : `${toleration.key}=${toleration.value ?? ''}`;
  return `${match}${toleration.effect ? `:${toleration.effect}` : ''}`;
}

/**
 * Adds the placement to a pod spec (a plain object, e.g. a Job template's), keeping everything it
 * has: a toleration it already has is not added twice, a node-selector label is set to the value
 * asked. Mutates `podSpec`; returns what changed (empty: nothing to do). `where` names the spec in
 * errors (a user-customised template may hold something that is not a list or object there).
 */
export function addPlacement(podSpec: Record<string, unknown>, placement: PodPlacement, where: string): string[] {
  const changes: string[] = [];
  if (placement.tolerations.length) {
    const existing = podSpec.tolerations ?? [];
    if (!Array.isArray(existing)) {
      throw new GuidedError(
        `${where}.tolerations is ${JSON.stringify(existing).slice(0, 80)}, not a list, so the tolerations cannot be added`,
        'Someone made the tolerations a template variable or another value: put a list there (e.g. []) in the work pool\'s base job template (Prefect UI → work pool → Edit → Base Job Template), then run again.',
      );
    }
    const tolerations = [...(existing as IToleration[])];
    for (const wanted of placement.tolerations) {
      if (tolerations.some((have) => typeof have === 'object' && have !== null && sameToleration(have, wanted))) continue;
      tolerations.push(wanted);
      changes.push(`tolerate ${describeToleration(wanted)}`);
    }
    if (changes.length) podSpec.tolerations = tolerations;
  }
  const labels = Object.entries(placement.nodeSelector);
  if (labels.length) {
    const existing = podSpec.nodeSelector ?? {};
    if (typeof existing !== 'object' || existing === null || Array.isArray(existing)) {
      throw new GuidedError(
        `${where}.nodeSelector is ${JSON.stringify(existing).slice(0, 80)}, not an object, so the node selector cannot be set`,
        'Put an object there (e.g. {}) in the work pool\'s base job template (Prefect UI → work pool → Edit → Base Job Template), then run again.',
      );
    }
    const selector = { ...(existing as Record<string, unknown>) };
    let changed = false;
    for (const [key, value] of labels) {
      if (selector[key] === value) continue;
      changes.push(selector[key] === undefined ? `select nodes labelled ${key}=${value}` : `select nodes labelled ${key}=${value} (was ${JSON.stringify(selector[key])})`);
      selector[key] = value;
      changed = true;
    }
    if (changed) podSpec.nodeSelector = selector;
  }
  return changes;
}
