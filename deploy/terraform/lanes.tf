# Lanes (issue 23, docs/fairness.md): one tenant's bulk upload must not stall everyone else's photos.
# The work queue (messaging.tf) feeds the router (worker.router.handler.handler, from the worker's
# artifact, without the image engine), which sends each upload's event unchanged to the interactive
# or the bulk queue: bulk when the client API's batch call marked the upload, or when its tenant
# sends more than router_bulk_per_minute unmarked uploads a minute. Each lane has its own event
# source mapping on the worker; the bulk one is capped so the interactive one always has room in the
# worker's reserved concurrency. Each message carries its tenant as MessageGroupId, which makes the
# standard queues SQS fair queues: inside a lane, a tenant with a backlog does not delay the others.

variable "interactive_max_concurrency" {
  description = "The interactive lane's MaximumConcurrency: worker invocations always left for single uploads."
  type        = number
  default     = 5
  validation {
    condition     = var.interactive_max_concurrency >= 2 && var.interactive_max_concurrency <= 1000
    error_message = "interactive_max_concurrency must be between 2 and 1000 (Lambda's least is 2)."
  }
}

variable "bulk_max_concurrency" {
  description = "The bulk lane's MaximumConcurrency; with the interactive lane's, at most max_concurrency."
  type        = number
  default     = 15
  validation {
    condition     = var.bulk_max_concurrency >= 2 && var.bulk_max_concurrency <= 1000
    error_message = "bulk_max_concurrency must be between 2 and 1000 (Lambda's least is 2)."
  }
  # The worker's reserved concurrency (max_concurrency) must hold both lanes at once, or a bulk
  # backlog could take the slots the interactive lane counts on (and Lambda would throttle).
  validation {
    condition     = var.bulk_max_concurrency + var.interactive_max_concurrency <= var.max_concurrency
    error_message = "bulk_max_concurrency + interactive_max_concurrency must be at most max_concurrency (the worker's reserved concurrency), so the interactive lane always has room."
  }
}

variable "interactive_batch_size" {
  description = "Records per invocation on the interactive lane (no batching window: a photo is not held back)."
  type        = number
  default     = 4
  validation {
    condition     = var.interactive_batch_size >= 1 && var.interactive_batch_size <= 10
    error_message = "interactive_batch_size must be between 1 and 10 (the lane has no batching window)."
  }
}

variable "router_timeout_s" {
  description = "The router's function timeout; the work queue's visibility timeout is 6x this."
  type        = number
  default     = 30
  validation {
    condition     = var.router_timeout_s >= 5 && var.router_timeout_s <= 300
    error_message = "router_timeout_s must be between 5 and 300."
  }
}

variable "router_max_concurrency" {
  description = "The router's MaximumConcurrency and reserved concurrency (its tenant rates are kept per instance)."
  type        = number
  default     = 5
  validation {
    condition     = var.router_max_concurrency >= 2 && var.router_max_concurrency <= 1000
    error_message = "router_max_concurrency must be between 2 and 1000 (Lambda's least is 2)."
  }
}

variable "router_memory_mb" {
  description = "The router's memory (it makes a HEAD and a send per upload)."
  type        = number
  default     = 256
}

variable "router_bulk_per_minute" {
  description = "IMGPIPE_ROUTER_BULK_PER_MINUTE: unmarked uploads a tenant may send a minute before they go bulk (0: off)."
  type        = number
  default     = 30
  validation {
    condition     = var.router_bulk_per_minute >= 0
    error_message = "router_bulk_per_minute must be 0 (off) or more."
  }
}

variable "router_fair_queues" {
  description = "IMGPIPE_ROUTER_FAIR_QUEUES: send with MessageGroupId = tenant, so each lane is an SQS fair queue."
  type        = bool
  default     = true
}

variable "interactive_oldest_message_alarm_s" {
  description = "Alarm when an interactive upload has waited this long: single photos should never queue."
  type        = number
  default     = 60
}

variable "bulk_oldest_message_alarm_s" {
  description = "Alarm when a bulk upload has waited this long: the bulk lane is allowed a backlog, not a stall."
  type        = number
  default     = 3600
}

locals {
  lane_names = {
    interactive = "${var.name_prefix}-work-interactive"
    bulk        = "${var.name_prefix}-work-bulk"
    router_dlq  = "${var.name_prefix}-router-dlq"
    router      = "${var.name_prefix}-router"
  }
  # The work queue is the router's: its visibility timeout is made for the router's timeout.
  work_queue_visibility_s = 6 * var.router_timeout_s
}

