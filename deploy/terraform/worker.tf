# The worker function, its log group and its least-privilege role; its event source mappings, one
# per lane, are in lanes.tf.
resource "aws_cloudwatch_log_group" "worker" {
  #checkov:skip=CKV_AWS_338:operational logs; retention is the log_retention_days variable (30 by default) to bound cost
  name              = "/aws/lambda/${local.names.function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_function" "worker" {
  #checkov:skip=CKV_AWS_116:SQS-triggered: failed records go to the queue's DLQ, a function DLQ would never be used
  #checkov:skip=CKV_AWS_117:talks only to S3, SQS, SNS and KMS public endpoints; a VPC would add NAT cost and nothing else
  #checkov:skip=CKV_AWS_272:the artifact is built and deployed by the same pipeline; code signing is a deployment choice
  function_name                  = local.names.function
  role                           = aws_iam_role.worker.arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  handler                        = "worker.handler.handler"
  runtime                        = "python3.12"
  architectures                  = [var.architecture]
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_s
  reserved_concurrent_executions = var.max_concurrency
  kms_key_arn                    = aws_kms_key.main.arn
  tracing_config {
    mode = "Active"
  }
  environment {
    variables = {
      IMGPIPE_OUTPUT_BUCKET        = module.output_bucket.id
      IMGPIPE_DLQ_URL              = aws_sqs_queue.dlq.id
      IMGPIPE_KMS_KEY_ID           = aws_kms_key.main.arn
      IMGPIPE_VARIANTS             = var.variants_json
      IMGPIPE_MAX_PIXELS           = tostring(var.max_pixels)
      IMGPIPE_MAX_BYTES            = tostring(var.max_bytes)
      IMGPIPE_MAX_FRAMES           = tostring(var.max_frames)
      IMGPIPE_CONCURRENCY          = tostring(var.worker_concurrency)
      IMGPIPE_RESULT_TOPIC_ARN     = var.result_topic_arn
      IMGPIPE_CACHE_CONTROL        = var.cache_control
      IMGPIPE_RECORD_BUDGET_MS     = tostring(var.record_budget_ms)
      IMGPIPE_FUNCTION_TIMEOUT_S   = tostring(var.timeout_s) # checked against the budget at cold start
      IMGPIPE_MEMORY_BUDGET_MB     = ""                      # empty: the function's memory less the worker's own 256 MB
      POWERTOOLS_SERVICE_NAME      = var.name_prefix
      POWERTOOLS_METRICS_NAMESPACE = var.name_prefix
      POWERTOOLS_LOG_LEVEL         = var.log_level
      AWS_RETRY_MODE               = "standard"
      AWS_MAX_ATTEMPTS             = "3"
    }
  }
  depends_on = [aws_cloudwatch_log_group.worker, aws_iam_role_policy.worker]
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "worker" {
  name               = local.names.function
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.worker.arn}:*"]
  }
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${module.input_bucket.arn}/uploads/*"]
  }
  statement {
    # Without ListBucket a missing key answers 403 instead of 404, which would read as a
    # permissions problem (retried) instead of "no manifest yet" or "source deleted".
    sid       = "TellMissingKeysApart"
    actions   = ["s3:ListBucket"]
    resources = [module.input_bucket.arn, module.output_bucket.arn]
  }
  statement {
    sid       = "WriteResults"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${module.output_bucket.arn}/processed/*", "${module.output_bucket.arn}/metadata/*"]
  }
  statement {
    # Variants are render-scoped and never overwritten; a superseded set is deleted once the new
    # manifest commits. Manifests are never deleted, and without DeleteObjectVersion a delete
    # only adds a marker: the bucket's lifecycle expires what it hides.
    sid       = "DeleteSupersededVariants"
    actions   = ["s3:DeleteObject"]
    resources = ["${module.output_bucket.arn}/processed/*"]
  }
  statement {
    sid       = "ConsumeWorkQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.interactive.arn, aws_sqs_queue.bulk.arn] # its lanes (lanes.tf)
  }
  statement {
    sid       = "QuarantineToDlq"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
  statement {
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
  statement {
    sid       = "XRayTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }
  dynamic "statement" {
    for_each = var.result_topic_arn == "" ? [] : [var.result_topic_arn]
    content {
      sid       = "AnnounceResults"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  name   = "worker"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json
}
