variable "identifier" {
  description = "Deployment identifier (1-10 lowercase letters or digits) that makes the globally unique names (storage account, PostgreSQL server) unique; pick something specific to your organisation."
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

variable "virtual_network_address_space" {
  description = "Address space of the virtual network, /20 or larger: its first sixteenth is the node subnet and the 1/256 slice right after it the PostgreSQL subnet (10.40.0.0/20 and 10.40.16.0/24 for the default). Pods use the overlay network and take no addresses from it. It must not overlap AKS's service range (10.0.0.0/16) or pod range (10.244.0.0/16)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.virtual_network_address_space, 0)) && tonumber(split("/", var.virtual_network_address_space)[1]) <= 20
    error_message = "virtual_network_address_space must be an IPv4 CIDR block of prefix length 20 or shorter, e.g. 10.40.0.0/16."
  }
}

variable "default_pool" {
  description = "Default node pool, which runs the Metaflow services, Argo Workflows and Argo Events."
  type = object({
    vm_size         = optional(string, "Standard_D2s_v5")
    os_disk_size_gb = optional(number, 128)
    min_count       = optional(number, 1)
    max_count       = optional(number, 10)
  })
  default = {}

  validation {
    condition     = length(trimspace(var.default_pool.vm_size)) > 0
    error_message = "default_pool.vm_size must not be empty."
  }
  validation {
    condition     = var.default_pool.min_count >= 1 && var.default_pool.min_count <= var.default_pool.max_count
    error_message = "default_pool needs 1 <= min_count <= max_count (the default pool cannot scale to zero)."
  }
  validation {
    condition     = var.default_pool.os_disk_size_gb >= 30 && var.default_pool.os_disk_size_gb <= 2048
    error_message = "default_pool.os_disk_size_gb must be between 30 and 2048."
  }
}

variable "taskworkers_pool" {
  description = "The taskworkers node pool, on which Metaflow steps and Argo workflow pods run (METAFLOW_KUBERNETES_NODE_SELECTOR points there). min_count may be 0; spot = true uses Spot VMs."
  type = object({
    vm_size         = optional(string, "Standard_D4s_v5")
    os_disk_size_gb = optional(number, 256)
    min_count       = optional(number, 0)
    max_count       = optional(number, 50)
    spot            = optional(bool, false)
  })
  default = {}

  validation {
    condition     = length(trimspace(var.taskworkers_pool.vm_size)) > 0
    error_message = "taskworkers_pool.vm_size must not be empty."
  }
  validation {
    condition     = var.taskworkers_pool.min_count >= 0 && var.taskworkers_pool.max_count >= 1 && var.taskworkers_pool.min_count <= var.taskworkers_pool.max_count
    error_message = "taskworkers_pool needs 0 <= min_count <= max_count and max_count >= 1."
  }
  validation {
    condition     = var.taskworkers_pool.max_count <= 1000
    error_message = "taskworkers_pool.max_count must be at most 1000 (the AKS limit per node pool)."
  }
  validation {
    condition     = var.taskworkers_pool.os_disk_size_gb >= 30 && var.taskworkers_pool.os_disk_size_gb <= 2048
    error_message = "taskworkers_pool.os_disk_size_gb must be between 30 and 2048."
  }
}

variable "autoscaler_scale_down_unneeded" {
  description = "How long a node must be unneeded before the cluster autoscaler removes it (a Go duration such as 2m or 10m)."
  type        = string
  default     = "5m"

  validation {
    condition     = can(regex("^[0-9]+[smh]$", var.autoscaler_scale_down_unneeded))
    error_message = "autoscaler_scale_down_unneeded must be a duration like 90s, 5m or 1h."
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
  description = "Give the identity that runs Terraform cluster admin on AKS (the services stack deploys into the cluster with it) and Storage Blob Data Contributor on the Metaflow account."
  type        = bool
  default     = true
}

variable "storage_replication_type" {
  description = "Replication of the Metaflow storage account: LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS."
  type        = string
  default     = "LRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.storage_replication_type)
    error_message = "storage_replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "storage_container_name" {
  description = "Blob container that is Metaflow's datastore."
  type        = string
  default     = "metaflow"

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){2,62}$", var.storage_container_name))
    error_message = "storage_container_name must be a valid container name: 3-63 lowercase letters, digits and single hyphens."
  }
}

variable "postgres_version" {
  description = "Major version of PostgreSQL Flexible Server."
  type        = string
  default     = "16"

  validation {
    condition     = contains(["13", "14", "15", "16", "17"], var.postgres_version)
    error_message = "postgres_version must be one of 13, 14, 15, 16, 17."
  }
}

variable "postgres_sku_name" {
  description = "SKU of the PostgreSQL Flexible Server, tier prefix included (B_Standard_B1ms, GP_Standard_D2ds_v5, ...)."
  type        = string
  default     = "B_Standard_B1ms"

  validation {
    condition     = can(regex("^(B|GP|MO)_[A-Za-z0-9_]+$", var.postgres_sku_name))
    error_message = "postgres_sku_name must start with B_, GP_ or MO_, e.g. B_Standard_B1ms."
  }
}

variable "postgres_storage_mb" {
  description = "Storage of the PostgreSQL server in MB (32768 and up, one of the sizes Azure offers)."
  type        = number
  default     = 32768

  validation {
    condition     = contains([32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304, 8388608, 16777216, 33553408], var.postgres_storage_mb)
    error_message = "postgres_storage_mb must be one of the sizes PostgreSQL Flexible Server offers, e.g. 32768 or 65536."
  }
}

variable "postgres_backup_retention_days" {
  description = "Days of point-in-time-restore backups kept for the Metaflow database."
  type        = number
  default     = 7

  validation {
    condition     = var.postgres_backup_retention_days >= 7 && var.postgres_backup_retention_days <= 35
    error_message = "postgres_backup_retention_days must be between 7 and 35."
  }
}

variable "postgres_administrator_login" {
  description = "Administrator login of the PostgreSQL server, which the metadata service uses. Its password is generated."
  type        = string
  default     = "metaflow"

  validation {
    condition = can(regex("^[a-z][a-z0-9_]{0,62}$", var.postgres_administrator_login)) && !contains(
      ["admin", "administrator", "root", "guest", "public", "azure_superuser", "azure_pg_admin", "postgres"],
      var.postgres_administrator_login
    ) && !startswith(var.postgres_administrator_login, "pg_")
    error_message = "postgres_administrator_login must be a lowercase identifier that Azure allows (not admin, root, postgres, azure_superuser, pg_..., ...)."
  }
}

variable "metaflow_namespace" {
  description = "Kubernetes namespace of the Metaflow services and of the pods that run Metaflow steps."
  type        = string
  default     = "metaflow"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.metaflow_namespace))
    error_message = "metaflow_namespace must be a DNS label: at most 63 lowercase letters, digits and hyphens."
  }
}

variable "metaflow_service_account_name" {
  description = "Kubernetes service account of Metaflow steps, Argo workflow pods and the UI backend; federated to the workload identity that may use the datastore."
  type        = string
  default     = "metaflow"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.metaflow_service_account_name))
    error_message = "metaflow_service_account_name must be a DNS subdomain: lowercase letters, digits, '-' and '.'."
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
