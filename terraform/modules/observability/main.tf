# Metrics and dashboards: an Amazon Managed Service for Prometheus workspace (the proxy tasks'
# collector sidecar writes to it), its rule groups, and an Amazon Managed Grafana workspace with
# the Prometheus and PostgreSQL data sources and the dashboards. Rule groups and dashboards are
# inputs (files by name) from dashboards/: rules/cutover.yaml (recording and alerting rules, the
# rule group namespace "cutover") and the dashboards cutover-overview.json and cutover-group.json,
# generated from dashboards/src (see dashboards/README.md).
data "aws_region" "current" {}

resource "aws_prometheus_workspace" "metrics" {
  alias = var.name_prefix
}

resource "aws_prometheus_rule_group_namespace" "rules" {
  for_each     = var.rule_group_files
  name         = each.key
  workspace_id = aws_prometheus_workspace.metrics.id
  data         = file(each.value)
}

data "aws_iam_policy_document" "assume_grafana" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["grafana.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "grafana" {
  name               = "${var.name_prefix}-grafana"
  assume_role_policy = data.aws_iam_policy_document.assume_grafana.json
}

data "aws_iam_policy_document" "grafana" {
  statement {
    sid       = "QueryTheWorkspace"
    actions   = ["aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"]
    resources = [aws_prometheus_workspace.metrics.arn]
  }
}

resource "aws_iam_role_policy" "grafana" {
  name   = "query-prometheus"
  role   = aws_iam_role.grafana.id
  policy = data.aws_iam_policy_document.grafana.json
}

resource "aws_security_group" "grafana" {
  name        = "${var.name_prefix}-grafana"
  description = "Amazon Managed Grafana in the VPC, to reach PostgreSQL"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "grafana_to_postgres" {
  security_group_id = aws_security_group.grafana.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = var.postgres.port
  to_port           = var.postgres.port
}

resource "aws_vpc_security_group_egress_rule" "grafana_https" {
  security_group_id = aws_security_group.grafana.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_grafana_workspace" "dashboards" {
  name                     = var.name_prefix
  account_access_type      = "CURRENT_ACCOUNT"
  authentication_providers = var.grafana_authentication_providers
  permission_type          = "SERVICE_MANAGED"
  data_sources             = ["PROMETHEUS"]
  role_arn                 = aws_iam_role.grafana.arn

  vpc_configuration {
    subnet_ids         = var.grafana_subnet_ids
    security_group_ids = [aws_security_group.grafana.id]
  }
}

# Terraform's Grafana provider signs in with this service account's token (see the environments).
resource "aws_grafana_workspace_service_account" "terraform" {
  name         = "terraform"
  grafana_role = "ADMIN"
  workspace_id = aws_grafana_workspace.dashboards.id
}

resource "aws_grafana_workspace_service_account_token" "terraform" {
  name               = "terraform"
  service_account_id = aws_grafana_workspace_service_account.terraform.service_account_id
  seconds_to_live    = var.api_key_seconds
  workspace_id       = aws_grafana_workspace.dashboards.id
}

resource "grafana_data_source" "prometheus" {
  type       = "prometheus"
  name       = "Amazon Managed Prometheus"
  url        = aws_prometheus_workspace.metrics.prometheus_endpoint
  is_default = true
  json_data_encoded = jsonencode({
    httpMethod    = "POST"
    sigV4Auth     = true
    sigV4AuthType = "ec2_iam_role"
    sigV4Region   = data.aws_region.current.region
  })
}

data "aws_secretsmanager_secret_version" "postgres" {
  secret_id = var.postgres.secret_arn
}

resource "grafana_data_source" "postgres" {
  type          = "grafana-postgresql-datasource"
  name          = "Pet store PostgreSQL"
  url           = "${var.postgres.host}:${var.postgres.port}"
  database_name = var.postgres.database
  username      = jsondecode(data.aws_secretsmanager_secret_version.postgres.secret_string).username
  json_data_encoded = jsonencode({
    sslmode = "require"
  })
  secure_json_data_encoded = jsonencode({
    password = jsondecode(data.aws_secretsmanager_secret_version.postgres.secret_string).password
  })
}

resource "grafana_folder" "cutover" {
  title = "Cutover"
}

resource "grafana_dashboard" "dashboards" {
  for_each    = var.dashboard_files
  config_json = file(each.value)
  folder      = grafana_folder.cutover.id
}
