variable "name_prefix" {
  type = string
}

variable "rule_group_files" {
  description = "Prometheus rule group files (YAML) by namespace name: dashboards/rules/*.yaml."
  type        = map(string)
  default     = {}
}

variable "dashboard_files" {
  description = "Grafana dashboard JSON files by name: dashboards/*.json (generated from dashboards/src)."
  type        = map(string)
  default     = {}
}

variable "grafana_authentication_providers" {
  description = "How people sign in to Grafana: AWS_SSO (IAM Identity Center) or SAML."
  type        = list(string)
  default     = ["AWS_SSO"]
}

variable "grafana_subnet_ids" {
  description = "Private subnets from which Grafana reaches the database."
  type        = list(string)
}

variable "vpc_id" {
  type = string
}

variable "postgres" {
  description = "The PostgreSQL data source: the database and the Secrets Manager secret with its username and password."
  type = object({
    host       = string
    port       = number
    database   = string
    secret_arn = string
  })
}

variable "api_key_seconds" {
  description = "Lifetime of the service account token Terraform's Grafana provider uses; apply again before it runs out."
  type        = number
  default     = 2592000
}
