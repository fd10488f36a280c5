output "address" {
  value = aws_db_instance.database.address
}

output "port" {
  value = aws_db_instance.database.port
}

output "database_name" {
  value = var.database_name
}

output "rds_proxy_endpoint" {
  value = aws_db_proxy.functions.endpoint
}

output "master_secret_arn" {
  value = aws_db_instance.database.master_user_secret[0].secret_arn
}

output "functions_url_secret_arn" {
  value = aws_secretsmanager_secret.functions_url.arn
}

output "functions_url" {
  description = "The functions' DATABASE_URL (through RDS Proxy)."
  value       = aws_secretsmanager_secret_version.functions_url.secret_string
  sensitive   = true
}

output "store_url_secret_arn" {
  description = "The proxy's store URL, for the task definition's secrets."
  value       = aws_secretsmanager_secret.store_url.arn
}
