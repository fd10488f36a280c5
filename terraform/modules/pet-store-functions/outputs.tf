output "function_names" {
  description = "Lambda name by pet-store function: the `function` of each group in the proxy configuration."
  value       = { for key, fn in aws_lambda_function.function : key => fn.function_name }
}

output "function_arns" {
  value = { for key, fn in aws_lambda_function.function : key => fn.arn }
}

output "fulfillment_queue_url" {
  value = aws_sqs_queue.fulfillment.url
}
