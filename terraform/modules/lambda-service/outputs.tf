output "function_name" {
  value = aws_lambda_function.function.function_name
}

output "alias_arn" {
  description = "The `live` alias: what the proxy invokes (a group's `function`) and event sources call."
  value       = aws_lambda_alias.live.arn
}

output "live_version" {
  value = aws_lambda_alias.live.function_version
}

output "published_version" {
  value = aws_lambda_function.function.version
}

output "role_name" {
  value = aws_iam_role.function.name
}

output "timeout" {
  value = var.timeout
}

output "dead_letter_queue_url" {
  value = aws_sqs_queue.dead_letters.url
}
