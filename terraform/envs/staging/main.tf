# The staging environment: the deployment module with staging's values. Build the functions first:
#   npm run build:functions
#   terraform -chdir=terraform/envs/staging init
#   terraform -chdir=terraform/envs/staging apply -var proxy_image=<image@digest>
terraform {
  required_version = ">= 1.11"
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.25" }
    archive = { source = "hashicorp/archive", version = "~> 2.7" }
    grafana = { source = "grafana/grafana", version = "~> 3.0" }
  }

  backend "s3" {
    bucket       = "pet-store-terraform-state"
    key          = "cutover/staging.tfstate"
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
      environment = "staging"
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
  environment             = "staging"
  vpc_name                = "pet-store-staging"
  certificate_domain      = "shop-staging.example.com"
  build_dir               = "${path.root}/../../../build/functions"
  dashboards_dir          = "${path.root}/../../../dashboards"
  proxy_groups_file       = "${path.root}/../proxy-groups.yaml"
  proxy_image             = var.proxy_image
  proxy_tasks             = { min = 1, max = 3 }
  legacy_url              = "http://legacy.pet-store-staging.internal:8080"
  proxy_caller            = { header = "x-customer-id", cookie = "cutover_caller" }
  proxy_routing           = { caseSensitive = false, trailingSlash = "optional" }
  sdk_key_secret_name     = "pet-store-staging/optimizely-sdk-key"
  admin_token_secret_name = "pet-store-staging/cutover-admin-token"
  webhook_secret_name     = "pet-store-staging/optimizely-webhook-secret"
  log_retention_days      = 30
  database = {
    instance_class        = "db.t4g.medium"
    multi_az              = false
    backup_retention_days = 7
  }
  functions = {
    catalog     = { provisioned_concurrency = 0 }
    orders      = { provisioned_concurrency = 0 }
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