resource "aws_sqs_queue" "interactive" {
  name                       = local.lane_names.interactive
  kms_master_key_id          = aws_kms_key.main.arn
  visibility_timeout_seconds = var.queue_visibility_timeout_s
  message_retention_seconds  = 345600 # 4 days, as the work queue
  receive_wait_time_seconds  = 20
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue" "bulk" {
  name                       = local.lane_names.bulk
  kms_master_key_id          = aws_kms_key.main.arn
  visibility_timeout_seconds = var.queue_visibility_timeout_s
  message_retention_seconds  = 345600 # 4 days, as the work queue
  receive_wait_time_seconds  = 20
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# What the router could not route (its last attempt, with the reason; or moved by SQS).
resource "aws_sqs_queue" "router_dlq" {
  name                      = local.lane_names.router_dlq
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 1209600 # 14 days: longer than the work queue, so nothing expires unseen
}

resource "aws_sqs_queue_redrive_allow_policy" "router_dlq" {
  queue_url = aws_sqs_queue.router_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.work.arn]
  })
}

resource "aws_cloudwatch_log_group" "router" {
  #checkov:skip=CKV_AWS_338:operational logs; retention is the log_retention_days variable (30 by default) to bound cost
  name              = "/aws/lambda/${local.lane_names.router}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_function" "router" {
  #checkov:skip=CKV_AWS_116:SQS-triggered: records it cannot route go to the router's DLQ, a function DLQ would never be used
  #checkov:skip=CKV_AWS_117:talks only to S3, SQS and KMS public endpoints; a VPC would add NAT cost and nothing else
  #checkov:skip=CKV_AWS_272:the artifact is built and deployed by the same pipeline; code signing is a deployment choice
  function_name                  = local.lane_names.router
  role                           = aws_iam_role.router.arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  handler                        = "worker.router.handler.handler"
  runtime                        = "python3.12"
  architectures                  = [var.architecture]
  memory_size                    = var.router_memory_mb
  timeout                        = var.router_timeout_s
  reserved_concurrent_executions = var.router_max_concurrency
  kms_key_arn                    = aws_kms_key.main.arn
  tracing_config {
    mode = "Active"
  }
  environment {
    variables = {
      IMGPIPE_QUEUE_URL              = aws_sqs_queue.work.id
      IMGPIPE_INTERACTIVE_QUEUE_URL  = aws_sqs_queue.interactive.id
      IMGPIPE_BULK_QUEUE_URL         = aws_sqs_queue.bulk.id
      IMGPIPE_ROUTER_DLQ_URL         = aws_sqs_queue.router_dlq.id
      IMGPIPE_MAX_RECEIVE_COUNT      = tostring(var.max_receive_count)
      IMGPIPE_ROUTER_BULK_PER_MINUTE = tostring(var.router_bulk_per_minute)
      IMGPIPE_ROUTER_READ_LANE       = "true"
      IMGPIPE_ROUTER_FAIR_QUEUES     = tostring(var.router_fair_queues)
      IMGPIPE_ROUTER_RETRY_S         = "10"
      POWERTOOLS_SERVICE_NAME        = "${var.name_prefix}-router"
      POWERTOOLS_METRICS_NAMESPACE   = var.name_prefix
      POWERTOOLS_LOG_LEVEL           = var.log_level
      AWS_RETRY_MODE                 = "standard"
      AWS_MAX_ATTEMPTS               = "3"
    }
  }
  depends_on = [aws_cloudwatch_log_group.router, aws_iam_role_policy.router]
}

# The work queue's mapping, once the worker's, now the router's (same address: an upgrade updates
# it in place, so nothing queued is lost). No batching window: an interactive photo is not held.
resource "aws_lambda_event_source_mapping" "work" {
  event_source_arn                   = aws_sqs_queue.work.arn
  function_name                      = aws_lambda_function.router.arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 0
  function_response_types            = ["ReportBatchItemFailures"]
  scaling_config {
    maximum_concurrency = var.router_max_concurrency
  }
}

resource "aws_lambda_event_source_mapping" "interactive" {
  event_source_arn                   = aws_sqs_queue.interactive.arn
  function_name                      = aws_lambda_function.worker.arn
  batch_size                         = var.interactive_batch_size
  maximum_batching_window_in_seconds = 0
  function_response_types            = ["ReportBatchItemFailures"]
  scaling_config {
    maximum_concurrency = var.interactive_max_concurrency
  }
}

resource "aws_lambda_event_source_mapping" "bulk" {
  event_source_arn                   = aws_sqs_queue.bulk.arn
  function_name                      = aws_lambda_function.worker.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_s
  function_response_types            = ["ReportBatchItemFailures"]
  scaling_config {
    maximum_concurrency = var.bulk_max_concurrency
  }
}

resource "aws_iam_role" "router" {
  name               = local.lane_names.router
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "router" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.router.arn}:*"]
  }
  statement {
    # ChangeMessageVisibility: a record it could not send is tried again in seconds, not minutes.
    sid       = "ConsumeWorkQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.work.arn]
  }
  statement {
    sid       = "SendToLanesAndItsDlq"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.interactive.arn, aws_sqs_queue.bulk.arn, aws_sqs_queue.router_dlq.arn]
  }
  statement {
    # A HEAD reads the lane the client API pinned on the upload (HeadObject needs s3:GetObject).
    # No ListBucket: a missing upload answers 403, which the router takes as "no mark".
    sid       = "ReadUploadMarks"
    actions   = ["s3:GetObject"]
    resources = ["${module.input_bucket.arn}/uploads/*"]
  }
  statement {
    # The queues are encrypted with the key: sending needs a data key, receiving decrypts.
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
  statement {
    sid       = "XRayTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }
}

resource "aws_iam_role_policy" "router" {
  name   = "router"
  role   = aws_iam_role.router.id
  policy = data.aws_iam_policy_document.router.json
}

# Someone should look when a lane backs up past what it is for, or the router fails.
locals {
  lane_alarms = {
    interactive-upload-waiting = {
      namespace  = "AWS/SQS"
      metric     = "ApproximateAgeOfOldestMessage"
      dimensions = { QueueName = aws_sqs_queue.interactive.name }
      statistic  = "Maximum"
      threshold  = var.interactive_oldest_message_alarm_s
      about      = "A single upload has waited on the interactive lane: raise interactive_max_concurrency, or look for a tenant looping the single-upload call (router_bulk_per_minute)."
    }
    bulk-upload-waiting = {
      namespace  = "AWS/SQS"
      metric     = "ApproximateAgeOfOldestMessage"
      dimensions = { QueueName = aws_sqs_queue.bulk.name }
      statistic  = "Maximum"
      threshold  = var.bulk_oldest_message_alarm_s
      about      = "The bulk lane's backlog is older than it should be: raise bulk_max_concurrency (and max_concurrency) if bulk uploads must finish sooner."
    }
    router-dlq-not-empty = {
      namespace  = "AWS/SQS"
      metric     = "ApproximateNumberOfMessagesVisible"
      dimensions = { QueueName = aws_sqs_queue.router_dlq.name }
      statistic  = "Maximum"
      threshold  = 0
      about      = "The router could not send uploads to a lane (see `imgpipe dlq stats --dlq-url` the router DLQ); redrive them to the work queue once fixed."
    }
    router-errors = {
      namespace  = "AWS/Lambda"
      metric     = "Errors"
      dimensions = { FunctionName = aws_lambda_function.router.function_name }
      statistic  = "Sum"
      threshold  = 0
      about      = "Router invocations failed as a whole (init errors, timeouts): uploads wait on the work queue."
    }
    router-throttles = {
      namespace  = "AWS/Lambda"
      metric     = "Throttles"
      dimensions = { FunctionName = aws_lambda_function.router.function_name }
      statistic  = "Sum"
      threshold  = 0
      about      = "Router invocations were throttled: check router_max_concurrency against the account's concurrency."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lanes" {
  for_each            = local.lane_alarms
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.about
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

output "interactive_queue_url" {
  description = "The interactive lane; IMGPIPE_INTERACTIVE_QUEUE_URL for `imgpipe status`."
  value       = aws_sqs_queue.interactive.id
}

output "bulk_queue_url" {
  description = "The bulk lane; IMGPIPE_BULK_QUEUE_URL for `imgpipe status` (and a large `imgpipe reprocess --queue-url`)."
  value       = aws_sqs_queue.bulk.id
}

output "router_dlq_url" {
  description = "What the router could not route; IMGPIPE_ROUTER_DLQ_URL for `imgpipe status` and `imgpipe dlq --dlq-url`."
  value       = aws_sqs_queue.router_dlq.id
}

output "router_function_name" {
  description = "The router Lambda (worker.router.handler.handler)."
  value       = aws_lambda_function.router.function_name
}
