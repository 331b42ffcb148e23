locals {
  metadata_service_labels = {
    "app.kubernetes.io/name"    = "metadata-service"
    "app.kubernetes.io/part-of" = "metaflow"
  }
}

resource "kubernetes_deployment_v1" "metadata_service" {
  metadata {
    name      = "metadata-service"
    namespace = local.namespace
    labels    = local.metadata_service_labels
  }

  spec {
    replicas = var.metadata_service_replicas

    selector {
      match_labels = local.metadata_service_labels
    }

    template {
      metadata {
        labels = local.metadata_service_labels
        annotations = {
          # Roll the pods when the database settings change, since env_from is read only at start.
          "checksum/database-secret" = sha256(jsonencode(kubernetes_secret_v1.metadata_database.data))
        }
      }

      spec {
        # Brings the schema up to date before the service starts; goose applies only missing
        # migrations, so running it on every start is safe.
        init_container {
          name    = "db-migrations"
          image   = local.metaflow_service_image
          command = ["/opt/latest/bin/python3", "/root/run_goose.py"]

          env_from {
            secret_ref {
              name = kubernetes_secret_v1.metadata_database.metadata[0].name
            }
          }

          resources {
            requests = {
              cpu    = "100m"
              memory = "256Mi"
            }
            limits = {
              memory = "512Mi"
            }
          }
        }

        container {
          name    = "metadata-service"
          image   = local.metaflow_service_image
          command = ["/opt/latest/bin/python3", "-m", "services.metadata_service.server"]

          port {
            name           = "http"
            container_port = local.metadata_service_port
            protocol       = "TCP"
          }

          env_from {
            secret_ref {
              name = kubernetes_secret_v1.metadata_database.metadata[0].name
            }
          }

          readiness_probe {
            http_get {
              path = "/ping"
              port = "http"
            }
            period_seconds = 10
          }

          liveness_probe {
            http_get {
              path = "/ping"
              port = "http"
            }
            initial_delay_seconds = 30
            period_seconds        = 20
            failure_threshold     = 3
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

resource "kubernetes_service_v1" "metadata_service" {
  metadata {
    name      = "metadata-service"
    namespace = local.namespace
    labels    = local.metadata_service_labels
  }

  spec {
    type     = "ClusterIP"
    selector = local.metadata_service_labels

    port {
      name        = "http"
      port        = local.metadata_service_port
      target_port = "http"
      protocol    = "TCP"
    }
  }
}
