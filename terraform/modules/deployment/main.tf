# The whole Cutover deployment of one environment: the pet-store functions, the fulfillment
# queue, the database, the proxy and the observability stack. An environment (envs/staging,
# envs/prod) is this module with its values.
locals {
  name = "pet-store-${var.environment}"

  # Function timeouts as the local Lambda host runs them (new-services/functions.ts).
  timeouts = { catalog = 10, orders = 10, fulfillment = 30 }

  groups_dir   = dirname(var.proxy_groups_file)
  groups_input = yamldecode(file(var.proxy_groups_file))
  proxy_groups = { for name, group in local.groups_input : name => merge(group, can(tostring(group.rules)) ? { rules = jsondecode(file("${local.groups_dir}/${group.rules}")) } : {}) }

  rule_group_files = { for file in try(fileset(var.dashboards_dir, "rules/*.yaml"), []) : trimsuffix(basename(file), ".yaml") => "${var.dashboards_dir}/${file}" }
  dashboard_files  = { for file in try(fileset(var.dashboards_dir, "*.json"), []) : trimsuffix(file, ".json") => "${var.dashboards_dir}/${file}" }
}

data "aws_region" "current" {}

data "aws_vpc" "selected" {
  tags = { Name = var.vpc_name }
}

data "aws_subnets" "private" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.selected.id]
  }
  tags = { tier = "private" }
}

data "aws_subnets" "public" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.selected.id]
  }
  tags = { tier = "public" }
}

data "aws_acm_certificate" "proxy" {
  domain      = var.certificate_domain
  statuses    = ["ISSUED"]
  most_recent = true
}

# Created by hand once per environment (see terraform/README.md); only their ARNs reach the tasks.
data "aws_secretsmanager_secret" "sdk_key" {
  name = var.sdk_key_secret_name
}

data "aws_secretsmanager_secret" "admin_token" {
  name = var.admin_token_secret_name
}

data "aws_secretsmanager_secret" "webhook_secret" {
  name = var.webhook_secret_name
}

resource "aws_security_group" "functions" {
  name        = "${local.name}-functions"
  description = "The pet-store Lambda functions"
  vpc_id      = data.aws_vpc.selected.id
}

resource "aws_vpc_security_group_egress_rule" "functions_out" {
  security_group_id = aws_security_group.functions.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
  description       = "RDS Proxy, SQS and the other AWS APIs"
}

module "database" {
  source                = "../database"
  name_prefix           = local.name
  vpc_id                = data.aws_vpc.selected.id
  subnet_ids            = data.aws_subnets.private.ids
  instance_class        = var.database.instance_class
  multi_az              = var.database.multi_az
  backup_retention_days = var.database.backup_retention_days
  client_security_group_ids = {
    functions = aws_security_group.functions.id
    proxy     = module.proxy.tasks_security_group_id
    grafana   = module.observability.grafana_security_group_id
  }
}

module "catalog" {
  source                  = "../lambda-service"
  name                    = "catalog"
  name_prefix             = local.name
  artifact                = "${var.build_dir}/catalog/index.cjs"
  timeout                 = local.timeouts.catalog
  memory_size             = var.functions.catalog.memory_size
  reserved_concurrency    = var.functions.catalog.reserved_concurrency
  provisioned_concurrency = var.functions.catalog.provisioned_concurrency
  live_version            = var.functions.catalog.live_version
  tracing                 = var.functions.catalog.tracing
  environment             = { DATABASE_URL = module.database.functions_url }
  subnet_ids              = data.aws_subnets.private.ids
  security_group_ids      = [aws_security_group.functions.id]
  log_retention_days      = var.log_retention_days
}

module "orders" {
  source                  = "../lambda-service"
  name                    = "orders"
  name_prefix             = local.name
  artifact                = "${var.build_dir}/orders/index.cjs"
  timeout                 = local.timeouts.orders
  memory_size             = var.functions.orders.memory_size
  reserved_concurrency    = var.functions.orders.reserved_concurrency
  provisioned_concurrency = var.functions.orders.provisioned_concurrency
  live_version            = var.functions.orders.live_version
  tracing                 = var.functions.orders.tracing
  environment             = { DATABASE_URL = module.database.functions_url, FULFILLMENT_QUEUE_URL = module.fulfillment_queue.queue_url }
  subnet_ids              = data.aws_subnets.private.ids
  security_group_ids      = [aws_security_group.functions.id]
  log_retention_days      = var.log_retention_days
}

module "fulfillment" {
  source                  = "../lambda-service"
  name                    = "fulfillment"
  name_prefix             = local.name
  artifact                = "${var.build_dir}/fulfillment/index.cjs"
  timeout                 = local.timeouts.fulfillment
  memory_size             = var.functions.fulfillment.memory_size
  reserved_concurrency    = var.functions.fulfillment.reserved_concurrency
  provisioned_concurrency = var.functions.fulfillment.provisioned_concurrency
  live_version            = var.functions.fulfillment.live_version
  tracing                 = var.functions.fulfillment.tracing
  environment             = { DATABASE_URL = module.database.functions_url }
  subnet_ids              = data.aws_subnets.private.ids
  security_group_ids      = [aws_security_group.functions.id]
  log_retention_days      = var.log_retention_days
}

module "fulfillment_queue" {
  source              = "../fulfillment-queue"
  name_prefix         = local.name
  consumer            = { alias_arn = module.fulfillment.alias_arn, role_name = module.fulfillment.role_name, timeout = module.fulfillment.timeout }
  producer_role_names = { orders = module.orders.role_name }
  alarm_actions       = var.alarm_actions
}

module "observability" {
  source             = "../observability"
  name_prefix        = local.name
  vpc_id             = data.aws_vpc.selected.id
  grafana_subnet_ids = data.aws_subnets.private.ids
  rule_group_files   = local.rule_group_files
  dashboard_files    = local.dashboard_files
  postgres = {
    host       = module.database.address
    port       = module.database.port
    database   = module.database.database_name
    secret_arn = module.database.master_secret_arn
  }
}

module "proxy" {
  source                 = "../proxy-service"
  name_prefix            = local.name
  vpc_id                 = data.aws_vpc.selected.id
  public_subnet_ids      = data.aws_subnets.public.ids
  private_subnet_ids     = data.aws_subnets.private.ids
  certificate_arn        = data.aws_acm_certificate.proxy.arn
  image                  = var.proxy_image
  min_tasks              = var.proxy_tasks.min
  max_tasks              = var.proxy_tasks.max
  legacy_url             = var.legacy_url
  lambda_region          = data.aws_region.current.region
  groups                 = local.proxy_groups
  caller                 = var.proxy_caller
  routing                = var.proxy_routing
  sdk_key_secret_arn     = data.aws_secretsmanager_secret.sdk_key.arn
  admin_token_secret_arn = data.aws_secretsmanager_secret.admin_token.arn
  store_url_secret_arn   = module.database.store_url_secret_arn
  webhook_secret_arn     = data.aws_secretsmanager_secret.webhook_secret.arn
  public_host            = var.certificate_domain
  log_retention_days     = var.log_retention_days
  function_alias_arns = {
    catalog     = module.catalog.alias_arn
    orders      = module.orders.alias_arn
    fulfillment = module.fulfillment.alias_arn
  }
  metrics = {
    workspace_arn    = module.observability.prometheus_workspace_arn
    remote_write_url = module.observability.prometheus_remote_write_url
  }
}
