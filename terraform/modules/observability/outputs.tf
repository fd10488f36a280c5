output "prometheus_workspace_arn" {
  value = aws_prometheus_workspace.metrics.arn
}

output "prometheus_remote_write_url" {
  value = "${aws_prometheus_workspace.metrics.prometheus_endpoint}api/v1/remote_write"
}

output "grafana_url" {
  value = "https://${aws_grafana_workspace.dashboards.endpoint}"
}

output "grafana_token" {
  description = "For the Grafana provider of the environment."
  value       = aws_grafana_workspace_service_account_token.terraform.key
  sensitive   = true
}

output "grafana_security_group_id" {
  value = aws_security_group.grafana.id
}
