# The proxy on ECS Fargate behind an Application Load Balancer. The tasks take their whole
# configuration from this module: the non-secret part as CUTOVER_CONFIG_JSON, the secrets from
# Secrets Manager or SSM Parameter Store through the task definition's `secrets`, never as plain
# environment values. The image (the repository's Dockerfile) holds the built proxy; the start
# command writes the configuration file and execs node on the built entry point, which never builds.
data "aws_region" "current" {}

data "aws_vpc" "selected" {
  id = var.vpc_id
}

locals {
  traffic_port = 8080
  admin_port   = 9901

  # Each group invokes its function's `live` alias, so rolling a function back is moving the alias.
  groups = { for name, group in var.groups : name => merge(group, { function = var.function_alias_arns[group.function] }) }

  # Every setting the proxy needs in production; flags.sdkKey is added at start from its secret.
  config = {
    traffic = { host = "0.0.0.0", port = local.traffic_port, trustForwarded = true, drainMs = var.drain_ms }
    admin   = { host = "0.0.0.0", port = local.admin_port, allowedHosts = [var.public_host] }
    legacy  = { url = var.legacy_url, keepAliveMs = var.legacy_keep_alive_ms }
    lambda  = { region = var.lambda_region }
    routing = var.routing
    log     = { level = var.log_level }
    flags   = { pollIntervalMs = var.flags_poll_interval_ms, webhookSecretEnv = "CUTOVER_OPTIMIZELY_WEBHOOK_SECRET" }
    caller  = var.caller
    groups  = local.groups
  }

  secrets = [
    { name = "CUTOVER_FLAGS_SDK_KEY", valueFrom = var.sdk_key_secret_arn },
    { name = "CUTOVER_ADMIN_TOKEN", valueFrom = var.admin_token_secret_arn },
    { name = "CUTOVER_STORE_URL", valueFrom = var.store_url_secret_arn },
    { name = "CUTOVER_OPTIMIZELY_WEBHOOK_SECRET", valueFrom = var.webhook_secret_arn },
  ]

  start_command = <<-EOT
    node -e 'const fs = require("fs"); const config = JSON.parse(process.env.CUTOVER_CONFIG_JSON); config.flags.sdkKey = process.env.CUTOVER_FLAGS_SDK_KEY; fs.writeFileSync("/tmp/cutover.json", JSON.stringify(config), { mode: 0o600 })' && exec node dist/proxy/cli.js start --config /tmp/cutover.json
  EOT

  secret_arns          = [for secret in local.secrets : secret.valueFrom]
  secrets_manager_arns = [for arn in local.secret_arns : arn if strcontains(arn, ":secretsmanager:")]
  ssm_parameter_arns   = [for arn in local.secret_arns : arn if strcontains(arn, ":ssm:")]

  proxy_container = {
    name         = "cutover"
    image        = var.image
    essential    = true
    command      = ["sh", "-c", local.start_command]
    portMappings = [{ containerPort = local.traffic_port, protocol = "tcp" }, { containerPort = local.admin_port, protocol = "tcp" }]
    environment  = [{ name = "CUTOVER_CONFIG_JSON", value = jsonencode(local.config) }]
    secrets      = local.secrets
    stopTimeout  = 30
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.proxy.name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = "cutover"
      }
    }
  }

  # The AWS Distro for OpenTelemetry collector scrapes the proxy's /metrics next door and writes
  # them to Amazon Managed Prometheus, each series labelled with its task.
  collector_config = var.metrics == null ? null : yamlencode({
    extensions = { sigv4auth = { region = data.aws_region.current.region, service = "aps" } }
    receivers = {
      prometheus = {
        config = {
          scrape_configs = [{ job_name = "cutover", scrape_interval = "15s", metrics_path = "/metrics", static_configs = [{ targets = ["localhost:${local.admin_port}"] }] }]
        }
      }
    }
    processors = { resourcedetection = { detectors = ["env", "ecs"] } }
    exporters = {
      prometheusremotewrite = {
        endpoint                         = var.metrics.remote_write_url
        auth                             = { authenticator = "sigv4auth" }
        resource_to_telemetry_conversion = { enabled = true }
      }
    }
    service = {
      extensions = ["sigv4auth"]
      pipelines  = { metrics = { receivers = ["prometheus"], processors = ["resourcedetection"], exporters = ["prometheusremotewrite"] } }
    }
  })

  collector_container = var.metrics == null ? [] : [{
    name        = "collector"
    image       = var.collector_image
    essential   = false
    environment = [{ name = "AOT_CONFIG_CONTENT", value = local.collector_config }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.proxy.name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = "collector"
      }
    }
  }]
}

resource "aws_cloudwatch_log_group" "proxy" {
  name              = "/ecs/${var.name_prefix}/cutover"
  retention_in_days = var.log_retention_days
}

