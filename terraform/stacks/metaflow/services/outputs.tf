locals {
  # What a Metaflow client needs, in the format of ~/.metaflowconfig/config.json. Clients outside the
  # cluster reach the metadata service and the webhook through the port-forwards described in
  # end_user_instructions; pods use the *_INTERNAL_* addresses.
  metaflow_config = {
    METAFLOW_DEFAULT_DATASTORE                   = "azure"
    METAFLOW_DATASTORE_SYSROOT_AZURE             = local.datastore_sysroot
    METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT = local.infra.storage_blob_endpoint
    METAFLOW_DEFAULT_METADATA                    = "service"
    METAFLOW_SERVICE_URL                         = "http://127.0.0.1:${local.metadata_service_port}/"
    METAFLOW_SERVICE_INTERNAL_URL                = local.metadata_service_internal_url
    METAFLOW_KUBERNETES_NAMESPACE                = local.namespace
    METAFLOW_KUBERNETES_SERVICE_ACCOUNT          = local.service_account
    # Steps get the workload identity token (no storage secret) and run on the taskworkers pool.
    METAFLOW_KUBERNETES_LABELS                = local.workload_identity_label_string
    METAFLOW_KUBERNETES_NODE_SELECTOR         = var.taskworkers_node_selector
    METAFLOW_ARGO_EVENTS_EVENT_BUS            = local.argo_events_event_bus
    METAFLOW_ARGO_EVENTS_EVENT_SOURCE         = local.argo_events_event_source
    METAFLOW_ARGO_EVENTS_EVENT                = local.argo_events_event
    METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT      = local.argo_events_sensor_account
    METAFLOW_ARGO_EVENTS_WEBHOOK_URL          = "http://127.0.0.1:${local.argo_events_webhook_port}/${local.argo_events_event}"
    METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL = local.argo_events_internal_webhook
  }
}

# Sensitive: it names the service URLs and the datastore root, which stay out of plan output and logs
# (deploy masks it). jsonencode keeps it one string, so the whole text is masked, not every short
# value inside it ("azure", "service") wherever it appears in a log.
output "metaflow_config" {
  description = "Metaflow client configuration as JSON, ready to be written to ~/.metaflowconfig/config.json (terraform output -raw metaflow_config). Sensitive: it names the service URLs and the datastore root; it holds no credential, since storage access goes through Entra ID."
  value       = jsonencode(local.metaflow_config)
  sensitive   = true
}

output "metaflow_namespace" {
  description = "Kubernetes namespace of the Metaflow services, steps and Argo workflows."
  value       = local.namespace
}

output "end_user_instructions" {
  description = "How someone who runs flows sets up their workstation against this stack."
  value       = <<-EOT
    Metaflow on Azure: setup for people who run flows
    ==================================================

    1. Azure access. Your Entra account needs:
       - "Azure Kubernetes Service Cluster User Role" and "Azure Kubernetes Service RBAC Writer"
         (namespace ${local.namespace}) on the AKS cluster ${local.infra.cluster_name}
       - "Storage Blob Data Contributor" on the storage account ${local.infra.storage_account_name}
       Then log in and fetch the cluster credentials:

         az login
         az aks get-credentials --resource-group ${local.infra.resource_group_name} --name ${local.infra.cluster_name}
         kubelogin convert-kubeconfig -l azurecli

    2. Metaflow configuration. Write the metaflow_config output of this stack to
       ~/.metaflowconfig/config.json, e.g.

         terraform output -raw metaflow_config > ~/.metaflowconfig/config.json

       Steps run in namespace ${local.namespace} as service account ${local.service_account}, which
       reaches the datastore through workload identity; no storage key is needed anywhere.

    3. Port-forwards (keep them running while you work):

         kubectl -n ${local.namespace} port-forward svc/${kubernetes_service_v1.metadata_service.metadata[0].name} ${local.metadata_service_port}:${local.metadata_service_port}
         kubectl -n ${local.namespace} port-forward svc/${kubernetes_service_v1.ui_backend.metadata[0].name} ${local.ui_backend_port}:${local.ui_backend_port}
         kubectl -n ${local.namespace} port-forward svc/${kubernetes_service_v1.ui_static.metadata[0].name} ${local.ui_static_port}:${local.ui_static_port}
         kubectl -n ${local.namespace} port-forward svc/${local.argo_events_webhook_service} ${local.argo_events_webhook_port}:${local.argo_events_webhook_port}
         kubectl -n argo port-forward svc/argo-workflows-server 2746:2746

       The Metaflow UI is then at http://localhost:${local.ui_static_port} and the Argo UI at
       http://localhost:2746.

    4. Python packages next to metaflow:

         pip install azure-identity azure-storage-blob kubernetes

    Run a flow on Kubernetes:           python flow.py run --with kubernetes
    Deploy it to Argo Workflows:        python flow.py argo-workflows create
    Publish an event from your machine: ArgoEvent("my-event").publish()  (uses the webhook port-forward)
  EOT
}
