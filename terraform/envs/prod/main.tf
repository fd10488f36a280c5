# The prod environment: the deployment module with prod's values. Build the functions first:
#   npm run build:functions
#   terraform -chdir=terraform/envs/prod init
#   terraform -chdir=terraform/envs/prod apply -var proxy_image=<image@digest>
terraform {
  required_version = ">= 1.11"
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.25" }
    archive = { source = "hashicorp/archive", version = "~> 2.7" }
    grafana = { source = "grafana/grafana", version = "~> 3.0" }
  }

  backend "s3" {
    bucket       = "pet-store-terraform-state"
    key          = "cutover/prod.tfstate"
    region       = "us-east-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = "us-east-1"

  default_tags {
    tags = {
      service     = "cutover"
      environment = "prod"
      owner       = "platform-team"
    }
  }
}

# Signs in with the service account token the observability module makes (see terraform/README.md
# for the first apply, before the Grafana workspace exists).
provider "grafana" {
  url  = module.deployment.grafana_url
  auth = module.deployment.grafana_token
}

variable "proxy_image" {
  description = "The Cutover image to run, by digest or immutable tag: each release passes its own."
  type        = string

  validation {
    condition     = can(regex("^[^:]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$", var.proxy_image))
    error_message = "An image reference with a tag or a digest."
  }
}

module "deployment" {
  source                  = "../../modules/deployment"
  environment             = "prod"
  vpc_name                = "pet-store-prod"
  certificate_domain      = "shop.example.com"
  build_dir               = "${path.root}/../../../build/functions"
  dashboards_dir          = "${path.root}/../../../dashboards"
  proxy_groups_file       = "${path.root}/../proxy-groups.yaml"
  proxy_image             = var.proxy_image
  proxy_tasks             = { min = 3, max = 12 }
  legacy_url              = "http://legacy.pet-store-prod.internal:8080"
  proxy_caller            = { header = "x-customer-id", cookie = "cutover_caller" }
  proxy_routing           = { caseSensitive = false, trailingSlash = "optional" }
  sdk_key_secret_name     = "pet-store-prod/optimizely-sdk-key"
  admin_token_secret_name = "pet-store-prod/cutover-admin-token"
  webhook_secret_name     = "pet-store-prod/optimizely-webhook-secret"
  log_retention_days      = 90
  database = {
    instance_class        = "db.r7g.large"
    multi_az              = true
    backup_retention_days = 30
  }
  functions = {
    catalog     = { provisioned_concurrency = 2 }
    orders      = { provisioned_concurrency = 2 }
    fulfillment = {}
  }
}

output "proxy_url" {
  value = module.deployment.proxy_url
}

output "load_balancer" {
  value = module.deployment.load_balancer
}

output "grafana_url" {
  value = module.deployment.grafana_url
}

output "function_alias_arns" {
  value = module.deployment.function_alias_arns
}

output "function_live_versions" {
  value = module.deployment.function_live_versions
}

output "queue_urls" {
  value = module.deployment.queue_urls
}

output "proxy_service" {
  value = module.deployment.proxy_service
}
