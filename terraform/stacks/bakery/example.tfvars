# Example values for the Bakery stack. Copy, adjust, and pass with -var-file.
identifier  = "contoso01"
environment = "dev"
location    = "westeurope"
owner       = "data-platform-team"

tags = {
  CostCenter = "research-computing"
}

worker_pool = {
  vm_size         = "Standard_D4s_v5"
  os_disk_size_gb = 512
  min_count       = 0
  max_count       = 100
  spot            = false
}

log_retention_in_days          = 30
autoscaler_scale_down_unneeded = "2m"
worker_namespace               = "bakery"
worker_service_account_name    = "bakery-worker"
