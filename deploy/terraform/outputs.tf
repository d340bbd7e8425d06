output "input_bucket" {
  description = "Where clients upload (uploads/{userId}/{imageId}.{ext}); IMGPIPE_INPUT_BUCKET for the CLI."
  value       = module.input_bucket.id
}

output "output_bucket" {
  description = "Variants and manifests; IMGPIPE_OUTPUT_BUCKET for the CLI."
  value       = module.output_bucket.id
}

output "queue_url" {
  description = "The work queue; IMGPIPE_QUEUE_URL for the CLI."
  value       = aws_sqs_queue.work.id
}

output "dlq_url" {
  description = "The dead-letter queue; IMGPIPE_DLQ_URL for the CLI."
  value       = aws_sqs_queue.dlq.id
}

output "topic_arn" {
  description = "Upload notifications; subscribe other consumers here."
  value       = aws_sns_topic.uploads.arn
}

output "kms_key_arn" {
  description = "The data key; IMGPIPE_KMS_KEY_ID for pre-signed uploads."
  value       = aws_kms_key.main.arn
}

output "function_name" {
  description = "The worker Lambda."
  value       = aws_lambda_function.worker.function_name
}

output "sweep_function_name" {
  description = "The scheduled sweep Lambda (worker.sweep.handler); invoke it to sweep now."
  value       = aws_lambda_function.sweep.function_name
}

output "api_url" {
  description = "The client API's base URL (IMGPIPE_API_URL); routes are under /v1."
  value       = aws_apigatewayv2_api.client.api_endpoint
}

output "api_function_name" {
  description = "The client API Lambda (worker.api.handler.handler)."
  value       = aws_lambda_function.api.function_name
}

output "user_pool_id" {
  description = "The Cognito user pool the API's users sign in to; null with api_oidc_issuer."
  value       = one(aws_cognito_user_pool.users[*].id)
}

output "user_pool_client_id" {
  description = "The app client (no secret) apps sign in with; the tokens' audience. Null with api_oidc_issuer."
  value       = one(aws_cognito_user_pool_client.app[*].id)
}

output "issuer" {
  description = "The issuer (iss) of the tokens the API accepts."
  value       = local.api_issuer
}

output "hosted_ui_url" {
  description = "The Cognito hosted UI's base URL (authorize, token, logout); null with api_oidc_issuer."
  value       = local.hosted_ui ? "https://${aws_cognito_user_pool_domain.hosted_ui[0].domain}.auth.${local.region}.amazoncognito.com" : null
}
