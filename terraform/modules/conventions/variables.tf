variable "workload" {
  description = "What the stack runs, spelled out in readable names and in the Stack tag (\"bakery\", \"metaflow\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{1,8}$", var.workload))
    error_message = "workload must be 1-8 lowercase letters."
  }
}

variable "workload_code" {
  description = "Two-letter abbreviation of the workload, used where Azure allows no hyphens and few characters (storage accounts, registries)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}$", var.workload_code))
    error_message = "workload_code must be exactly 2 lowercase letters."
  }
}

variable "identifier" {
  description = "Deployment identifier chosen by the user to make globally unique names unique (1-10 lowercase letters or digits)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{1,10}$", var.identifier))
    error_message = "identifier must be 1-10 lowercase letters or digits."
  }
}

variable "environment" {
  description = "Environment name (1-8 lowercase letters or digits), part of every name and the Environment tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{1,8}$", var.environment))
    error_message = "environment must be 1-8 lowercase letters or digits."
  }
}

variable "owner" {
  description = "Team or person answerable for the resources, written to the Owner tag."
  type        = string

  validation {
    condition     = length(trimspace(var.owner)) > 0
    error_message = "owner must not be empty."
  }
}

variable "extra_tags" {
  description = "User tags added to every taggable resource; Owner, Stack and Environment always win over keys of the same name."
  type        = map(string)
  default     = {}
}
