variable "name_prefix" {
  description = "Prefix of every resource name, e.g. pet-store-staging."
  type        = string
}

variable "build_dir" {
  description = "The esbuild output of `npm run build:functions`: one <function>/index.cjs per function."
  type        = string
}

variable "database_url" {
  description = "PostgreSQL connection string of the pet-store database (shared with the legacy monolith)."
  type        = string
  sensitive   = true
}

variable "subnet_ids" {
  description = "Private subnets that reach the database."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups that the database accepts."
  type        = list(string)
}

variable "log_retention_days" {
  type    = number
  default = 30
}
