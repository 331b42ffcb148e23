variable "infra_state_resource_group_name" {
  description = "Resource group of the storage account that holds the metaflow/infra stack's Terraform state."
  type        = string

  validation {
    condition     = can(regex("^[-\\w.()]{1,90}$", var.infra_state_resource_group_name)) && !endswith(var.infra_state_resource_group_name, ".")
    error_message = "infra_state_resource_group_name must be a resource group name: 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'."
  }
}

variable "infra_state_storage_account_name" {
  description = "Storage account that holds the metaflow/infra stack's Terraform state."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.infra_state_storage_account_name))
    error_message = "infra_state_storage_account_name must be 3-24 lowercase letters or digits."
  }
}

variable "infra_state_container_name" {
  description = "Blob container that holds the metaflow/infra stack's Terraform state."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){2,62}$", var.infra_state_container_name))
    error_message = "infra_state_container_name must be a valid container name: 3-63 lowercase letters, digits and single hyphens."
  }
}

variable "infra_state_key" {
  description = "Blob name of the metaflow/infra stack's Terraform state."
  type        = string

  validation {
    condition     = length(trimspace(var.infra_state_key)) > 0 && length(var.infra_state_key) <= 1024
    error_message = "infra_state_key must be a non-empty blob name of at most 1024 characters."
  }
}

variable "kubelogin_login_mode" {
  description = "How kubelogin gets the Entra token for the Kubernetes and Helm providers: azurecli (after az login), workloadidentity (AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE, e.g. a GitHub OIDC token written to a file), spn, msi or azd."
  type        = string
  default     = "azurecli"

  validation {
    condition     = contains(["azurecli", "workloadidentity", "spn", "msi", "azd"], var.kubelogin_login_mode)
    error_message = "kubelogin_login_mode must be one of azurecli, workloadidentity, spn, msi, azd."
  }
}

variable "metaflow_service_image_repository" {
  description = "Image repository of the Metaflow service; one image serves as metadata service, database migrator and UI backend."
  type        = string
  default     = "netflixoss/metaflow_metadata_service"

  validation {
    condition     = can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$", var.metaflow_service_image_repository))
    error_message = "metaflow_service_image_repository must be an image reference without tag, e.g. netflixoss/metaflow_metadata_service."
  }
}

variable "metaflow_service_version" {
  description = "Tag of the Metaflow service image. One variable for the metadata service and the UI backend, so that the two (which share a database schema) cannot drift apart."
  type        = string
  default     = "v2.4.12"

  validation {
    condition     = can(regex("^v?[0-9]+\\.[0-9]+\\.[0-9]+$", var.metaflow_service_version))
    error_message = "metaflow_service_version must be a release tag such as v2.4.12, never latest."
  }
}

variable "metaflow_ui_image" {
  description = "Image of the Metaflow UI's static front end, tag included."
  type        = string
  default     = "public.ecr.aws/outerbounds/metaflow_ui:v1.2.4"

  validation {
    condition     = can(regex(":v?[0-9]+\\.[0-9]+\\.[0-9]+$", var.metaflow_ui_image))
    error_message = "metaflow_ui_image must end in a release tag such as :v1.2.4, never latest."
  }
}

variable "metadata_service_replicas" {
  description = "Replicas of the metadata service (at least 1)."
  type        = number
  default     = 1

  validation {
    condition     = var.metadata_service_replicas >= 1 && var.metadata_service_replicas == floor(var.metadata_service_replicas)
    error_message = "metadata_service_replicas must be a whole number of at least 1."
  }
}

variable "argo_workflows_chart_version" {
  description = "Version of the argo-workflows Helm chart (https://argoproj.github.io/argo-helm); pinned so that applies are repeatable."
  type        = string
  default     = "0.47.5"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.argo_workflows_chart_version))
    error_message = "argo_workflows_chart_version must be an exact chart version such as 0.47.5."
  }
}

variable "argo_events_chart_version" {
  description = "Version of the argo-events Helm chart (https://argoproj.github.io/argo-helm); pinned so that applies are repeatable."
  type        = string
  default     = "2.4.22"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.argo_events_chart_version))
    error_message = "argo_events_chart_version must be an exact chart version such as 2.4.22."
  }
}

variable "taskworkers_node_selector" {
  description = "Node selector (key=value[,key=value]) that sends Metaflow steps to the taskworkers pool; empty to let them run anywhere."
  type        = string
  default     = "kubernetes.azure.com/agentpool=taskworkers"

  validation {
    condition     = var.taskworkers_node_selector == "" || can(regex("^[^=,]+=[^=,]*(,[^=,]+=[^=,]*)*$", var.taskworkers_node_selector))
    error_message = "taskworkers_node_selector must be empty or key=value pairs separated by commas."
  }
}
