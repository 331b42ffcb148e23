resource "azurerm_storage_account" "this" {
  name                     = var.name
  resource_group_name      = var.resource_group_name
  location                 = var.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.replication_type

  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  # Clients reach blobs with Entra tokens (workload identity in pods, OIDC in workflows); with shared
  # keys off there is no connection string that could leak into a pod spec or a log.
  shared_access_key_enabled       = var.shared_access_key_enabled
  default_to_oauth_authentication = true

  blob_properties {
    delete_retention_policy {
      days = var.soft_delete_retention_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_retention_days
    }
  }

  tags = var.tags
}

# Containers are created through Azure Resource Manager (storage_account_id rather than
# storage_account_name), which works without shared keys or data-plane access for Terraform.
resource "azurerm_storage_container" "this" {
  for_each = var.container_names

  name                  = each.value
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_role_assignment" "data_contributor" {
  for_each = var.data_contributor_principal_ids

  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = each.value
  principal_type       = var.data_contributor_principal_type
}
