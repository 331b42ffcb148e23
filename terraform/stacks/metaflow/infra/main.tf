# The Azure side of a Metaflow stack: network, AKS (default + taskworkers pools), the blob datastore,
# PostgreSQL for the metadata service and the workload identity of Metaflow's pods. The in-cluster
# services are a separate root module (../services) that reads this one's outputs, so the cluster
# exists before anything is planned against its API.

data "azurerm_client_config" "current" {}

module "conventions" {
  source = "../../../modules/conventions"

  workload      = "metaflow"
  workload_code = "mf"
  identifier    = var.identifier
  environment   = var.environment
  owner         = var.owner
  extra_tags    = var.tags
}

locals {
  names = module.conventions.names
  tags  = module.conventions.tags

  deployer_object_ids = var.grant_deployer_access ? [coalesce(var.deployer_object_id, data.azurerm_client_config.current.object_id)] : []

  postgres_database_name = "metaflow"
}

resource "azurerm_resource_group" "metaflow" {
  name     = local.names.resource_group
  location = var.location
  tags     = local.tags
}

# ---------------------------------------------------------------------------------------------
# Network: the nodes and the database share a virtual network, so the database needs no public
# endpoint at all.
# ---------------------------------------------------------------------------------------------

resource "azurerm_virtual_network" "metaflow" {
  name                = local.names.virtual_network
  resource_group_name = azurerm_resource_group.metaflow.name
  location            = azurerm_resource_group.metaflow.location
  address_space       = [var.virtual_network_address_space]
  tags                = local.tags
}

resource "azurerm_subnet" "nodes" {
  name                 = "snet-nodes"
  resource_group_name  = azurerm_resource_group.metaflow.name
  virtual_network_name = azurerm_virtual_network.metaflow.name
  address_prefixes     = [cidrsubnet(var.virtual_network_address_space, 4, 0)]
}

