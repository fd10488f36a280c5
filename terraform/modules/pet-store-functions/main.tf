# The pet-store Lambda functions. The keys of local.functions are the Lambda names in
# new-services/functions.ts (FUNCTION_ENTRIES); test/terraform.test.ts keeps the two in step.
locals {
  functions = {
    catalog = {
      timeout     = 10
      memory_size = 512
      environment = {}
    }
    orders = {
      timeout     = 10
      memory_size = 512
      environment = { FULFILLMENT_QUEUE_URL = aws_sqs_queue.fulfillment.url }
    }
    fulfillment = {
      timeout     = 30
      memory_size = 512
      environment = {}
    }
  }
}

data "archive_file" "function" {
  for_each    = local.functions
  type        = "zip"
  source_file = "${var.build_dir}/${each.key}/index.cjs"
  output_path = "${var.build_dir}/${each.key}.zip"
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${var.name_prefix}-functions"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

resource "aws_iam_role_policy_attachment" "vpc_access" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

data "aws_iam_policy_document" "fulfillment_queue" {
  statement {
    sid       = "OrdersSendToFulfillment"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.fulfillment.arn]
  }
  statement {
    sid       = "FulfillmentEventSourceMapping"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.fulfillment.arn]
  }
}

resource "aws_iam_role_policy" "fulfillment_queue" {
  name   = "fulfillment-queue"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.fulfillment_queue.json
}

resource "aws_cloudwatch_log_group" "function" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "function" {
  for_each         = local.functions
  function_name    = "${var.name_prefix}-${each.key}"
  role             = aws_iam_role.function.arn
  runtime          = "nodejs20.x"
  handler          = "index.handler"
  filename         = data.archive_file.function[each.key].output_path
  source_code_hash = data.archive_file.function[each.key].output_base64sha256
  timeout          = each.value.timeout
  memory_size      = each.value.memory_size

  environment {
    variables = merge({ DATABASE_URL = var.database_url, NODE_OPTIONS = "--enable-source-maps" }, each.value.environment)
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy_attachment.vpc_access]
}

# Orders hand each new order to fulfillment through this queue. The visibility timeout is six
# times the function timeout, as AWS recommends for SQS event sources; a message that fails
# five times goes to the dead-letter queue.
resource "aws_sqs_queue" "fulfillment_dead_letters" {
  name                      = "${var.name_prefix}-fulfillment-dlq"
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "fulfillment" {
  name                       = "${var.name_prefix}-fulfillment"
  visibility_timeout_seconds = 6 * local.functions.fulfillment.timeout
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.fulfillment_dead_letters.arn
    maxReceiveCount     = 5
  })
}

resource "aws_lambda_event_source_mapping" "fulfillment" {
  event_source_arn        = aws_sqs_queue.fulfillment.arn
  function_name           = aws_lambda_function.function["fulfillment"].arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = 5
  }
}
