# Orders hand each new order to fulfillment through this queue. The visibility timeout is six
# times the function timeout, as AWS recommends for SQS event sources; a message received
# max_receive_count times goes to the dead-letter queue, and an alarm says so.
resource "aws_sqs_queue" "dead_letters" {
  name                      = "${var.name_prefix}-fulfillment-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "fulfillment" {
  name                       = "${var.name_prefix}-fulfillment"
  visibility_timeout_seconds = 6 * var.consumer.timeout
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_lambda_event_source_mapping" "fulfillment" {
  event_source_arn        = aws_sqs_queue.fulfillment.arn
  function_name           = var.consumer.alias_arn
  batch_size              = var.batch_size
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  depends_on = [aws_iam_role_policy.consumer]
}

data "aws_iam_policy_document" "consumer" {
  statement {
    sid       = "FulfillmentEventSourceMapping"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.fulfillment.arn]
  }
}

resource "aws_iam_role_policy" "consumer" {
  name   = "fulfillment-queue-consume"
  role   = var.consumer.role_name
  policy = data.aws_iam_policy_document.consumer.json
}

data "aws_iam_policy_document" "producer" {
  statement {
    sid       = "SendToFulfillment"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.fulfillment.arn]
  }
}

resource "aws_iam_role_policy" "producer" {
  for_each = var.producer_role_names
  name     = "fulfillment-queue-send"
  role     = each.value
  policy   = data.aws_iam_policy_document.producer.json
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name_prefix}-fulfillment-dead-letters"
  alarm_description   = "Orders that fulfillment failed ${var.max_receive_count} times wait in the dead-letter queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letters.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  alarm_name          = "${var.name_prefix}-fulfillment-oldest-message"
  alarm_description   = "Fulfillment is falling behind: a message has waited over ${var.oldest_message_alarm_seconds} s."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.fulfillment.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.oldest_message_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