# Roles: the execution role pulls the image and reads the four secrets; the task role may invoke
# the functions' live aliases and nothing else (plus writing metrics when the collector runs).
data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-proxy-execution"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "secrets" {
  dynamic "statement" {
    for_each = length(local.secrets_manager_arns) > 0 ? [local.secrets_manager_arns] : []
    content {
      sid       = "ReadTheProxySecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }
  dynamic "statement" {
    for_each = length(local.ssm_parameter_arns) > 0 ? [local.ssm_parameter_arns] : []
    content {
      sid       = "ReadTheProxyParameters"
      actions   = ["ssm:GetParameters"]
      resources = statement.value
    }
  }
}

resource "aws_iam_role_policy" "secrets" {
  name   = "proxy-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.secrets.json
}

resource "aws_iam_role" "task" {
  name               = "${var.name_prefix}-proxy-task"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

data "aws_iam_policy_document" "invoke" {
  statement {
    sid       = "InvokeTheLiveAliases"
    actions   = ["lambda:InvokeFunction"]
    resources = values(var.function_alias_arns)
  }
}

resource "aws_iam_role_policy" "invoke" {
  name   = "invoke-live-aliases"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.invoke.json
}

data "aws_iam_policy_document" "remote_write" {
  count = var.metrics == null ? 0 : 1
  statement {
    sid       = "CollectorRemoteWrite"
    actions   = ["aps:RemoteWrite"]
    resources = [var.metrics.workspace_arn]
  }
}

resource "aws_iam_role_policy" "remote_write" {
  count  = var.metrics == null ? 0 : 1
  name   = "metrics-remote-write"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.remote_write[0].json
}

# Network: from the internet only the ALB's 443 (and 80, which redirects); the tasks take traffic
# from the ALB, and their admin port from inside the VPC.
resource "aws_security_group" "alb" {
  name        = "${var.name_prefix}-proxy-alb"
  description = "The proxy's load balancer"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS from anywhere"
}

resource "aws_vpc_security_group_ingress_rule" "alb_http_redirect" {
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  description       = "HTTP, answered with a redirect to HTTPS"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_traffic" {
  security_group_id            = aws_security_group.alb.id
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = local.traffic_port
  to_port                      = local.traffic_port
}

resource "aws_vpc_security_group_egress_rule" "alb_to_health_check" {
  security_group_id            = aws_security_group.alb.id
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = local.admin_port
  to_port                      = local.admin_port
}

resource "aws_security_group" "tasks" {
  name        = "${var.name_prefix}-proxy-tasks"
  description = "The proxy tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_traffic" {
  security_group_id            = aws_security_group.tasks.id
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = local.traffic_port
  to_port                      = local.traffic_port
  description                  = "Traffic from the load balancer"
}

resource "aws_vpc_security_group_ingress_rule" "tasks_health_check" {
  security_group_id            = aws_security_group.tasks.id
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = local.admin_port
  to_port                      = local.admin_port
  description                  = "Health checks on /healthz from the load balancer"
}

resource "aws_vpc_security_group_ingress_rule" "tasks_admin" {
  security_group_id = aws_security_group.tasks.id
  cidr_ipv4         = data.aws_vpc.selected.cidr_block
  ip_protocol       = "tcp"
  from_port         = local.admin_port
  to_port           = local.admin_port
  description       = "Admin API and metrics from inside the VPC only"
}

resource "aws_vpc_security_group_egress_rule" "tasks_out" {
  security_group_id = aws_security_group.tasks.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
  description       = "Legacy, Lambda, Optimizely's CDN, the database"
}

resource "aws_lb" "proxy" {
  name                       = "${var.name_prefix}-proxy"
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  idle_timeout               = var.alb_idle_timeout
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
}

resource "aws_lb_target_group" "proxy" {
  name                 = "${var.name_prefix}-proxy"
  port                 = local.traffic_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/healthz"
    port                = tostring(local.admin_port)
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.proxy.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.proxy.arn
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.proxy.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

# Optimizely's webhook, from the internet: the one path of the admin port the ALB forwards, and
# only POST on the public name. The proxy checks its signature; the rest of the admin port stays
# reachable from inside the VPC only.
resource "aws_lb_target_group" "webhook" {
  name                 = "${var.name_prefix}-webhook"
  port                 = local.admin_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  # On the port it forwards to, the admin port.
  health_check {
    path    = "/healthz"
    matcher = "200"
  }
}

resource "aws_lb_listener_rule" "webhook" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.webhook.arn
  }

  condition {
    path_pattern {
      values = ["/webhooks/optimizely"]
    }
  }

  condition {
    http_request_method {
      values = ["POST"]
    }
  }

  condition {
    host_header {
      values = [var.public_host]
    }
  }
}

resource "aws_ecs_cluster" "proxy" {
  name = "${var.name_prefix}-proxy"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "proxy" {
  family                   = "${var.name_prefix}-proxy"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(concat([local.proxy_container], local.collector_container))

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
}

resource "aws_ecs_service" "proxy" {
  name                              = "${var.name_prefix}-proxy"
  cluster                           = aws_ecs_cluster.proxy.id
  task_definition                   = aws_ecs_task_definition.proxy.arn
  desired_count                     = var.min_tasks
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 30

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.proxy.arn
    container_name   = local.proxy_container.name
    container_port   = local.traffic_port
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.webhook.arn
    container_name   = local.proxy_container.name
    container_port   = local.admin_port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https, aws_lb_listener_rule.webhook]
}

resource "aws_appautoscaling_target" "proxy" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.proxy.name}/${aws_ecs_service.proxy.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name_prefix}-proxy-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.proxy.service_namespace
  resource_id        = aws_appautoscaling_target.proxy.resource_id
  scalable_dimension = aws_appautoscaling_target.proxy.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.cpu_target_percent

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${var.name_prefix}-proxy-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.proxy.service_namespace
  resource_id        = aws_appautoscaling_target.proxy.resource_id
  scalable_dimension = aws_appautoscaling_target.proxy.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.requests_per_target

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.proxy.arn_suffix}/${aws_lb_target_group.proxy.arn_suffix}"
    }
  }
}
