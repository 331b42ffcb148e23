variable "name" {
  description = "Name of the storage account (3-24 lowercase letters and digits, unique across Azure)."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group of the storage account."
  type        = string
}

variable "location" {
  description = "Azure region of the storage account."
  type        = string
}

variable "tags" {
  description = "Tags for the storage account."
  type        = map(string)
}

variable "container_names" {
  description = "Private blob containers to create in the account."
  type        = set(string)
}

variable "replication_type" {
  description = "Replication of the account: LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS."
  type        = string
  default     = "LRS"
}

variable "shared_access_key_enabled" {
  description = "Whether account keys (and connection strings or SAS built from them) are accepted; when false, every client must use Entra ID."
  type        = bool
  default     = false
}

variable "soft_delete_retention_days" {
  description = "Days deleted blobs and containers can be restored."
  type        = number
  default     = 7
}

variable "data_contributor_principal_ids" {
  description = "Object IDs of principals given \"Storage Blob Data Contributor\" on the whole account, keyed by a static name (the values may be unknown until apply)."
  type        = map(string)
  default     = {}
}

variable "data_contributor_principal_type" {
  description = "Principal type of every data_contributor_principal_ids entry (ServicePrincipal, User or Group), sent with the role assignment so that conditions on the principal type can be evaluated."
  type        = string
  default     = "ServicePrincipal"

  validation {
    condition     = contains(["ServicePrincipal", "User", "Group"], var.data_contributor_principal_type)
    error_message = "data_contributor_principal_type must be ServicePrincipal, User or Group."
  }
}
