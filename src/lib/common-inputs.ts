import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from './errors.js';
import { readString } from './inputs.js';
import { workspaceRoot } from './runner-env.js';

/**
 * The inputs several actions take, read the same way in each: one naming rule, one wording of what is
 * expected, one example. The rules are Azure's own
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules) and
 * Kubernetes' (RFC 1123 names), so a value that passes here is one the service accepts.
 */

/** Environment names become blob keys, file names (backend-<environment>.hcl) and plan ids. */
export const ENVIRONMENT_PATTERN = /^[a-z](?:[a-z0-9-]{0,28}[a-z0-9])?$/;

export function readEnvironment(): string {
  return readString('environment', {
    required: true,
    pattern: ENVIRONMENT_PATTERN,
    expected: 'a lowercase environment name of up to 30 letters, digits or inner hyphens',
    example: 'dev',
  });
}

/** 1–90 letters, digits, `.`, `_`, `-`, `(`, `)`, not ending in a period. */
export const RESOURCE_GROUP_PATTERN = /^[-\w.()]{0,89}[-\w()]$/;

/** `resource-group`; `example` for a default derived from other inputs (setup-remote-state's). */
export function readResourceGroup(rule: { required: true; example?: string }): string;
export function readResourceGroup(rule?: { required?: boolean; example?: string }): string | undefined;
export function readResourceGroup(rule: { required?: boolean; example?: string } = {}): string | undefined {
  return readString('resource-group', {
    required: rule.required,
    pattern: RESOURCE_GROUP_PATTERN,
    expected: 'a resource group name: 1–90 letters, digits, or . _ - ( ), not ending in a period',
    example: rule.example ?? 'bakery-dev-rg',
  });
}

/** AKS: 1–63 letters, digits, `_` and `-`, starting and ending with a letter or digit. */
export const AKS_CLUSTER_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;

export function readClusterName(rule: { required: true }): string;
export function readClusterName(rule?: { required?: boolean }): string | undefined;
export function readClusterName(rule: { required?: boolean } = {}): string | undefined {
  return readString('cluster-name', {
    required: rule.required,
    pattern: AKS_CLUSTER_NAME_PATTERN,
    expected: 'an AKS cluster name: 1–63 letters, digits, - and _, starting and ending with a letter or digit',
    example: 'bakery-dev-aks',
  });
}

/** A Kubernetes namespace name: an RFC 1123 label. */
export const NAMESPACE_PATTERN = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
export const DEFAULT_NAMESPACE = 'bakery';

const NAMESPACE_RULE = {
  pattern: NAMESPACE_PATTERN,
  expected: 'a Kubernetes namespace name (lowercase letters, digits and -, at most 63, starting and ending alphanumeric)',
  example: DEFAULT_NAMESPACE,
};

export function readNamespace(): string {
  return readString('namespace', { ...NAMESPACE_RULE, default: DEFAULT_NAMESPACE });
}

/** `namespace` without a default: undefined when empty, for an action that finds it elsewhere (destroy: the stack's output). */
export function readNamespaceIfGiven(): string | undefined {
  return readString('namespace', NAMESPACE_RULE);
}

/** Most Kubernetes object names, a service account's among them: an RFC 1123 subdomain. */
export const OBJECT_NAME_PATTERN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DEFAULT_SERVICE_ACCOUNT = 'bakery-worker';

export function readServiceAccount(): string {
  return readString('service-account', {
    default: DEFAULT_SERVICE_ACCOUNT,
    pattern: OBJECT_NAME_PATTERN,
    expected: 'a Kubernetes service account name (lowercase letters, digits, - and .)',
    example: DEFAULT_SERVICE_ACCOUNT,
  });
}

/** A blob container name: 3–63 lowercase letters, digits and single inner hyphens. */
export const BLOB_CONTAINER_PATTERN = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;

export function readBlobContainer(name: string, rule: { required: true; example: string }): string;
export function readBlobContainer(name: string, rule: { default: string; example: string }): string;
export function readBlobContainer(name: string, rule: { example: string }): string | undefined;
export function readBlobContainer(name: string, rule: { required?: boolean; default?: string; example: string }): string | undefined {
  return readString(name, {
    ...rule,
    pattern: BLOB_CONTAINER_PATTERN,
    expected: 'a blob container name: 3–63 lowercase letters, digits or single inner hyphens',
  });
}

/**
 * A directory the input `name` gives (`given`: one value, or one entry of a list), relative to the
 * repository root; a ConfigurationError naming the input when it is not a directory there — a typo, or
 * no checkout before this step. `fix` says what the input should name.
 */
export function workspaceDirectory(name: string, given: string, fix: string): string {
  const absolute = path.resolve(workspaceRoot(), given);
  if (!statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigurationError(name, `is ${JSON.stringify(given)}, which is not a directory in the workspace (${absolute})`, `${fix} Check out the repository (actions/checkout) before this step.`);
  }
  return absolute;
}

/** `commit`: the commit a plan is stored under (plan) or was made for (deploy); default the run's. */
export function readCommit(expected: string): string {
  return readString('commit', {
    default: process.env.GITHUB_SHA || 'local',
    pattern: /^[A-Za-z0-9._-]{1,64}$/,
    expected,
    example: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
  });
}
