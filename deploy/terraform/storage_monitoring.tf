# The seed's storage monitoring: who read, wrote or deleted which object (a CloudTrail trail of
# both data buckets' S3 data events, into the logs bucket), S3 request metrics with 4xx and 5xx
# alarms (a client's denied or expired upload shows up as the input bucket's 4xx first), and
# a daily bucket-size alarm.
locals {
  # Formed from the name, not read from the trail: the logs bucket and key policies must exist
  # before CloudTrail will create a trail that writes there.
  trail_arn = "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${local.names.trail}"
  data_buckets = {
    input  = module.input_bucket.id
    output = module.output_bucket.id
  }
  request_metrics_filter = "EntireBucket"
  storage_alarms = merge(
    {
      for name, bucket in local.data_buckets : "${name}-bucket-4xx" => {
        metric     = "4xxErrors"
        dimensions = { BucketName = bucket, FilterId = local.request_metrics_filter }
        statistic  = "Sum"
        period     = 300
        threshold  = name == "input" ? var.input_4xx_alarm_threshold : var.output_4xx_alarm_threshold
        about      = "The ${name} bucket refused many requests (4xx): denied, expired or malformed uploads, or a role missing a permission. See the CloudTrail data events in the logs bucket."
      }
    },
    {
      for name, bucket in local.data_buckets : "${name}-bucket-5xx" => {
        metric     = "5xxErrors"
        dimensions = { BucketName = bucket, FilterId = local.request_metrics_filter }
        statistic  = "Sum"
        period     = 300
        threshold  = var.bucket_5xx_alarm_threshold
        about      = "The ${name} bucket answered 5xx (SlowDown, InternalError): clients and the worker are retrying."
      }
    },
    {
      for name, bucket in local.data_buckets : "${name}-bucket-size" => {
        metric     = "BucketSizeBytes"
        dimensions = { BucketName = bucket, StorageType = "StandardStorage" }
        statistic  = "Average"
        period     = 86400 # S3 reports storage metrics once a day
        threshold  = var.bucket_size_alarm_bytes
        about      = "The ${name} bucket's Standard storage passed bucket_size_alarm_bytes: check lifecycle rules and uploads_expire_days."
      }
    },
  )
}

resource "aws_cloudtrail" "storage" {
  #checkov:skip=CKV_AWS_67:records only the S3 data events of two buckets in this region; management events belong to the account's own trail
  #checkov:skip=CKV_AWS_252:nothing acts on each delivered log file; the alarms below watch the buckets
  #checkov:skip=CKV2_AWS_10:data events go to the logs bucket for audit; the request metrics and alarms below do the watching, not CloudWatch Logs
  name                          = local.names.trail
  s3_bucket_name                = aws_s3_bucket.logs.id
  s3_key_prefix                 = "cloudtrail"
  kms_key_id                    = aws_kms_key.main.arn
  enable_log_file_validation    = true
  include_global_service_events = false
  is_multi_region_trail         = false
  event_selector {
    read_write_type           = "All"
    include_management_events = false
    data_resource {
      type   = "AWS::S3::Object"
      values = ["${module.input_bucket.arn}/", "${module.output_bucket.arn}/"]
    }
  }
  depends_on = [aws_s3_bucket_policy.logs, aws_kms_key.main]
}

resource "aws_s3_bucket_metric" "requests" {
  for_each = local.data_buckets
  bucket   = each.value
  name     = local.request_metrics_filter # no filter: the whole bucket
}

resource "aws_cloudwatch_metric_alarm" "storage" {
  for_each            = local.storage_alarms
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.about
  namespace           = "AWS/S3"
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  depends_on          = [aws_s3_bucket_metric.requests]
}
