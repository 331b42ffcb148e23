# Output names are a contract: the actions read them by these names (src/lib/stack-outputs.ts).

output "resource_group_name" {
  description = "Resource group holding the Bakery's resources."
  value       = azurerm_resource_group.bakery.name
}

output "cluster_name" {
  description = "Name of the AKS cluster."
  value       = module.cluster.name
}

output "registry_name" {
  description = "Name of the container registry."
  value       = azurerm_container_registry.bakery.name
}

output "registry_login_server" {
  description = "Login server of the container registry, the host part of image references."
  value       = azurerm_container_registry.bakery.login_server
}

output "flow_storage_account_name" {
  description = "Storage account holding the flow containers."
  value       = module.flow_storage.name
}

output "flow_storage_container_name" {
  description = "Blob container for flow code and outputs."
  value       = var.flow_storage_container_name
  # Wait for the container itself, not just its name, before anyone uses this output.
  depends_on = [module.flow_storage]
}

output "flow_cache_container_name" {
  description = "Blob container for the flows' input cache."
  value       = var.flow_cache_container_name
  depends_on  = [module.flow_storage]
}

output "flow_storage_blob_endpoint" {
  description = "Blob service endpoint of the flow storage account."
  value       = module.flow_storage.primary_blob_endpoint
}

output "workload_identity_client_id" {
  description = "Client ID of the worker's managed identity; annotate the worker service account with azure.workload.identity/client-id set to it."
  value       = module.worker_identity.client_id
}

output "log_analytics_workspace_id" {
  description = "Resource ID of the Log Analytics workspace receiving Container Insights data."
  value       = module.cluster.log_analytics_workspace_id
}

output "oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster."
  value       = module.cluster.oidc_issuer_url
}

output "worker_namespace" {
  description = "Kubernetes namespace in which setup-agent installs the Prefect worker."
  value       = var.worker_namespace
}

output "worker_service_account_name" {
  description = "Kubernetes service account, federated to the workload identity, that the worker, flow pods and Dask workers use."
  value       = var.worker_service_account_name
}

output "flow_pod_tolerations" {
  description = "Kubernetes tolerations (a JSON list in deploy's outputs) that the worker, flow-run and Dask pods need on the worker pool: the Spot taint when worker_pool.spot is true, none otherwise. setup-agent and register-flow take it as flow-pod-tolerations."
  value       = module.cluster.user_pool_tolerations["workers"]
}

output "flow_pod_node_selector" {
  description = "Node labels (a JSON object in deploy's outputs) that put the worker, flow-run and Dask pods on the worker pool. setup-agent and register-flow take it as flow-pod-node-selector."
  value       = local.worker_pool_node_labels
}
