terraform {
  required_version = ">= 1.11"
  required_providers {
    aws     = { source = "hashicorp/aws", version = "~> 6.0" }
    grafana = { source = "grafana/grafana", version = "~> 3.0" }
  }
}
