# A development deployment: `make package`, then `terraform init && terraform apply` here.
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60"
    }
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project     = "imgpipe"
      environment = "dev"
    }
  }
}

module "imgpipe" {
  source       = "../.."
  name_prefix  = "imgpipe-dev"
  package_path = "${path.module}/../../../../dist/imgpipe-lambda-arm64.zip"
  architecture = "arm64"
  # Development only: lets `aws cognito-idp initiate-auth --auth-flow USER_PASSWORD_AUTH` sign in
  # from a terminal; production clients use SRP or the hosted UI, which never send the password.
  api_password_auth = true
}

output "imgpipe" {
  description = "Names to export for the imgpipe CLI."
  value = {
    IMGPIPE_INPUT_BUCKET  = module.imgpipe.input_bucket
    IMGPIPE_OUTPUT_BUCKET = module.imgpipe.output_bucket
    IMGPIPE_QUEUE_URL     = module.imgpipe.queue_url
    IMGPIPE_DLQ_URL       = module.imgpipe.dlq_url
    IMGPIPE_KMS_KEY_ID    = module.imgpipe.kms_key_arn
    IMGPIPE_API_URL       = module.imgpipe.api_url

    # the lanes (docs/fairness.md), for `imgpipe status` and the router's DLQ
    IMGPIPE_INTERACTIVE_QUEUE_URL = module.imgpipe.interactive_queue_url
    IMGPIPE_BULK_QUEUE_URL        = module.imgpipe.bulk_queue_url
    IMGPIPE_ROUTER_DLQ_URL        = module.imgpipe.router_dlq_url
  }
}

output "api" {
  description = "Where the client API is and whose tokens it takes."
  value = {
    url                 = module.imgpipe.api_url
    issuer              = module.imgpipe.issuer
    user_pool_id        = module.imgpipe.user_pool_id
    user_pool_client_id = module.imgpipe.user_pool_client_id
  }
}

output "sweep_function_name" {
  description = "The scheduled sweep Lambda; `aws lambda invoke --function-name` it to sweep now."
  value       = module.imgpipe.sweep_function_name
}
