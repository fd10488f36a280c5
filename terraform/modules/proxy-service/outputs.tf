output "url" {
  description = "Where clients reach the proxy (point the store's DNS name at it)."
  value       = "https://${aws_lb.proxy.dns_name}"
}

output "load_balancer_dns_name" {
  value = aws_lb.proxy.dns_name
}

output "load_balancer_zone_id" {
  value = aws_lb.proxy.zone_id
}

output "tasks_security_group_id" {
  value = aws_security_group.tasks.id
}

output "cluster_name" {
  value = aws_ecs_cluster.proxy.name
}

output "service_name" {
  value = aws_ecs_service.proxy.name
}
