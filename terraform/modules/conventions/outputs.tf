output "names" {
  description = "Resource names derived from workload, identifier and environment, keyed by what they name."
  value       = local.names
}

output "tags" {
  description = "Tags for every taggable resource: the user's extra tags plus Owner, Stack and Environment."
  value       = local.tags
}
