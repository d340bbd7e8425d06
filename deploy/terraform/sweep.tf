# The scheduled sweep: orphan renders (a run killed between its variant writes and its commit)
# are listed by no manifest and would stay forever. An EventBridge Scheduler schedule invokes a
# second function from the worker's own artifact (worker.sweep.handler); each invocation sweeps
# processed/ a page at a time from where the last one stopped (sweep/state.json in the output
# bucket) and stops before its deadline. See docs/operating.md, "The scheduled sweep".
resource "aws_cloudwatch_log_group" "sweep" {
  #checkov:skip=CKV_AWS_338:operational logs; retention is the log_retention_days variable (30 by default) to bound cost
  name              = "/aws/lambda/${local.names.sweep}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_function" "sweep" {
  #checkov:skip=CKV_AWS_116:invoked by its schedule: a failed run raises the sweep-errors alarm and the next run goes on from the saved state, so a DLQ would hold nothing to act on
  #checkov:skip=CKV_AWS_117:talks only to S3 and KMS public endpoints; a VPC would add NAT cost and nothing else
  #checkov:skip=CKV_AWS_272:the artifact is built and deployed by the same pipeline; code signing is a deployment choice
  function_name    = local.names.sweep
  role             = aws_iam_role.sweep.arn
  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)
  handler          = "worker.sweep.handler"
  runtime          = "python3.12"
  architectures    = [var.architecture]
  memory_size      = var.sweep_memory_mb
  timeout          = var.sweep_timeout_s
  # One sweep at a time: two would only race for the state (its writes are conditional).
  reserved_concurrent_executions = 1
  kms_key_arn                    = aws_kms_key.main.arn
  tracing_config {
    mode = "Active"
  }
  environment {
    variables = {
      IMGPIPE_OUTPUT_BUCKET        = module.output_bucket.id
      IMGPIPE_KMS_KEY_ID           = aws_kms_key.main.arn
      IMGPIPE_SWEEP_OLDER_THAN_S   = tostring(var.sweep_older_than_s)
      IMGPIPE_SWEEP_PAGE_KEYS      = "1000"
      POWERTOOLS_SERVICE_NAME      = "${var.name_prefix}-sweep"
      POWERTOOLS_METRICS_NAMESPACE = var.name_prefix
      POWERTOOLS_LOG_LEVEL         = var.log_level
      AWS_RETRY_MODE               = "standard"
      AWS_MAX_ATTEMPTS             = "5"
    }
  }
  depends_on = [aws_cloudwatch_log_group.sweep, aws_iam_role_policy.sweep]
}

resource "aws_lambda_function_event_invoke_config" "sweep" {
  function_name = aws_lambda_function.sweep.function_name
  # A failed run is not retried at once (it would meet the same fault); the next scheduled run
  # goes on from the saved state. An invocation queued behind a running one is dropped.
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 900
}

resource "aws_scheduler_schedule" "sweep" {
  name                = local.names.sweep
  description         = "Sweep processed/ for objects no manifest lists (worker.sweep.handler)."
  schedule_expression = var.sweep_schedule
  state               = var.sweep_enabled ? "ENABLED" : "DISABLED"
  kms_key_arn         = aws_kms_key.main.arn
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_lambda_function.sweep.arn
    role_arn = aws_iam_role.sweep_schedule.arn
    input    = jsonencode({ source = "imgpipe.sweep-schedule" })
    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }
  }
}

resource "aws_iam_role" "sweep" {
  name               = local.names.sweep
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "sweep" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.sweep.arn}:*"]
  }
  statement {
    # Listing processed/ a page at a time; ListBucket also makes a missing manifest answer 404
    # ("no manifest": its image's old renders go) instead of 403 (which stops the page).
    sid       = "ListOutputs"
    actions   = ["s3:ListBucket"]
    resources = [module.output_bucket.arn]
  }
  statement {
    sid       = "ReadManifests"
    actions   = ["s3:GetObject"]
    resources = ["${module.output_bucket.arn}/metadata/*"]
  }
  statement {
    sid       = "KeepItsPlace"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${module.output_bucket.arn}/sweep/*"]
  }
  statement {
    # Without DeleteObjectVersion a delete only adds a marker: the bucket's lifecycle keeps what
    # it hides for a week, so a mistaken sweep can be undone.
    sid       = "DeleteOrphans"
    actions   = ["s3:DeleteObject"]
    resources = ["${module.output_bucket.arn}/processed/*"]
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
}

resource "aws_iam_role_policy" "sweep" {
  name   = "sweep"
  role   = aws_iam_role.sweep.id
  policy = data.aws_iam_policy_document.sweep.json
}

data "aws_iam_policy_document" "assume_scheduler" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "sweep_schedule" {
  name               = "${local.names.sweep}-schedule"
  assume_role_policy = data.aws_iam_policy_document.assume_scheduler.json
}

data "aws_iam_policy_document" "sweep_schedule" {
  statement {
    sid       = "InvokeTheSweep"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.sweep.arn]
  }
  statement {
    # The schedule's payload is encrypted with the data key; the scheduler decrypts it as this role.
    sid       = "ReadThePayload"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "sweep_schedule" {
  name   = "invoke-sweep"
  role   = aws_iam_role.sweep_schedule.id
  policy = data.aws_iam_policy_document.sweep_schedule.json
}
