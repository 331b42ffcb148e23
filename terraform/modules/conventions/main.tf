# Names and tags shared by every stack, in one place so that every resource of a deployment can be
# found by name and tag, and so that the tests can evaluate the name patterns against the longest
# identifier and environment the root modules accept (test/terraform/naming.test.ts).
locals {
  # Readable form for names that allow hyphens, compact form for those that allow only alphanumerics.
  qualifier = "${var.workload}-${var.identifier}-${var.environment}"
  compact   = "${var.workload_code}${var.identifier}${var.environment}"

  names = {
    resource_group                 = "rg-${local.qualifier}"
    kubernetes_node_resource_group = "rg-${local.qualifier}-nodes"
    kubernetes_cluster             = "aks-${local.qualifier}"
    kubernetes_dns_prefix          = local.qualifier
    log_analytics_workspace        = "log-${local.qualifier}"
    storage_account                = "st${local.compact}"
    container_registry             = "cr${local.compact}"
    user_assigned_identity         = "id-${local.qualifier}"
    virtual_network                = "vnet-${local.qualifier}"
    postgresql_server              = "psql-${local.qualifier}"
    postgresql_private_dns_zone    = "${local.qualifier}.private.postgres.database.azure.com"
  }

  # merge() lets later maps win, so the three required tags cannot be overridden by extra_tags.
  tags = merge(var.extra_tags, {
    Owner       = var.owner
    Stack       = var.workload
    Environment = var.environment
  })
}
