output "queue_url" {
  value = aws_sqs_queue.fulfillment.url
}

output "queue_arn" {
  value = aws_sqs_queue.fulfillment.arn
}

output "dead_letter_queue_url" {
  value = aws_sqs_queue.dead_letters.url
}
