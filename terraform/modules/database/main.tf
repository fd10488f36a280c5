# The pet store's PostgreSQL: the services' data and the proxy's diff store. Private subnets, not
# publicly accessible, encrypted at rest, automated backups, the master password generated and
# kept by RDS in Secrets Manager. The Lambdas connect through RDS Proxy, which pools their
# connections; the proxy tasks connect to the instance.
resource "aws_db_subnet_group" "database" {
  name       = var.name_prefix
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "database" {
  name        = "${var.name_prefix}-database"
  description = "PostgreSQL, from its clients and RDS Proxy only"
  vpc_id      = var.vpc_id
}

resource "aws_security_group" "rds_proxy" {
  name        = "${var.name_prefix}-rds-proxy"
  description = "RDS Proxy, from the database's clients only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_clients" {
  for_each                     = var.client_security_group_ids
  security_group_id            = aws_security_group.database.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL from ${each.key}"
}

resource "aws_vpc_security_group_ingress_rule" "database_from_rds_proxy" {
  security_group_id            = aws_security_group.database.id
  referenced_security_group_id = aws_security_group.rds_proxy.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL from RDS Proxy"
}

resource "aws_vpc_security_group_ingress_rule" "rds_proxy_from_clients" {
  for_each                     = var.client_security_group_ids
  security_group_id            = aws_security_group.rds_proxy.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL through RDS Proxy from ${each.key}"
}

resource "aws_vpc_security_group_egress_rule" "rds_proxy_to_database" {
  security_group_id            = aws_security_group.rds_proxy.id
  referenced_security_group_id = aws_security_group.database.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_instance" "database" {
  identifier                  = var.name_prefix
  engine                      = "postgres"
  engine_version              = var.engine_version
  instance_class              = var.instance_class
  allocated_storage           = var.allocated_storage
  max_allocated_storage       = 4 * var.allocated_storage
  storage_encrypted           = true
  db_name                     = var.database_name
  username                    = var.master_username
  manage_master_user_password = true
  db_subnet_group_name        = aws_db_subnet_group.database.name
  vpc_security_group_ids      = [aws_security_group.database.id]
  publicly_accessible         = false
  multi_az                    = var.multi_az
  backup_retention_period     = var.backup_retention_days
  copy_tags_to_snapshot       = true
  deletion_protection         = var.deletion_protection
  skip_final_snapshot         = false
  final_snapshot_identifier   = "${var.name_prefix}-final"
}

data "aws_iam_policy_document" "rds_proxy_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "rds_proxy" {
  statement {
    sid       = "ReadTheMasterSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_db_instance.database.master_user_secret[0].secret_arn]
  }
  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [aws_db_instance.database.master_user_secret[0].kms_key_id]
  }
}

resource "aws_iam_role" "rds_proxy" {
  name               = "${var.name_prefix}-rds-proxy"
  assume_role_policy = data.aws_iam_policy_document.rds_proxy_assume.json
}

resource "aws_iam_role_policy" "rds_proxy" {
  name   = "master-secret"
  role   = aws_iam_role.rds_proxy.id
  policy = data.aws_iam_policy_document.rds_proxy.json
}

resource "aws_db_proxy" "functions" {
  name                   = "${var.name_prefix}-functions"
  engine_family          = "POSTGRESQL"
  role_arn               = aws_iam_role.rds_proxy.arn
  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = [aws_security_group.rds_proxy.id]
  require_tls            = true

  auth {
    auth_scheme = "SECRETS"
    iam_auth    = "DISABLED"
    secret_arn  = aws_db_instance.database.master_user_secret[0].secret_arn
  }
}

resource "aws_db_proxy_default_target_group" "functions" {
  db_proxy_name = aws_db_proxy.functions.name

  connection_pool_config {
    max_connections_percent = 80
  }
}

resource "aws_db_proxy_target" "functions" {
  db_proxy_name          = aws_db_proxy.functions.name
  target_group_name      = aws_db_proxy_default_target_group.functions.name
  db_instance_identifier = aws_db_instance.database.identifier
}

# Connection strings built from the master secret, kept in Secrets Manager: the functions' (through
# RDS Proxy) and the proxy's diff store (the instance). They pass through Terraform's state, which
# the S3 backend keeps encrypted; after a rotation of the master password, apply again.
data "aws_secretsmanager_secret_version" "master" {
  secret_id = aws_db_instance.database.master_user_secret[0].secret_arn
}

locals {
  master      = jsondecode(data.aws_secretsmanager_secret_version.master.secret_string)
  credentials = "${urlencode(local.master.username)}:${urlencode(local.master.password)}"
}

resource "aws_secretsmanager_secret" "functions_url" {
  name        = "${var.name_prefix}/database-url/functions"
  description = "PostgreSQL URL of the pet-store database through RDS Proxy, for the Lambdas."
}

resource "aws_secretsmanager_secret_version" "functions_url" {
  secret_id     = aws_secretsmanager_secret.functions_url.id
  secret_string = "postgres://${local.credentials}@${aws_db_proxy.functions.endpoint}:5432/${var.database_name}?sslmode=require"
}

resource "aws_secretsmanager_secret" "store_url" {
  name        = "${var.name_prefix}/database-url/store"
  description = "PostgreSQL URL of the pet-store database, for the proxy's diff store."
}

resource "aws_secretsmanager_secret_version" "store_url" {
  secret_id     = aws_secretsmanager_secret.store_url.id
  secret_string = "postgres://${local.credentials}@${aws_db_instance.database.address}:${aws_db_instance.database.port}/${var.database_name}?sslmode=require"
}
