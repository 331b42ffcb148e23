# The first outputs are read by the actions (src/lib/stack-outputs.ts); the rest feed the services
# stack through terraform_remote_state.

output "resource_group_name" {
  description = "Resource group holding the Metaflow stack's Azure resources."
  value       = azurerm_resource_group.metaflow.name
}

output "cluster_name" {
  description = "Name of the AKS cluster."
  value       = module.cluster.name
}

output "storage_account_name" {
  description = "Storage account of the Metaflow datastore."
  value       = module.datastore.name
}

output "storage_container_name" {
  description = "Blob container that is the Metaflow datastore."
  value       = var.storage_container_name
  depends_on  = [module.datastore]
}

output "storage_blob_endpoint" {
  description = "Blob service endpoint of the datastore account (METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT)."
  value       = module.datastore.primary_blob_endpoint
}

output "postgres_server_fqdn" {
  description = "Private FQDN of the PostgreSQL server, resolvable inside the virtual network only."
  value       = azurerm_postgresql_flexible_server.metaflow.fqdn
}

output "workload_identity_client_id" {
  description = "Client ID of the managed identity that Metaflow's service account is federated to."
  value       = module.metaflow_identity.client_id
}

output "log_analytics_workspace_id" {
  description = "Resource ID of the Log Analytics workspace receiving Container Insights data."
  value       = module.cluster.log_analytics_workspace_id
}

output "oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster."
  value       = module.cluster.oidc_issuer_url
}

output "tenant_id" {
  description = "Entra tenant of the workload identity."
  value       = data.azurerm_client_config.current.tenant_id
}

output "cluster_host" {
  description = "Kubernetes API server endpoint, for the services stack's providers."
  value       = module.cluster.host
  sensitive   = true
}

output "cluster_ca_certificate" {
  description = "Base64-encoded CA certificate of the Kubernetes API server, for the services stack's providers."
  value       = module.cluster.cluster_ca_certificate
  sensitive   = true
}

output "postgres_database_name" {
  description = "Database that the metadata service uses."
  value       = azurerm_postgresql_flexible_server_database.metaflow.name
}

output "postgres_administrator_login" {
  description = "Login the metadata service connects with."
  value       = azurerm_postgresql_flexible_server.metaflow.administrator_login
}

output "postgres_administrator_password" {
  description = "Generated password of that login."
  value       = random_password.postgres_administrator.result
  sensitive   = true
}

output "metaflow_namespace" {
  description = "Kubernetes namespace of the Metaflow services and steps."
  value       = var.metaflow_namespace
}

output "metaflow_service_account_name" {
  description = "Kubernetes service account federated to the workload identity."
  value       = var.metaflow_service_account_name
}
