# Argo Workflows runs `python flow.py argo-workflows create` deployments; Argo Events triggers them
# (@trigger, @trigger_on_finish). Both come from pinned chart versions rather than the original's
# `kubectl apply` of a "latest" manifest URL.

resource "helm_release" "argo_workflows" {
  name             = "argo-workflows"
  repository       = "https://argoproj.github.io/argo-helm"
  chart            = "argo-workflows"
  version          = var.argo_workflows_chart_version
  namespace        = "argo"
  create_namespace = true
  wait             = true

  values = [yamlencode({
    controller = {
      # Workflows run in the Metaflow namespace, next to the steps that `--with kubernetes` starts.
      workflowNamespaces = [local.namespace]
    }
    workflow = {
      # The chart grants this account what the workflow executor needs in each workflow namespace;
      # the account itself (with its workload identity annotation) is managed here.
      serviceAccount = {
        create = false
        name   = local.service_account
      }
      rbac = {
        create = true
      }
    }
    server = {
      # The server is reachable only through kubectl port-forward, which Azure RBAC already guards.
      authModes = ["server"]
    }
  })]

  depends_on = [kubernetes_service_account_v1.metaflow]
}

resource "helm_release" "argo_events" {
  name             = "argo-events"
  repository       = "https://argoproj.github.io/argo-helm"
  chart            = "argo-events"
  version          = var.argo_events_chart_version
  namespace        = "argo-events"
  create_namespace = true
  wait             = true

  values = [yamlencode({
    crds = {
      # Keep the EventBus and EventSource definitions (and the objects using them) on uninstall.
      keep = true
    }
  })]
}

# The EventBus and the webhook EventSource that Metaflow publishes events to. They are custom
# resources whose definitions the argo-events chart installs, so they cannot be kubernetes_manifest
# resources (those need the definitions to exist at plan time); a small local chart applies them
# after the argo-events release instead.
resource "helm_release" "argo_events_resources" {
  name      = "metaflow-argo-events"
  chart     = "${path.module}/charts/argo-events-resources"
  namespace = local.namespace
  wait      = true

  values = [yamlencode({
    eventBus = {
      name = local.argo_events_event_bus
      # One of the JetStream versions the argo-events chart configures its controller with.
      jetstreamVersion = "2.10.10"
    }
    eventSource = {
      name     = local.argo_events_event_source
      port     = local.argo_events_webhook_port
      endpoint = "/${local.argo_events_event}"
      event    = local.argo_events_event
    }
  })]

  depends_on = [helm_release.argo_events]
}

# Sensors that Metaflow creates run as this account and submit workflows from their templates.
resource "kubernetes_service_account_v1" "argo_events_sensor" {
  metadata {
    name      = "operate-workflow-sa"
    namespace = local.namespace
  }
}

resource "kubernetes_role_v1" "operate_workflows" {
  metadata {
    name      = "operate-workflow-role"
    namespace = local.namespace
  }

  rule {
    api_groups = ["argoproj.io"]
    resources  = ["workflows", "workflowtemplates", "cronworkflows", "clusterworkflowtemplates"]
    verbs      = ["*"]
  }
}

# rbac.authorization.k8s.io/v1: the original's v1beta1 RoleBinding no longer exists since
# Kubernetes 1.22.
resource "kubernetes_role_binding_v1" "operate_workflows" {
  metadata {
    name      = "operate-workflow-role-binding"
    namespace = local.namespace
  }

  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role_v1.operate_workflows.metadata[0].name
  }

  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.argo_events_sensor.metadata[0].name
    namespace = local.namespace
  }
}
