import { maskAzureCredentials, readAzureAuth, type AzureAuth } from '../lib/azure-auth.js';
import { readClusterName, readEnvironment, readNamespaceIfGiven, readResourceGroup } from '../lib/common-inputs.js';
import { ConfigurationError } from '../lib/errors.js';
import { readDuration } from '../lib/duration.js';
import { rawInput, readBoolean, readList } from '../lib/inputs.js';
import { readMaxAttempts, readRootModuleInputs, type RootModuleInputs } from '../lib/root-modules.js';

export interface AgentNamespace {
  resourceGroup: string;
  clusterName: string;
  /** Undefined when not given: then it is read from the root modules' state (./namespace-output.ts). */
  namespace?: string;
  /** How long to wait for Kubernetes to finish deleting the namespace (its load balancers and volumes). */
  timeoutMs: number;
}

/** `modules` in apply order; destroy works through them in reverse. */
export interface Inputs extends RootModuleInputs {
  environment: string;
  maxAttempts: number;
  /** The agent's namespace to delete first; undefined when no cluster is named. */
  agent?: AgentNamespace;
  destroyRemoteState: boolean;
  auth: AzureAuth;
}

export const DEFAULT_PROTECTED_ENVIRONMENTS = ['prod*'];

/** A shell-style glob (`*` any run of characters, `?` one) matched against the whole name, ignoring case. */
export function globMatches(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}

/**
 * The two guards, checked before anything else is read or touched: the caller typed the environment's
 * name into `confirm`, and the environment is not a protected one (unless `allow-protected` says so).
 */
export function checkDestroyGuards(environment: string): void {
  const confirm = rawInput('confirm');
  if (confirm !== environment) {
    const given = confirm ? `is ${JSON.stringify(confirm)}, which is not the environment's name` : 'is empty';
    throw new ConfigurationError('confirm', `${given}, so nothing was destroyed`, `To destroy the environment "${environment}" and everything in it, set "confirm" to exactly: ${environment}`);
  }
  const patterns = readList('protected-environments');
  const protectedPatterns = patterns.length ? patterns : DEFAULT_PROTECTED_ENVIRONMENTS;
  const matched = protectedPatterns.find((pattern) => globMatches(pattern, environment));
  if (matched && !readBoolean('allow-protected', false)) {
    throw new ConfigurationError(
      'environment',
      `is "${environment}", which matches the protected-environments pattern "${matched}", so nothing was destroyed`,
      'Destroying a protected environment needs "allow-protected: true" as well (best set only in a workflow that requires a reviewer\'s approval for this environment).',
    );
  }
}

function readAgentNamespace(): AgentNamespace | undefined {
  const clusterName = readClusterName();
  const resourceGroup = readResourceGroup();
  const namespace = readNamespaceIfGiven();
  const timeoutMs = readDuration('namespace-timeout', { default: '15m', min: '10s', max: '2h' });
  if (!clusterName && !resourceGroup) return undefined;
  if (!clusterName || !resourceGroup) {
    const missing = clusterName ? 'resource-group' : 'cluster-name';
    throw new ConfigurationError(missing, `is empty while "${clusterName ? 'cluster-name' : 'resource-group'}" is set`, 'Give both "cluster-name" and "resource-group" (the deploy step\'s outputs) to remove the agent\'s namespace first, or neither to skip that step.');
  }
  return { clusterName, resourceGroup, namespace, timeoutMs };
}

export function readInputs(): Inputs {
  // Which auth methods fit is known only after the inputs below; the credentials are masked now.
  maskAzureCredentials();
  const environment = readEnvironment();
  checkDestroyGuards(environment);
  const { modules, variables, terraform, blobEndpoint } = readRootModuleInputs(environment);
  const maxAttempts = readMaxAttempts();
  const agent = readAgentNamespace();
  const destroyRemoteState = readBoolean('destroy-remote-state', false);
  if (destroyRemoteState && modules.some((module) => !module.backend.resource_group_name)) {
    const module = modules.find((candidate) => !candidate.backend.resource_group_name)!;
    throw new ConfigurationError('destroy-remote-state', `is true, but the backend config of ${module.displayPath} names no resource_group_name, so there is no state resource group to delete`, 'Use the backend config setup-remote-state wrote (it names the group), or set "destroy-remote-state" to false.');
  }
  const auth = readAzureAuth({ allowConnectionString: !agent && !destroyRemoteState, needsSubscription: true });
  return { environment, modules, variables, terraform, maxAttempts, agent, destroyRemoteState, blobEndpoint, auth };
}
