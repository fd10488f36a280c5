output "proxy_url" {
  value = module.proxy.url
}

output "load_balancer" {
  description = "DNS name and zone of the ALB, for the store's alias record."
  value       = { dns_name = module.proxy.load_balancer_dns_name, zone_id = module.proxy.load_balancer_zone_id }
}

output "grafana_url" {
  value = module.observability.grafana_url
}

output "grafana_token" {
  value     = module.observability.grafana_token
  sensitive = true
}

output "function_alias_arns" {
  description = "The live alias of each function: what the proxy invokes."
  value = {
    catalog     = module.catalog.alias_arn
    orders      = module.orders.alias_arn
    fulfillment = module.fulfillment.alias_arn
  }
}

output "function_live_versions" {
  value = {
    catalog     = module.catalog.live_version
    orders      = module.orders.live_version
    fulfillment = module.fulfillment.live_version
  }
}

output "queue_urls" {
  value = {
    fulfillment             = module.fulfillment_queue.queue_url
    fulfillment_dead_letter = module.fulfillment_queue.dead_letter_queue_url
  }
}

output "proxy_service" {
  description = "The ECS cluster and service, for `aws ecs update-service --force-new-deployment`."
  value       = { cluster = module.proxy.cluster_name, service = module.proxy.service_name }
}
