# The client API (issue 21): a third function from the worker's own artifact
# (worker.api.handler.handler, which does not import the image engine), behind the HTTP API in
# api_gateway.tf. Its role may sign uploads under uploads/, read manifests and variants, list and
# delete a user's uploads and renders, and write a deletion's tombstone manifest: nothing else.
resource "aws_cloudwatch_log_group" "api" {
  #checkov:skip=CKV_AWS_338:operational logs; retention is the log_retention_days variable (30 by default) to bound cost
  name              = "/aws/lambda/${local.names.api}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_116:invoked synchronously by API Gateway, which returns the error to the client; there is no asynchronous event to dead-letter
  #checkov:skip=CKV_AWS_117:talks only to S3 and KMS public endpoints; a VPC would add NAT cost and nothing else
  #checkov:skip=CKV_AWS_272:the artifact is built and deployed by the same pipeline; code signing is a deployment choice
  function_name                  = local.names.api
  role                           = aws_iam_role.api.arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  handler                        = "worker.api.handler.handler"
  runtime                        = "python3.12"
  architectures                  = [var.architecture]
  memory_size                    = var.api_memory_mb
  timeout                        = var.api_timeout_s
  reserved_concurrent_executions = var.api_max_concurrency
  kms_key_arn                    = aws_kms_key.main.arn
  tracing_config {
    mode = "Active"
  }
  environment {
    variables = {
      IMGPIPE_INPUT_BUCKET         = module.input_bucket.id
      IMGPIPE_OUTPUT_BUCKET        = module.output_bucket.id
      IMGPIPE_KMS_KEY_ID           = aws_kms_key.main.arn
      IMGPIPE_MAX_BYTES            = tostring(var.max_bytes) # the worker's own limit: refused before a URL exists
      IMGPIPE_CORS_ORIGINS         = jsonencode(local.api_cors_origins)
      IMGPIPE_UPLOAD_URL_TTL_S     = tostring(var.api_upload_url_ttl_s)
      IMGPIPE_DOWNLOAD_URL_TTL_S   = tostring(var.api_download_url_ttl_s)
      POWERTOOLS_SERVICE_NAME      = "${var.name_prefix}-api"
      POWERTOOLS_METRICS_NAMESPACE = var.name_prefix
      POWERTOOLS_LOG_LEVEL         = var.log_level
      AWS_RETRY_MODE               = "standard"
      AWS_MAX_ATTEMPTS             = "3"
    }
  }
  depends_on = [aws_cloudwatch_log_group.api, aws_iam_role_policy.api]
}

resource "aws_iam_role" "api" {
  name               = local.names.api
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "api" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.api.arn}:*"]
  }
  statement {
    # A pre-signed POST is S3's PutObject as the role that signed it, so the role must be able to
    # upload where it signs (and nowhere else); GetObject answers HEAD for an upload's status.
    sid       = "SignAndCheckUploads"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${module.input_bucket.arn}/uploads/*"]
  }
  statement {
    # A user's uploads are listed by prefix; a HEAD of a missing upload asks S3 for ListBucket
    # with the key as s3:prefix, so it answers 404 rather than 403.
    sid       = "ListUploads"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [module.input_bucket.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["uploads/*"]
    }
  }
  statement {
    # Deleting an image removes every version of its upload, so no late event can process it again.
    sid       = "DeleteUploads"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${module.input_bucket.arn}/uploads/*"]
  }
  statement {
    sid       = "ReadManifestsAndVariants"
    actions   = ["s3:GetObject"]
    resources = ["${module.output_bucket.arn}/metadata/*", "${module.output_bucket.arn}/processed/*"]
  }
  statement {
    # A deleted image's manifest is replaced by a tombstone, which the worker reads before any
    # render, so a late event, duplicate or redrive never brings the image back.
    sid       = "WriteTombstones"
    actions   = ["s3:PutObject"]
    resources = ["${module.output_bucket.arn}/metadata/*"]
  }
  statement {
    # Listing the versions of an image's renders and manifest to delete them; metadata/ also so
    # that reading the manifest of an image still pending answers 404 (not there yet), not 403.
    sid       = "ListRenders"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [module.output_bucket.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["processed/*", "metadata/*"]
    }
  }
  statement {
    sid       = "DeleteRenders"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${module.output_bucket.arn}/processed/*"]
  }
  statement {
    # A deleted image's older manifest versions (they list its variants) go by version id; no
    # plain DeleteObject here, which would hide the tombstone behind a delete marker. IAM cannot
    # tell the current version from older ones: the API deletes only versions it listed as older.
    sid       = "DeleteOldManifests"
    actions   = ["s3:DeleteObjectVersion"]
    resources = ["${module.output_bucket.arn}/metadata/*"]
  }
  statement {
    # S3 asks KMS on the signer's behalf: GenerateDataKey when a signed upload (or a tombstone)
    # is written with the key, Decrypt when a manifest or a signed variant GET is read.
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

resource "aws_iam_role_policy" "api" {
  name   = "api"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api.json
}