resource "azurerm_subnet" "postgres" {
  name                 = "snet-postgres"
  resource_group_name  = azurerm_resource_group.metaflow.name
  virtual_network_name = azurerm_virtual_network.metaflow.name
  address_prefixes     = [cidrsubnet(var.virtual_network_address_space, 8, 16)]

  # VNet-integrated Flexible Server needs a subnet delegated to it alone.
  delegation {
    name = "postgresql-flexible-server"

    service_delegation {
      name    = "Microsoft.DBforPostgreSQL/flexibleServers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_private_dns_zone" "postgres" {
  name                = local.names.postgresql_private_dns_zone
  resource_group_name = azurerm_resource_group.metaflow.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "postgres" {
  name                  = "link-${local.names.virtual_network}"
  resource_group_name   = azurerm_resource_group.metaflow.name
  private_dns_zone_name = azurerm_private_dns_zone.postgres.name
  virtual_network_id    = azurerm_virtual_network.metaflow.id
  tags                  = local.tags
}

# ---------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------

module "cluster" {
  source = "../../../modules/aks-cluster"

  name                     = local.names.kubernetes_cluster
  dns_prefix               = local.names.kubernetes_dns_prefix
  node_resource_group_name = local.names.kubernetes_node_resource_group
  resource_group_name      = azurerm_resource_group.metaflow.name
  location                 = azurerm_resource_group.metaflow.location
  tags                     = local.tags
  kubernetes_version       = var.kubernetes_version
  vnet_subnet_id           = azurerm_subnet.nodes.id

  tenant_id              = data.azurerm_client_config.current.tenant_id
  admin_group_object_ids = var.cluster_admin_group_object_ids

  cluster_admin_principal_ids  = local.deployer_object_ids
  cluster_admin_principal_type = var.deployer_principal_type

  log_analytics_workspace_name = local.names.log_analytics_workspace
  data_collection_rule_name    = local.names.data_collection_rule
  log_retention_in_days        = var.log_retention_in_days

  # The default pool also runs the Metaflow services and Argo, so it is not reserved for system pods.
  system_pool = {
    name             = "default"
    vm_size          = var.default_pool.vm_size
    os_disk_size_gb  = var.default_pool.os_disk_size_gb
    min_count        = var.default_pool.min_count
    max_count        = var.default_pool.max_count
    only_system_pods = false
  }

  user_pools = {
    taskworkers = {
      vm_size         = var.taskworkers_pool.vm_size
      os_disk_size_gb = var.taskworkers_pool.os_disk_size_gb
      min_count       = var.taskworkers_pool.min_count
      max_count       = var.taskworkers_pool.max_count
      spot            = var.taskworkers_pool.spot
      node_labels     = {}
    }
  }

  autoscaler_profile = {
    scale_down_unneeded        = var.autoscaler_scale_down_unneeded
    scale_down_delay_after_add = var.autoscaler_scale_down_unneeded
    scan_interval              = "10s"
    expander                   = "least-waste"
  }
}

# In a network of our own, AKS manages load balancers and routes in the node subnet with the cluster
# identity, which only exists once the cluster does (the Azure CLI makes this grant implicitly).
resource "azurerm_role_assignment" "cluster_network_contributor" {
  scope                            = azurerm_subnet.nodes.id
  role_definition_name             = "Network Contributor"
  principal_id                     = module.cluster.identity_principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# ---------------------------------------------------------------------------------------------
# Datastore and the identity that uses it
# ---------------------------------------------------------------------------------------------

module "datastore" {
  source = "../../../modules/blob-storage"

  name                = local.names.storage_account
  resource_group_name = azurerm_resource_group.metaflow.name
  location            = azurerm_resource_group.metaflow.location
  tags                = local.tags
  replication_type    = var.storage_replication_type
  container_names     = [var.storage_container_name]

  # Users and workflows that run flows locally read and write the datastore with their own identity.
  data_contributor_principal_ids  = { for object_id in local.deployer_object_ids : "deployer" => object_id }
  data_contributor_principal_type = var.deployer_principal_type
}

# Replaces the original's service principal with a client secret: Metaflow steps, Argo workflow
# pods and the UI backend run as this Kubernetes service account, which Entra ID trusts directly.
module "metaflow_identity" {
  source = "../../../modules/workload-identity"

  name                = "${local.names.user_assigned_identity}-tasks"
  resource_group_name = azurerm_resource_group.metaflow.name
  location            = azurerm_resource_group.metaflow.location
  tags                = local.tags
  oidc_issuer_url     = module.cluster.oidc_issuer_url

  service_accounts = {
    metaflow = {
      namespace = var.metaflow_namespace
      name      = var.metaflow_service_account_name
    }
  }

  role_assignments = {
    datastore = {
      scope                = module.datastore.id
      role_definition_name = "Storage Blob Data Contributor"
    }
  }
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL for the metadata service
# ---------------------------------------------------------------------------------------------

# Generated, kept only in the (Entra-protected) state and handed to the services stack as a
# sensitive output; never a literal in code or a variable default. The special characters are
# limited to ones that need no quoting in a libpq connection string.
resource "random_password" "postgres_administrator" {
  length           = 32
  special          = true
  override_special = "-_.~"
  min_lower        = 2
  min_upper        = 2
  min_numeric      = 2
  min_special      = 2
}

resource "azurerm_postgresql_flexible_server" "metaflow" {
  name                = local.names.postgresql_server
  resource_group_name = azurerm_resource_group.metaflow.name
  location            = azurerm_resource_group.metaflow.location
  version             = var.postgres_version
  sku_name            = var.postgres_sku_name
  storage_mb          = var.postgres_storage_mb

  backup_retention_days = var.postgres_backup_retention_days

  delegated_subnet_id           = azurerm_subnet.postgres.id
  private_dns_zone_id           = azurerm_private_dns_zone.postgres.id
  public_network_access_enabled = false

  administrator_login    = var.postgres_administrator_login
  administrator_password = random_password.postgres_administrator.result

  authentication {
    password_auth_enabled         = true
    active_directory_auth_enabled = false
  }

  tags = local.tags

  # Azure picks an availability zone when none is given; do not fight it on every plan.
  lifecycle {
    ignore_changes = [zone]
  }

  # The server resolves through the private zone only once the zone is linked to the network.
  depends_on = [azurerm_private_dns_zone_virtual_network_link.postgres]
}

# The original switched TLS off; the metadata service connects with sslmode=require instead.
resource "azurerm_postgresql_flexible_server_configuration" "require_secure_transport" {
  name      = "require_secure_transport"
  server_id = azurerm_postgresql_flexible_server.metaflow.id
  value     = "on"
}

resource "azurerm_postgresql_flexible_server_database" "metaflow" {
  name      = local.postgres_database_name
  server_id = azurerm_postgresql_flexible_server.metaflow.id
  charset   = "UTF8"
  collation = "en_US.utf8"
}
