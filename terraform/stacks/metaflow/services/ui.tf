# The Metaflow UI: a backend (the Metaflow service image in UI mode, which reads runs from the
# database and artifacts from the datastore) and the static front end that the browser loads.

locals {
  ui_backend_labels = {
    "app.kubernetes.io/name"    = "metaflow-ui-backend"
    "app.kubernetes.io/part-of" = "metaflow"
  }
  ui_static_labels = {
    "app.kubernetes.io/name"    = "metaflow-ui-static"
    "app.kubernetes.io/part-of" = "metaflow"
  }
}

resource "kubernetes_deployment_v1" "ui_backend" {
  metadata {
    name      = "metaflow-ui-backend"
    namespace = local.namespace
    labels    = local.ui_backend_labels
  }

  spec {
    replicas = 1

    selector {
      match_labels = local.ui_backend_labels
    }

    template {
      metadata {
        # The workload identity label makes AKS inject the federated token the datastore client uses.
        labels = merge(local.ui_backend_labels, local.workload_identity_pod_label)
        annotations = {
          "checksum/database-secret" = sha256(jsonencode(kubernetes_secret_v1.metadata_database.data))
        }
      }

      spec {
        service_account_name = local.service_account

        container {
          name    = "metaflow-ui-backend"
          image   = local.metaflow_service_image
          command = ["/opt/latest/bin/python3", "-m", "services.ui_backend_service.ui_server"]

          port {
            name           = "http"
            container_port = local.ui_backend_port
            protocol       = "TCP"
          }

          env_from {
            secret_ref {
              name = kubernetes_secret_v1.metadata_database.metadata[0].name
            }
          }

          env {
            name  = "UI_ENABLED"
            value = "1"
          }
          env {
            name  = "PATH_PREFIX"
            value = "/api"
          }
          env {
            name  = "MF_DATASTORE_ROOT"
            value = local.datastore_sysroot
          }
          env {
            name  = "METAFLOW_DEFAULT_DATASTORE"
            value = "azure"
          }
          env {
            name  = "METAFLOW_DATASTORE_SYSROOT_AZURE"
            value = local.datastore_sysroot
          }
          env {
            name  = "METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"
            value = local.infra.storage_blob_endpoint
          }
          env {
            name  = "METAFLOW_DEFAULT_METADATA"
            value = "service"
          }
          env {
            name  = "METAFLOW_SERVICE_URL"
            value = local.metadata_service_internal_url
          }
          env {
            # The browser loads the UI from the port-forwarded static service.
            name  = "ORIGIN_TO_ALLOW_CORS_FROM"
            value = "http://localhost:${local.ui_static_port}"
          }

          readiness_probe {
            http_get {
              path = "/api/ping"
              port = "http"
            }
            period_seconds = 10
          }

          liveness_probe {
            http_get {
              path = "/api/ping"
              port = "http"
            }
            initial_delay_seconds = 30
            period_seconds        = 20
          }

          resources {
            requests = {
              cpu    = "250m"
              memory = "512Mi"
            }
            limits = {
              memory = "2Gi"
            }
          }
        }
      }
    }
  }
}

resource "kubernetes_service_v1" "ui_backend" {
  metadata {
    name      = "metaflow-ui-backend"
    namespace = local.namespace
    labels    = local.ui_backend_labels
  }

  spec {
    type     = "ClusterIP"
    selector = local.ui_backend_labels

    port {
      name        = "http"
      port        = local.ui_backend_port
      target_port = "http"
      protocol    = "TCP"
    }
  }
}

resource "kubernetes_deployment_v1" "ui_static" {
  metadata {
    name      = "metaflow-ui-static"
    namespace = local.namespace
    labels    = local.ui_static_labels
  }

  spec {
    replicas = 1

    selector {
      match_labels = local.ui_static_labels
    }

    template {
      metadata {
        labels = local.ui_static_labels
      }

      spec {
        container {
          name  = "metaflow-ui-static"
          image = var.metaflow_ui_image

          port {
            name           = "http"
            container_port = local.ui_static_port
            protocol       = "TCP"
          }

          env {
            # Where the browser finds the UI backend: its port-forward on the user's machine.
            name  = "METAFLOW_SERVICE"
            value = "http://localhost:${local.ui_backend_port}/api"
          }

          readiness_probe {
            http_get {
              path = "/"
              port = "http"
            }
            period_seconds = 10
          }

          liveness_probe {
            http_get {
              path = "/"
              port = "http"
            }
            initial_delay_seconds = 10
            period_seconds        = 20
          }

          resources {
            requests = {
              cpu    = "50m"
              memory = "64Mi"
            }
            limits = {
              memory = "256Mi"
            }
          }
        }
      }
    }
  }
}

# The original's selector (app = metadata-ui-static-service) matched no pod; selector and pod labels
# now come from the same local.
resource "kubernetes_service_v1" "ui_static" {
  metadata {
    name      = "metaflow-ui-static"
    namespace = local.namespace
    labels    = local.ui_static_labels
  }

  spec {
    type     = "ClusterIP"
    selector = local.ui_static_labels

    port {
      name        = "http"
      port        = local.ui_static_port
      target_port = "http"
      protocol    = "TCP"
    }
  }
}
