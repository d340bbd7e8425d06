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
