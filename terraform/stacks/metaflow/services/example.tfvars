# Example values for the Metaflow services stack. Copy, adjust, and pass with -var-file.
# The infra_state_* values locate metaflow/infra's state: the same storage account and container
# that setup-remote-state prepared, and the key that stack was initialised with.
infra_state_resource_group_name  = "rg-tfstate-contoso01"
infra_state_storage_account_name = "sttfstatecontoso01"
infra_state_container_name       = "tfstate"
infra_state_key                  = "metaflow-infra-dev.tfstate"

kubelogin_login_mode = "workloadidentity"

metaflow_service_version     = "v2.4.12"
metaflow_ui_image            = "public.ecr.aws/outerbounds/metaflow_ui:v1.2.4"
argo_workflows_chart_version = "0.47.5"
argo_events_chart_version    = "2.4.22"
