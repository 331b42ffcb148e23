variable "identifier" {
  description = "Deployment identifier (1-10 lowercase letters or digits) that makes the globally unique names (storage account, registry) unique; pick something specific to your organisation."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{1,10}$", var.identifier))
    error_message = "identifier must be 1-10 lowercase letters or digits."
  }
}

variable "environment" {
  description = "Environment name (1-8 lowercase letters or digits), e.g. dev or prod; part of every resource name and the Environment tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{1,8}$", var.environment))
    error_message = "environment must be 1-8 lowercase letters or digits."
  }
}

variable "location" {
  description = "Azure region for every resource, e.g. westeurope."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be an Azure region name such as westeurope (lowercase, no spaces)."
  }
}

variable "owner" {
  description = "Team or person answerable for the deployment, written to the Owner tag."
  type        = string

  validation {
    condition     = length(trimspace(var.owner)) > 0
    error_message = "owner must not be empty."
  }
}

variable "tags" {
  description = "Extra tags for every taggable resource. Owner, Stack and Environment are set by the stack and cannot be overridden."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.tags), ["Owner", "Stack", "Environment"])) == 0
    error_message = "tags must not contain Owner, Stack or Environment; set owner and environment instead."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the cluster, e.g. 1.31; null for the region's default. Patch versions are applied automatically (automatic upgrade channel \"patch\"), so none is pinned here."
  type        = string
  default     = null

  validation {
    condition     = var.kubernetes_version == null || can(regex("^[0-9]+\\.[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version such as 1.31, or null."
  }
}

variable "system_pool" {
  description = "System node pool, kept small and reserved for Kubernetes' own pods."
  type = object({
    vm_size         = optional(string, "Standard_D2s_v5")
    os_disk_size_gb = optional(number, 64)
    min_count       = optional(number, 1)
    max_count       = optional(number, 3)
  })
  default = {}

  validation {
    condition     = length(trimspace(var.system_pool.vm_size)) > 0
    error_message = "system_pool.vm_size must not be empty."
  }
  validation {
    condition     = var.system_pool.min_count >= 1 && var.system_pool.min_count <= var.system_pool.max_count
    error_message = "system_pool needs 1 <= min_count <= max_count (a system pool cannot scale to zero)."
  }
  validation {
    condition     = var.system_pool.os_disk_size_gb >= 30 && var.system_pool.os_disk_size_gb <= 2048
    error_message = "system_pool.os_disk_size_gb must be between 30 and 2048."
  }
}

variable "worker_pool" {
  description = "Autoscaling user pool that runs flow pods and Dask workers. min_count may be 0 so that an idle Bakery costs nothing; spot = true uses Spot VMs (flow and Dask pods then need a toleration for kubernetes.azure.com/scalesetpriority=spot:NoSchedule). The large OS disk avoids the disk-pressure evictions the hand-run Bakery suffered."
  type = object({
    vm_size         = optional(string, "Standard_D4s_v5")
    os_disk_size_gb = optional(number, 512)
    min_count       = optional(number, 0)
    max_count       = optional(number, 100)
    spot            = optional(bool, false)
  })
  default = {}

  validation {
    condition     = length(trimspace(var.worker_pool.vm_size)) > 0
    error_message = "worker_pool.vm_size must not be empty."
  }
  validation {
    condition     = var.worker_pool.min_count >= 0 && var.worker_pool.max_count >= 1 && var.worker_pool.min_count <= var.worker_pool.max_count
    error_message = "worker_pool needs 0 <= min_count <= max_count and max_count >= 1."
  }
  validation {
    condition     = var.worker_pool.max_count <= 1000
    error_message = "worker_pool.max_count must be at most 1000 (the AKS limit per node pool)."
  }
  validation {
    condition     = var.worker_pool.os_disk_size_gb >= 30 && var.worker_pool.os_disk_size_gb <= 2048
    error_message = "worker_pool.os_disk_size_gb must be between 30 and 2048."
  }
}

variable "autoscaler_scale_down_unneeded" {
  description = "How long a node must be unneeded before the cluster autoscaler removes it (a Go duration such as 2m or 10m)."
  type        = string
  default     = "2m"

  validation {
    condition     = can(regex("^[0-9]+[smh]$", var.autoscaler_scale_down_unneeded))
    error_message = "autoscaler_scale_down_unneeded must be a duration like 90s, 2m or 1h."
  }
}

variable "log_retention_in_days" {
  description = "Days the Log Analytics workspace keeps Container Insights data."
  type        = number
  default     = 30

  validation {
    condition     = var.log_retention_in_days >= 30 && var.log_retention_in_days <= 730
    error_message = "log_retention_in_days must be between 30 and 730."
  }
}

variable "cluster_admin_group_object_ids" {
  description = "Entra group object IDs whose members administer the cluster."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.cluster_admin_group_object_ids : can(regex("^[0-9a-f-]{36}$", id))])
    error_message = "cluster_admin_group_object_ids must be Entra object IDs (GUIDs)."
  }
}

