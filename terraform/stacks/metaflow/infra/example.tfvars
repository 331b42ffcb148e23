# Example values for the Metaflow infrastructure stack. Copy, adjust, and pass with -var-file.
identifier  = "contoso01"
environment = "dev"
location    = "westeurope"
owner       = "ml-platform-team"

tags = {
  CostCenter = "machine-learning"
}

virtual_network_address_space = "10.40.0.0/16"

default_pool = {
  vm_size   = "Standard_D2s_v5"
  min_count = 1
  max_count = 10
}

taskworkers_pool = {
  vm_size   = "Standard_D4s_v5"
  min_count = 0
  max_count = 50
  spot      = false
}

postgres_sku_name             = "B_Standard_B1ms"
postgres_administrator_login  = "metaflow"
metaflow_namespace            = "metaflow"
metaflow_service_account_name = "metaflow"
