/**
 * The Terraform outputs that the actions read, per root module. This list is the contract between
 * terraform/stacks/* and the actions: tests check that each stack declares every output named here,
 * and deploy/setup-agent/register-flow read them by these names (deploy turns them into kebab-case
 * action outputs, e.g. `cluster_name` → `cluster-name`).
 */
export const STACK_OUTPUTS = {
  bakery: [
    'resource_group_name',
    'cluster_name',
    'registry_name',
    'registry_login_server',
    'flow_storage_account_name',
    'flow_storage_container_name',
    'flow_cache_container_name',
    'flow_storage_blob_endpoint',
    'workload_identity_client_id',
    'log_analytics_workspace_id',
    'oidc_issuer_url',
    'worker_namespace',
    'worker_service_account_name',
    'flow_pod_tolerations',
    'flow_pod_node_selector',
  ],
  'metaflow/infra': [
    'resource_group_name',
    'cluster_name',
    'storage_account_name',
    'storage_container_name',
    'storage_blob_endpoint',
    'postgres_server_fqdn',
    'workload_identity_client_id',
    'log_analytics_workspace_id',
    'oidc_issuer_url',
  ],
  'metaflow/services': ['metaflow_config', 'end_user_instructions', 'metaflow_namespace'],
} as const satisfies Record<string, readonly string[]>;

export type StackName = keyof typeof STACK_OUTPUTS;

/**
 * The output of each stack that names the Kubernetes namespace its workloads run in: the Prefect
 * worker's and its flow runs' (bakery, what setup-agent is given), Metaflow's services and steps
 * (metaflow/services). destroy reads it from the state to remove that namespace before Terraform
 * destroys the cluster.
 */
export const NAMESPACE_OUTPUTS = {
  bakery: 'worker_namespace',
  'metaflow/services': 'metaflow_namespace',
} as const satisfies Partial<{ [Stack in StackName]: (typeof STACK_OUTPUTS)[Stack][number] }>;

/** Terraform output name → action output name (`cluster_name` → `cluster-name`). */
export function toActionOutputName(terraformOutput: string): string {
  return terraformOutput.replace(/_/g, '-');
}
