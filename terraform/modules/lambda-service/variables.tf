variable "name" {
  description = "The function's name in new-services/functions.ts (FUNCTION_ENTRIES), e.g. catalog."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.name))
    error_message = "A function name is lower-case letters, digits and hyphens."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. pet-store-staging."
  type        = string
}

variable "artifact" {
  description = "The bundle `npm run build:functions` wrote for this function: build/functions/<name>/index.cjs."
  type        = string
}

variable "handler" {
  description = "The bundle exports `handler` from index.cjs."
  type        = string
  default     = "index.handler"
}

variable "runtime" {
  type    = string
  default = "nodejs20.x"
}

variable "timeout" {
  description = "Seconds; the proxy's group timeoutMs should be below it."
  type        = number
}

variable "memory_size" {
  type    = number
  default = 512
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "subnet_ids" {
  description = "Private subnets that reach the database's RDS Proxy."
  type        = list(string)
}

variable "security_group_ids" {
  type = list(string)
}

variable "policy_json" {
  description = "Further permissions of this function only (an IAM policy document), e.g. sending to the fulfillment queue."
  type        = string
  default     = null
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for the function; null leaves it unreserved."
  type        = number
  default     = null
}

variable "provisioned_concurrency" {
  description = "Warm environments kept on the live alias; 0 for none."
  type        = number
  default     = 0

  validation {
    condition     = var.provisioned_concurrency >= 0
    error_message = "provisioned_concurrency is 0 or more."
  }
}

variable "live_version" {
  description = "The version the live alias points at; null for the version this apply publishes. Set it to roll back."
  type        = string
  default     = null
}

variable "tracing" {
  description = "X-Ray active tracing."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  type    = number
  default = 30
}
