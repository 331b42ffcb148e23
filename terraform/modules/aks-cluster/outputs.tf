output "id" {
  description = "Resource ID of the cluster."
  value       = azurerm_kubernetes_cluster.this.id
}

output "name" {
  description = "Name of the cluster."
  value       = azurerm_kubernetes_cluster.this.name
}

output "oidc_issuer_url" {
  description = "OIDC issuer URL that federated identity credentials trust."
  value       = azurerm_kubernetes_cluster.this.oidc_issuer_url
}

output "identity_principal_id" {
  description = "Principal ID of the cluster's system-assigned identity, which manages its network resources."
  value       = azurerm_kubernetes_cluster.this.identity[0].principal_id
}

output "kubelet_identity_object_id" {
  description = "Object ID of the kubelet's managed identity, which pulls images."
  value       = azurerm_kubernetes_cluster.this.kubelet_identity[0].object_id
}

output "host" {
  description = "HTTPS endpoint of the Kubernetes API server."
  value       = azurerm_kubernetes_cluster.this.kube_config[0].host
  sensitive   = true
}

output "cluster_ca_certificate" {
  description = "Base64-encoded CA certificate of the Kubernetes API server."
  value       = azurerm_kubernetes_cluster.this.kube_config[0].cluster_ca_certificate
  sensitive   = true
}

output "log_analytics_workspace_id" {
  description = "Resource ID of the Log Analytics workspace that receives Container Insights data."
  value       = azurerm_log_analytics_workspace.container_insights.id
}

output "user_pool_tolerations" {
  description = "Per user pool, the Kubernetes tolerations its pods need: the Spot taint for a Spot pool, none otherwise."
  value = {
    for name, pool in var.user_pools : name => pool.spot ? [{
      key      = local.spot_taint.key
      operator = "Equal"
      value    = local.spot_taint.value
      effect   = local.spot_taint.effect
    }] : []
  }
}
