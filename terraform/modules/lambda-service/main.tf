# One pet-store function: its bundle, a role that may do what this function does and nothing
# more, its log group, a dead-letter queue for asynchronous invokes, and the alias `live` that the
# proxy and the event sources invoke. Rolling back is moving `live` to an earlier version.
locals {
  function_name = "${var.name_prefix}-${var.name}"
}

data "archive_file" "bundle" {
  type        = "zip"
  source_file = var.artifact
  output_path = "${dirname(var.artifact)}.zip"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = local.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

# Network interfaces in the VPC (the AWS-managed policy for exactly that).
resource "aws_iam_role_policy_attachment" "vpc_access" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy_attachment" "tracing" {
  count      = var.tracing ? 1 : 0
  role       = aws_iam_role.function.name
  policy_arn = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

data "aws_iam_policy_document" "own" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
  statement {
    sid       = "OwnDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
  }
}

resource "aws_iam_role_policy" "own" {
  name   = "own-resources"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.own.json
}

resource "aws_iam_role_policy" "extra" {
  count  = var.policy_json == null ? 0 : 1
  name   = "service"
  role   = aws_iam_role.function.id
  policy = var.policy_json
}

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_sqs_queue" "dead_letters" {
  name                      = "${local.function_name}-async-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_lambda_function" "function" {
  function_name                  = local.function_name
  role                           = aws_iam_role.function.arn
  runtime                        = var.runtime
  handler                        = var.handler
  filename                       = data.archive_file.bundle.output_path
  source_code_hash               = data.archive_file.bundle.output_base64sha256
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  publish                        = true
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = merge({ NODE_OPTIONS = "--enable-source-maps" }, var.environment)
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letters.arn
  }

  tracing_config {
    mode = var.tracing ? "Active" : "PassThrough"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function.name
  }

  depends_on = [aws_iam_role_policy.own, aws_iam_role_policy_attachment.vpc_access]
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "What the proxy and the event sources invoke; move it to roll back."
  function_name    = aws_lambda_function.function.function_name
  function_version = coalesce(var.live_version, aws_lambda_function.function.version)
}

resource "aws_lambda_provisioned_concurrency_config" "live" {
  count                             = var.provisioned_concurrency > 0 ? 1 : 0
  function_name                     = aws_lambda_function.function.function_name
  qualifier                         = aws_lambda_alias.live.name
  provisioned_concurrent_executions = var.provisioned_concurrency
}
