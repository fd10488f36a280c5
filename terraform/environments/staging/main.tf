# The staging environment of the pet-store rewrite. Build the artifacts first:
#   npm run build:functions && terraform -chdir=terraform/environments/staging apply
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.70" }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "database_url" {
  description = "The pet-store PostgreSQL database; pass it through TF_VAR_database_url, never in a file."
  type        = string
  sensitive   = true
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_ids" {
  type = list(string)
}

module "pet_store_functions" {
  source             = "../../modules/pet-store-functions"
  name_prefix        = "pet-store-staging"
  build_dir          = "${path.root}/../../../build/functions"
  database_url       = var.database_url
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
}

output "function_names" {
  value = module.pet_store_functions.function_names
}

output "fulfillment_queue_url" {
  value = module.pet_store_functions.fulfillment_queue_url
}
