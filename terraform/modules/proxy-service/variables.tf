variable "name_prefix" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "public_subnet_ids" {
  description = "Subnets of the Application Load Balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the proxy tasks."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "image" {
  description = "The Cutover container image, built from the repository's Dockerfile: node on the built proxy, never a build at start."
  type        = string
}

variable "cpu" {
  type    = number
  default = 512
}

variable "memory" {
  type    = number
  default = 1024
}

variable "min_tasks" {
  type = number
}

variable "max_tasks" {
  type = number
}

variable "cpu_target_percent" {
  description = "Autoscaling keeps the service's average CPU near this."
  type        = number
  default     = 60
}

variable "requests_per_target" {
  description = "Autoscaling keeps ALB requests per task per minute near this."
  type        = number
  default     = 6000
}

variable "legacy_url" {
  description = "legacy.url: the legacy pet store, as the tasks reach it."
  type        = string
}

variable "legacy_keep_alive_ms" {
  description = "legacy.keepAliveMs: below legacy's own keep-alive timeout."
  type        = number
  default     = 4000
}

variable "lambda_region" {
  description = "lambda.region: where the functions run."
  type        = string
}

variable "function_alias_arns" {
  description = "The live alias ARN of each pet-store function, by its name in new-services/functions.ts."
  type        = map(string)
}

variable "groups" {
  description = "The configuration's groups (flag, routes, …) with `function` naming a pet-store function; it is replaced by that function's live alias ARN."
  type        = any
}

variable "caller" {
  description = "The configuration's caller section (header, cookie)."
  type        = any
  default     = {}
}

variable "routing" {
  description = "The configuration's routing section (caseSensitive, trailingSlash): how legacy reads paths."
  type        = any
  default     = {}
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "drain_ms" {
  description = "traffic.drainMs: how long idle connections stay open at shutdown."
  type        = number
  default     = 1000
}

variable "flags_poll_interval_ms" {
  description = "flags.pollIntervalMs: how often the Optimizely datafile is fetched."
  type        = number
  default     = 60000
}

variable "sdk_key_secret_arn" {
  description = "flags.sdkKey: the Optimizely SDK key of this environment, a Secrets Manager secret or an SSM SecureString parameter."
  type        = string
}

variable "admin_token_secret_arn" {
  description = "CUTOVER_ADMIN_TOKEN (16+ characters), a Secrets Manager secret or an SSM SecureString parameter."
  type        = string
}

variable "store_url_secret_arn" {
  description = "The store's PostgreSQL URL (CUTOVER_STORE_URL), a Secrets Manager secret or an SSM SecureString parameter."
  type        = string
}

variable "webhook_secret_arn" {
  description = "The secret Optimizely signs its webhooks with (flags.webhookSecretEnv names CUTOVER_OPTIMIZELY_WEBHOOK_SECRET), a Secrets Manager secret or an SSM SecureString parameter."
  type        = string
}

variable "public_host" {
  description = "The public name the ALB serves (its certificate's): Optimizely's webhook is forwarded to the admin port for it, and the admin port answers it (admin.allowedHosts)."
  type        = string
}

variable "alb_idle_timeout" {
  description = "Seconds; below the proxy's keep-alive timeout (65 s), so the proxy never closes a connection the ALB is about to reuse."
  type        = number
  default     = 60

  validation {
    condition     = var.alb_idle_timeout < 65
    error_message = "The ALB's idle timeout must be below the proxy's keep-alive timeout of 65 s."
  }
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "metrics" {
  description = "Where the collector sidecar writes the proxy's /metrics: an Amazon Managed Prometheus workspace; null for no collector."
  type = object({
    workspace_arn    = string
    remote_write_url = string
  })
  default = null
}

variable "collector_image" {
  description = "The AWS Distro for OpenTelemetry collector image; pin a release tag in production."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:latest"
}

variable "log_retention_days" {
  type    = number
  default = 30
}
