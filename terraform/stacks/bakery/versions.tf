terraform {
  required_version = ">= 1.6"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.55"
    }
  }

  # Filled at `terraform init -backend-config=<file>` from the file that setup-remote-state writes.
  backend "azurerm" {}
}
