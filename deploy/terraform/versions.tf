terraform {
  # 1.9+: variable validations may refer to other variables (the visibility timeout rule).
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  names = {
    input    = "${var.name_prefix}-input-${local.account_id}"
    output   = "${var.name_prefix}-output-${local.account_id}"
    logs     = "${var.name_prefix}-logs-${local.account_id}"
    topic    = "${var.name_prefix}-uploads"
    queue    = "${var.name_prefix}-work"
    dlq      = "${var.name_prefix}-dlq"
    function = "${var.name_prefix}-worker"
    sweep    = "${var.name_prefix}-sweep"
    api      = "${var.name_prefix}-api"
    trail    = "${var.name_prefix}-storage"
  }
}
