# A pangeo-forge Bakery: an AKS cluster whose Prefect worker runs flows and their Dask clusters,
# flow code and cache in private blob containers, images in ACR and logs in Log Analytics. Pods reach
# storage through workload identity; no account key or connection string exists anywhere.

data "azurerm_client_config" "current" {}

module "conventions" {
  source = "../../modules/conventions"

  workload      = "bakery"
  workload_code = "bk"
  identifier    = var.identifier
  environment   = var.environment
  owner         = var.owner
  extra_tags    = var.tags
}

locals {
  names = module.conventions.names
  tags  = module.conventions.tags

  # The label of the worker pool's nodes: flow pods, Dask pods and the Prefect worker select it.
  worker_pool_node_labels = { "bakery.pangeo-forge.org/pool" = "workers" }

  # The workflows' identity needs these grants to build images, set up the worker and register flows.
  deployer_object_ids = var.grant_deployer_access ? [coalesce(var.deployer_object_id, data.azurerm_client_config.current.object_id)] : []
}

resource "azurerm_resource_group" "bakery" {
  name     = local.names.resource_group
  location = var.location
  tags     = local.tags
}

module "cluster" {
  source = "../../modules/aks-cluster"

  name                     = local.names.kubernetes_cluster
  dns_prefix               = local.names.kubernetes_dns_prefix
  node_resource_group_name = local.names.kubernetes_node_resource_group
  resource_group_name      = azurerm_resource_group.bakery.name
  location                 = azurerm_resource_group.bakery.location
  tags                     = local.tags
  kubernetes_version       = var.kubernetes_version

  tenant_id              = data.azurerm_client_config.current.tenant_id
  admin_group_object_ids = var.cluster_admin_group_object_ids

  cluster_admin_principal_ids  = local.deployer_object_ids
  cluster_admin_principal_type = var.deployer_principal_type

  log_analytics_workspace_name = local.names.log_analytics_workspace
  data_collection_rule_name    = local.names.data_collection_rule
  log_retention_in_days        = var.log_retention_in_days

  system_pool = {
    name             = "system"
    vm_size          = var.system_pool.vm_size
    os_disk_size_gb  = var.system_pool.os_disk_size_gb
    min_count        = var.system_pool.min_count
    max_count        = var.system_pool.max_count
    only_system_pods = true
  }

  user_pools = {
    workers = {
      vm_size         = var.worker_pool.vm_size
      os_disk_size_gb = var.worker_pool.os_disk_size_gb
      min_count       = var.worker_pool.min_count
      max_count       = var.worker_pool.max_count
      spot            = var.worker_pool.spot
      node_labels     = local.worker_pool_node_labels
    }
  }

  autoscaler_profile = {
    scale_down_unneeded        = var.autoscaler_scale_down_unneeded
    scale_down_delay_after_add = var.autoscaler_scale_down_unneeded
    scan_interval              = "10s"
    expander                   = "least-waste"
  }
}

resource "azurerm_container_registry" "bakery" {
  name                = local.names.container_registry
  resource_group_name = azurerm_resource_group.bakery.name
  location            = azurerm_resource_group.bakery.location
  sku                 = var.registry_sku
  # Pushes use Entra tokens (AcrPush below) and pulls the kubelet identity; no admin password.
  admin_enabled = false
  tags          = local.tags
}

resource "azurerm_role_assignment" "kubelet_acr_pull" {
  scope                            = azurerm_container_registry.bakery.id
  role_definition_name             = "AcrPull"
  principal_id                     = module.cluster.kubelet_identity_object_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

resource "azurerm_role_assignment" "deployer_acr_push" {
  for_each = toset(local.deployer_object_ids)

  scope                = azurerm_container_registry.bakery.id
  role_definition_name = "AcrPush"
  principal_id         = each.value
  principal_type       = var.deployer_principal_type
}

module "flow_storage" {
  source = "../../modules/blob-storage"

  name                = local.names.storage_account
  resource_group_name = azurerm_resource_group.bakery.name
  location            = azurerm_resource_group.bakery.location
  tags                = local.tags
  replication_type    = var.storage_replication_type
  container_names     = [var.flow_storage_container_name, var.flow_cache_container_name]

  data_contributor_principal_ids  = { for object_id in local.deployer_object_ids : "deployer" => object_id }
  data_contributor_principal_type = var.deployer_principal_type
}

# The identity that flow pods and Dask workers run as: federated to the worker's service account
# (setup-agent annotates that account with this identity's client ID) and allowed to read and write
# the flow containers.
module "worker_identity" {
  source = "../../modules/workload-identity"

  name                = "${local.names.user_assigned_identity}-worker"
  resource_group_name = azurerm_resource_group.bakery.name
  location            = azurerm_resource_group.bakery.location
  tags                = local.tags
  oidc_issuer_url     = module.cluster.oidc_issuer_url

  service_accounts = {
    worker = {
      namespace = var.worker_namespace
      name      = var.worker_service_account_name
    }
  }

  role_assignments = {
    flow_storage = {
      scope                = module.flow_storage.id
      role_definition_name = "Storage Blob Data Contributor"
    }
  }
}
