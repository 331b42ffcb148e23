resource "azurerm_log_analytics_workspace" "container_insights" {
  name                = var.log_analytics_workspace_name
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_in_days
  tags                = var.tags
}

resource "azurerm_kubernetes_cluster" "this" {
  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location
  dns_prefix          = var.dns_prefix
  node_resource_group = var.node_resource_group_name
  kubernetes_version  = var.kubernetes_version
  sku_tier            = var.sku_tier

  automatic_upgrade_channel = "patch"
  node_os_upgrade_channel   = "NodeImage"

  # Pods get Azure credentials through workload identity (a projected service-account token exchanged
  # for an Entra token), never through secrets; this needs the OIDC issuer.
  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  # Entra ID authenticates every kubectl and Terraform call and Azure RBAC authorizes it; the static
  # admin credentials that would bypass both are switched off.
  local_account_disabled            = true
  role_based_access_control_enabled = true
  azure_active_directory_role_based_access_control {
    azure_rbac_enabled     = true
    tenant_id              = var.tenant_id
    admin_group_object_ids = var.admin_group_object_ids
  }

  default_node_pool {
    name                         = var.system_pool.name
    vm_size                      = var.system_pool.vm_size
    os_disk_size_gb              = var.system_pool.os_disk_size_gb
    auto_scaling_enabled         = true
    min_count                    = var.system_pool.min_count
    max_count                    = var.system_pool.max_count
    only_critical_addons_enabled = var.system_pool.only_system_pods
    vnet_subnet_id               = var.vnet_subnet_id
    temporary_name_for_rotation  = "rotation"
    tags                         = var.tags

    upgrade_settings {
      max_surge = "10%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  # Overlay networking gives pods addresses outside the node subnet, so a small subnet is enough
  # for a pool that bursts to many Dask workers.
  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    load_balancer_sku   = "standard"
  }

  # Container Insights, authenticated with the cluster's managed identity rather than a workspace key
  # (the data collection rule below says what it sends where).
  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.container_insights.id
    msi_auth_for_monitoring_enabled = true
  }

  # Batch pools sit idle between runs: remove unneeded nodes quickly (the hand-run Bakery scaled
  # down after 2 minutes), pack pending pods onto the fewest nodes, and do not keep a node alive just
  # because a finished Dask worker left emptyDir data on it.
  auto_scaler_profile {
    scale_down_unneeded           = var.autoscaler_profile.scale_down_unneeded
    scale_down_delay_after_add    = var.autoscaler_profile.scale_down_delay_after_add
    scan_interval                 = var.autoscaler_profile.scan_interval
    expander                      = var.autoscaler_profile.expander
    skip_nodes_with_local_storage = false
    balance_similar_node_groups   = true
    max_graceful_termination_sec  = 600
  }

  tags = var.tags
}

# With managed-identity authentication the monitoring agent needs a data collection rule associated
# with the cluster; `az aks enable-addons` creates one client-side, Azure Resource Manager does not.
resource "azurerm_monitor_data_collection_rule" "container_insights" {
  name                = var.data_collection_rule_name
  resource_group_name = var.resource_group_name
  location            = var.location
  description         = "Container Insights for AKS cluster ${var.name}"
  tags                = var.tags

  destinations {
    log_analytics {
      name                  = "container-insights"
      workspace_resource_id = azurerm_log_analytics_workspace.container_insights.id
    }
  }

  data_flow {
    streams      = ["Microsoft-ContainerInsights-Group-Default"]
    destinations = ["container-insights"]
  }

  data_sources {
    extension {
      name           = "ContainerInsightsExtension"
      extension_name = "ContainerInsights"
      streams        = ["Microsoft-ContainerInsights-Group-Default"]
      extension_json = jsonencode({
        dataCollectionSettings = {
          interval               = "1m"
          namespaceFilteringMode = "Off"
          enableContainerLogV2   = true
        }
      })
    }
  }
}

resource "azurerm_monitor_data_collection_rule_association" "container_insights" {
  name                    = "ContainerInsightsExtension"
  target_resource_id      = azurerm_kubernetes_cluster.this.id
  data_collection_rule_id = azurerm_monitor_data_collection_rule.container_insights.id
}

locals {
  # AKS taints every Spot node with this (and labels it kubernetes.azure.com/scalesetpriority=spot).
  spot_taint = { key = "kubernetes.azure.com/scalesetpriority", value = "spot", effect = "NoSchedule" }
}

resource "azurerm_kubernetes_cluster_node_pool" "user" {
  for_each = var.user_pools

  name                  = each.key
  kubernetes_cluster_id = azurerm_kubernetes_cluster.this.id
  mode                  = "User"
  vm_size               = each.value.vm_size
  os_disk_size_gb       = each.value.os_disk_size_gb
  auto_scaling_enabled  = true
  min_count             = each.value.min_count
  max_count             = each.value.max_count
  vnet_subnet_id        = var.vnet_subnet_id

  # Spot VMs cost a fraction of regular ones and suit restartable batch work. AKS adds the spot label
  # and taint itself; declaring them keeps the label when the pool's labels are updated (AKS replaces
  # them as a set) and shows here what pods must tolerate.
  priority        = each.value.spot ? "Spot" : "Regular"
  eviction_policy = each.value.spot ? "Delete" : null
  spot_max_price  = each.value.spot ? -1 : null
  node_labels = merge(each.value.node_labels, each.value.spot ? {
    "kubernetes.azure.com/scalesetpriority" = "spot"
  } : {})
  node_taints = each.value.spot ? ["${local.spot_taint.key}=${local.spot_taint.value}:${local.spot_taint.effect}"] : []

  tags = var.tags
}

resource "azurerm_role_assignment" "cluster_admin" {
  for_each = toset(var.cluster_admin_principal_ids)

  scope                = azurerm_kubernetes_cluster.this.id
  role_definition_name = "Azure Kubernetes Service RBAC Cluster Admin"
  principal_id         = each.value
  principal_type       = var.cluster_admin_principal_type
}
