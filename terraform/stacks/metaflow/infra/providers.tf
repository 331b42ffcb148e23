provider "azurerm" {
  # Terraform talks to storage with Entra ID, never with account keys, and manages containers through
  # Azure Resource Manager, so the flow account can keep shared keys switched off.
  storage_use_azuread = true

  features {
    resource_group {
      # The group belongs to this stack alone; teardown (the destroy action) must be able to delete it
      # even when Azure or a person has added resources to it outside Terraform.
      prevent_deletion_if_contains_resources = false
    }

    storage {
      data_plane_available = false
    }
  }
}
