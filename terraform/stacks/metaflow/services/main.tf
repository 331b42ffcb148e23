# The in-cluster half of the Metaflow stack: the metadata service (with its database migrations), the
# UI, Argo Workflows and Argo Events. It is planned only after metaflow/infra has been applied, whose
# outputs it reads from that stack's state.

data "terraform_remote_state" "infra" {
  backend = "azurerm"

  config = {
    resource_group_name  = var.infra_state_resource_group_name
    storage_account_name = var.infra_state_storage_account_name
    container_name       = var.infra_state_container_name
    key                  = var.infra_state_key
    # Read the state with an Entra token like the backend does, not with an account key.
    use_azuread_auth = true
  }
}

locals {
  infra = data.terraform_remote_state.infra.outputs

  namespace              = kubernetes_namespace_v1.metaflow.metadata[0].name
  service_account        = kubernetes_service_account_v1.metaflow.metadata[0].name
  metaflow_service_image = "${var.metaflow_service_image_repository}:${var.metaflow_service_version}"
  datastore_sysroot      = "${local.infra.storage_container_name}/metaflow"

  # AKS injects the workload identity token into pods with this label; DefaultAzureCredential (used
  # by Metaflow's Azure datastore) picks it up. Metaflow takes labels as "key=value,...".
  workload_identity_pod_label    = { "azure.workload.identity/use" = "true" }
  workload_identity_label_string = join(",", [for key, value in local.workload_identity_pod_label : "${key}=${value}"])

  # Ports and in-cluster addresses. End users reach the same services through kubectl port-forward.
  metadata_service_port         = 8080
  ui_backend_port               = 8083
  ui_static_port                = 3000
  metadata_service_internal_url = "http://${kubernetes_service_v1.metadata_service.metadata[0].name}.${local.namespace}.svc.cluster.local:${local.metadata_service_port}/"

  # The Argo Events objects Metaflow publishes to and whose sensors it creates (see argo.tf).
  argo_events_event_bus        = "default"
  argo_events_event_source     = "argo-events-webhook"
  argo_events_event            = "metaflow-event"
  argo_events_webhook_port     = 12000
  argo_events_webhook_service  = "${local.argo_events_event_source}-eventsource-svc"
  argo_events_internal_webhook = "http://${local.argo_events_webhook_service}.${local.namespace}.svc.cluster.local:${local.argo_events_webhook_port}/${local.argo_events_event}"
  argo_events_sensor_account   = kubernetes_service_account_v1.argo_events_sensor.metadata[0].name
}

resource "kubernetes_namespace_v1" "metaflow" {
  metadata {
    name = local.infra.metaflow_namespace
    labels = {
      "app.kubernetes.io/part-of" = "metaflow"
    }
  }
}

# Metaflow steps, Argo workflow pods and the UI backend run as this account. The annotation names
# the managed identity it is federated to (metaflow/infra); pods that also carry
# local.workload_identity_pod_label get that identity's token.
resource "kubernetes_service_account_v1" "metaflow" {
  metadata {
    name      = local.infra.metaflow_service_account_name
    namespace = local.namespace
    annotations = {
      "azure.workload.identity/client-id" = local.infra.workload_identity_client_id
      "azure.workload.identity/tenant-id" = local.infra.tenant_id
    }
  }
}

# Database connection settings for the metadata service, its migration step and the UI backend.
# The password comes from metaflow/infra's generated one; it lives in this Secret, not in pod specs.
resource "kubernetes_secret_v1" "metadata_database" {
  metadata {
    name      = "metaflow-metadata-database"
    namespace = local.namespace
  }

  data = {
    MF_METADATA_DB_HOST     = local.infra.postgres_server_fqdn
    MF_METADATA_DB_PORT     = "5432"
    MF_METADATA_DB_NAME     = local.infra.postgres_database_name
    MF_METADATA_DB_USER     = local.infra.postgres_administrator_login
    MF_METADATA_DB_PSWD     = local.infra.postgres_administrator_password
    MF_METADATA_DB_SSL_MODE = "require"
  }
}
