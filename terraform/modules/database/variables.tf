variable "name_prefix" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Private subnets, in two availability zones at least."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups of the database's clients by a static key (functions, proxy, grafana): each may reach PostgreSQL, the functions through RDS Proxy."
  type        = map(string)
}

variable "database_name" {
  type    = string
  default = "petstore"
}

variable "master_username" {
  type    = string
  default = "petstore"
}

variable "engine_version" {
  type    = string
  default = "16"
}

variable "instance_class" {
  type = string
}

variable "allocated_storage" {
  description = "GiB; storage grows on its own up to four times this."
  type        = number
  default     = 50
}

variable "multi_az" {
  type = bool
}

variable "backup_retention_days" {
  type = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "Automated backups are kept 1 to 35 days."
  }
}

variable "deletion_protection" {
  type    = bool
  default = true
}
