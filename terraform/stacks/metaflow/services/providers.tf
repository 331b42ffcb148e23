# The cluster has local accounts disabled, so both providers authenticate with an Entra token that
# kubelogin obtains for the AKS server application (6dae42f8-...: the same well-known ID in every
# tenant) and Azure RBAC authorizes (the infra stack grants the deploying identity cluster admin).
locals {
  kubelogin_exec = {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "kubelogin"
    args        = ["get-token", "--login", var.kubelogin_login_mode, "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
  }
}

provider "kubernetes" {
  host                   = local.infra.cluster_host
  cluster_ca_certificate = base64decode(local.infra.cluster_ca_certificate)

  exec {
    api_version = local.kubelogin_exec.api_version
    command     = local.kubelogin_exec.command
    args        = local.kubelogin_exec.args
  }
}

provider "helm" {
  kubernetes = {
    host                   = local.infra.cluster_host
    cluster_ca_certificate = base64decode(local.infra.cluster_ca_certificate)
    exec                   = local.kubelogin_exec
  }
}
