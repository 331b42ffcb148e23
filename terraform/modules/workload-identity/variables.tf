variable "name" {
  description = "Name of the user-assigned managed identity."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group of the identity."
  type        = string
}

variable "location" {
  description = "Azure region of the identity."
  type        = string
}

variable "tags" {
  description = "Tags for the identity."
  type        = map(string)
}

variable "oidc_issuer_url" {
  description = "OIDC issuer URL of the AKS cluster whose service-account tokens the identity trusts."
  type        = string
}

variable "service_accounts" {
  description = "Kubernetes service accounts allowed to act as the identity, keyed by a static name."
  type = map(object({
    namespace = string
    name      = string
  }))
}

variable "role_assignments" {
  description = "Azure roles granted to the identity, keyed by a static name: the scope (resource ID) and the built-in role name."
  type = map(object({
    scope                = string
    role_definition_name = string
  }))
  default = {}
}