variable "deployer_object_id" {
  description = "Object (principal) ID of the identity that deploys this environment. Plans made by other identities (pull requests, drift checks) then grant the same principal instead of themselves, so they show no spurious role changes. Null: whoever runs Terraform."
  type        = string
  default     = null

  validation {
    condition     = var.deployer_object_id == null || can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.deployer_object_id))
    error_message = "deployer_object_id must be an Entra object ID (a GUID), e.g. from `az identity show --query principalId`, not a client ID."
  }
}

variable "grant_deployer_access" {
  description = "Give the identity that runs Terraform (the workflows' OIDC identity) what the other actions need: cluster admin on AKS (setup-agent), AcrPush on the registry (build-image) and Storage Blob Data Contributor on the flow account (register-flow)."
  type        = bool
  default     = true
}

variable "registry_sku" {
  description = "Azure Container Registry SKU: Basic, Standard or Premium."
  type        = string
  default     = "Standard"

  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.registry_sku)
    error_message = "registry_sku must be Basic, Standard or Premium."
  }
}

variable "storage_replication_type" {
  description = "Replication of the flow storage account: LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS."
  type        = string
  default     = "LRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.storage_replication_type)
    error_message = "storage_replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "flow_storage_container_name" {
  description = "Blob container that holds flow code and recipe outputs."
  type        = string
  default     = "flow-storage"

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){2,62}$", var.flow_storage_container_name))
    error_message = "flow_storage_container_name must be a valid container name: 3-63 lowercase letters, digits and single hyphens."
  }
}

variable "flow_cache_container_name" {
  description = "Blob container that holds the flows' input cache."
  type        = string
  default     = "flow-cache"

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){2,62}$", var.flow_cache_container_name))
    error_message = "flow_cache_container_name must be a valid container name: 3-63 lowercase letters, digits and single hyphens."
  }
}

variable "worker_namespace" {
  description = "Kubernetes namespace of the Prefect worker and its flow runs."
  type        = string
  default     = "bakery"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.worker_namespace))
    error_message = "worker_namespace must be a DNS label: at most 63 lowercase letters, digits and hyphens."
  }
}

variable "worker_service_account_name" {
  description = "Kubernetes service account of the Prefect worker, flow pods and Dask workers; federated to the workload identity."
  type        = string
  default     = "bakery-worker"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.worker_service_account_name))
    error_message = "worker_service_account_name must be a DNS subdomain: lowercase letters, digits, '-' and '.'."
  }
}

variable "deployer_principal_type" {
  description = "Principal type of the deploy identity (ServicePrincipal for the workflows' managed identity or app registration; User when a person runs Terraform with grant_deployer_access). Sent with its role assignments so a condition that allows only service principals can be evaluated."
  type        = string
  default     = "ServicePrincipal"

  validation {
    condition     = contains(["ServicePrincipal", "User", "Group"], var.deployer_principal_type)
    error_message = "deployer_principal_type must be ServicePrincipal, User or Group."
  }
}
