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
  storage_alarms = {
    input-bucket-4xx = {
      metric     = "4xxErrors"
      dimensions = { BucketName = module.input_bucket.id, FilterId = local.request_metrics_filter }
      statistic  = "Sum"
      period     = 300
      threshold  = var.input_4xx_alarm_threshold
      about      = "The input bucket refused many requests (4xx): denied, expired or malformed client uploads, or a role missing a permission. The storage trail in the logs bucket says whose."
    }
    output-bucket-4xx = {
      metric     = "4xxErrors"
      dimensions = { BucketName = module.output_bucket.id, FilterId = local.request_metrics_filter }
      statistic  = "Sum"
      period     = 300
      threshold  = var.output_4xx_alarm_threshold
      about      = "The output bucket refused many requests (4xx) beyond the manifests not written yet: expired variant URLs or a role missing a permission. The storage trail in the logs bucket says whose."
    }
    input-bucket-5xx = {
      metric     = "5xxErrors"
      dimensions = { BucketName = module.input_bucket.id, FilterId = local.request_metrics_filter }
      statistic  = "Sum"
      period     = 300
      threshold  = var.bucket_5xx_alarm_threshold
      about      = "The input bucket answered 5xx (SlowDown, InternalError): clients and the worker are retrying."
    }
    output-bucket-5xx = {
      metric     = "5xxErrors"
      dimensions = { BucketName = module.output_bucket.id, FilterId = local.request_metrics_filter }
      statistic  = "Sum"
      period     = 300
      threshold  = var.bucket_5xx_alarm_threshold
      about      = "The output bucket answered 5xx (SlowDown, InternalError): the worker and the API are retrying."
    }
    input-bucket-size = {
      metric     = "BucketSizeBytes"
      dimensions = { BucketName = module.input_bucket.id, StorageType = "StandardStorage" }
      statistic  = "Average"
      period     = 86400 # S3 reports storage once a day
      threshold  = var.bucket_size_alarm_bytes
      about      = "The input bucket's Standard storage passed bucket_size_alarm_bytes: consider uploads_expire_days."
    }
    output-bucket-size = {
      metric     = "BucketSizeBytes"
      dimensions = { BucketName = module.output_bucket.id, StorageType = "StandardStorage" }
      statistic  = "Average"
      period     = 86400
      threshold  = var.bucket_size_alarm_bytes
      about      = "The output bucket's Standard storage passed bucket_size_alarm_bytes: check its lifecycle rules and the sweep."
    }
  }
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
