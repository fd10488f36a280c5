variable "environment" {
  description = "staging or prod: the suffix of every name."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment is staging or prod."
  }
}

variable "vpc_name" {
  description = "The Name tag of the VPC; its subnets are found by their tier tag (public, private)."
  type        = string
}

variable "certificate_domain" {
  description = "Domain of the issued ACM certificate the HTTPS listener serves."
  type        = string
}

variable "build_dir" {
  description = "The output of `npm run build:functions`: one <function>/index.cjs per function."
  type        = string
}

variable "functions" {
  description = "Per pet-store function (the names in new-services/functions.ts): memory, concurrency, the version live points at, tracing."
  type = map(object({
    memory_size             = optional(number, 512)
    reserved_concurrency    = optional(number)
    provisioned_concurrency = optional(number, 0)
    live_version            = optional(string)
    tracing                 = optional(bool, false)
  }))

  validation {
    condition     = alltrue([for fn in values(var.functions) : fn.memory_size >= 128 && fn.memory_size <= 10240])
    error_message = "A function's memory_size is 128 to 10240 MB."
  }

  validation {
    condition     = alltrue([for fn in values(var.functions) : fn.live_version == null || can(regex("^[0-9]+$", fn.live_version))])
    error_message = "live_version is a published version number, e.g. \"7\"."
  }
}

variable "proxy_image" {
  description = "The Cutover container image, by digest or immutable tag."
  type        = string

  validation {
    condition     = !endswith(var.proxy_image, ":latest")
    error_message = "Deploy an immutable image tag or digest, not :latest."
  }
}

variable "proxy_tasks" {
  description = "Fargate tasks of the proxy: the autoscaling range."
  type = object({
    min = number
    max = number
  })

  validation {
    condition     = var.proxy_tasks.min >= 1 && var.proxy_tasks.max >= var.proxy_tasks.min
    error_message = "At least one task, and max >= min."
  }
}

variable "legacy_url" {
  description = "The legacy pet store as the proxy tasks reach it."
  type        = string

  validation {
    condition     = can(regex("^https?://", var.legacy_url))
    error_message = "legacy_url is an http or https URL."
  }
}

variable "proxy_groups_file" {
  description = "YAML of the proxy configuration's groups; a group's `function` names a pet-store function, its `rules` a JSON file relative to this file."
  type        = string
}

variable "proxy_caller" {
  description = "The proxy configuration's caller section."
  type        = any
  default     = {}
}

variable "proxy_routing" {
  description = "The proxy configuration's routing section: how legacy reads paths."
  type        = any
  default     = {}
}

variable "sdk_key_secret_name" {
  description = "Name of the Secrets Manager secret holding this environment's Optimizely SDK key."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]+$", var.sdk_key_secret_name))
    error_message = "A Secrets Manager secret name."
  }
}

variable "webhook_secret_name" {
  description = "Name of the Secrets Manager secret holding the secret of the Optimizely webhook (Settings > Webhooks) that calls https://<certificate_domain>/webhooks/optimizely."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]+$", var.webhook_secret_name))
    error_message = "A Secrets Manager secret name."
  }
}

variable "admin_token_secret_name" {
  description = "Name of the Secrets Manager secret holding the admin API token (16+ characters)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]+$", var.admin_token_secret_name))
    error_message = "A Secrets Manager secret name."
  }
}

variable "database" {
  description = "The RDS instance: size, availability, backups."
  type = object({
    instance_class        = string
    multi_az              = bool
    backup_retention_days = number
  })

  validation {
    condition     = startswith(var.database.instance_class, "db.")
    error_message = "instance_class is an RDS class such as db.t4g.medium."
  }
}

variable "dashboards_dir" {
  description = "Folder of Prometheus rule groups (rules/*.yaml) and Grafana dashboards (*.json)."
  type        = string
}

variable "alarm_actions" {
  description = "SNS topics told when an alarm fires."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  type    = number
  default = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "A retention CloudWatch Logs accepts."
  }
}
