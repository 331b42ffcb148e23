variable "name" {
  description = "Name of the AKS cluster."
  type        = string
}

variable "dns_prefix" {
  description = "DNS prefix of the cluster's API server FQDN (at most 54 characters)."
  type        = string
}

variable "node_resource_group_name" {
  description = "Name of the resource group AKS creates for the node pools' infrastructure."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group that holds the cluster and its Log Analytics workspace."
  type        = string
}

variable "location" {
  description = "Azure region of the cluster."
  type        = string
}

variable "tags" {
  description = "Tags for the cluster, its node pools and the Log Analytics workspace."
  type        = map(string)
}

variable "kubernetes_version" {
  description = "Kubernetes minor version (major.minor; patches are applied automatically); null for the region's default."
  type        = string
  default     = null
}

variable "sku_tier" {
  description = "AKS pricing tier: Free, Standard (uptime SLA) or Premium."
  type        = string
  default     = "Free"
}

variable "tenant_id" {
  description = "Microsoft Entra tenant whose identities authenticate to the Kubernetes API."
  type        = string
}

variable "admin_group_object_ids" {
  description = "Entra group object IDs whose members are cluster administrators."
  type        = list(string)
  default     = []
}

variable "cluster_admin_principal_ids" {
  description = "Object IDs of principals (users, service principals, managed identities) given the \"Azure Kubernetes Service RBAC Cluster Admin\" role, e.g. the identity that deploys in-cluster resources."
  type        = list(string)
  default     = []
}

variable "log_analytics_workspace_name" {
  description = "Name of the Log Analytics workspace that receives Container Insights data."
  type        = string
}

variable "data_collection_rule_name" {
  description = "Name of the data collection rule that routes Container Insights data to the workspace."
  type        = string
}

variable "log_retention_in_days" {
  description = "Days the Log Analytics workspace keeps data (30-730)."
  type        = number
  default     = 30
}

variable "vnet_subnet_id" {
  description = "Subnet for the nodes; null lets AKS create and manage the virtual network."
  type        = string
  default     = null
}

variable "system_pool" {
  description = "The default (system) node pool. only_system_pods taints it so that ordinary workloads go to the user pools."
  type = object({
    name             = string
    vm_size          = string
    os_disk_size_gb  = number
    min_count        = number
    max_count        = number
    only_system_pods = bool
  })
}

variable "user_pools" {
  description = "Autoscaling user node pools keyed by pool name (1-12 lowercase alphanumerics). Spot pools are tainted, so their pods need a toleration for kubernetes.azure.com/scalesetpriority=spot:NoSchedule."
  type = map(object({
    vm_size         = string
    os_disk_size_gb = number
    min_count       = number
    max_count       = number
    spot            = bool
    node_labels     = map(string)
  }))
  default = {}
}

variable "autoscaler_profile" {
  description = "Cluster autoscaler settings; the defaults suit batch work that comes in bursts (see main.tf)."
  type = object({
    scale_down_unneeded        = string
    scale_down_delay_after_add = string
    scan_interval              = string
    expander                   = string
  })
}

variable "cluster_admin_principal_type" {
  description = "Principal type of every cluster_admin_principal_ids entry (ServicePrincipal, User or Group), sent with the role assignment so that conditions on the principal type can be evaluated."
  type        = string
  default     = "ServicePrincipal"

  validation {
    condition     = contains(["ServicePrincipal", "User", "Group"], var.cluster_admin_principal_type)
    error_message = "cluster_admin_principal_type must be ServicePrincipal, User or Group."
  }
}
