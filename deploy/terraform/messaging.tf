# S3 ObjectCreated -> SNS (fan-out to other consumers) -> SQS work queue -> router -> a lane's
# queue -> worker (lanes.tf); the DLQ behind the lanes, the router's DLQ behind the work queue.
resource "aws_sns_topic" "uploads" {
  name              = local.names.topic
  kms_master_key_id = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "uploads_topic" {
  statement {
    sid       = "OnlyTheInputBucketPublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.uploads.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [module.input_bucket.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "uploads" {
  arn    = aws_sns_topic.uploads.arn
  policy = data.aws_iam_policy_document.uploads_topic.json
}

resource "aws_sqs_queue" "dlq" {
  name                      = local.names.dlq
  kms_master_key_id         = aws_kms_key.main.arn
  message_retention_seconds = 1209600 # 14 days: longer than the work queue, so nothing expires unseen
}

resource "aws_sqs_queue" "work" {
  name                       = local.names.queue
  kms_master_key_id          = aws_kms_key.main.arn
  visibility_timeout_seconds = local.work_queue_visibility_s # the router's (lanes.tf)
  message_retention_seconds  = 345600                        # 4 days
  receive_wait_time_seconds  = 20
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.router_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.interactive.arn, aws_sqs_queue.bulk.arn]
  })
}

data "aws_iam_policy_document" "work_queue" {
  statement {
    sid       = "OnlyTheUploadsTopicSends"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.work.arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.uploads.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "work" {
  queue_url = aws_sqs_queue.work.id
  policy    = data.aws_iam_policy_document.work_queue.json
}

resource "aws_sns_topic_subscription" "work" {
  topic_arn            = aws_sns_topic.uploads.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.work.arn
  raw_message_delivery = true
  depends_on           = [aws_sqs_queue_policy.work]
}

# Prefix only, no suffix filters: S3 matches suffixes case-sensitively, so `.JPG` or `.Webp`
# uploads would never be announced. The worker decides by content and quarantines non-images
# with the reason, which is better than silence.
resource "aws_s3_bucket_notification" "uploads" {
  bucket = module.input_bucket.id
  topic {
    topic_arn     = aws_sns_topic.uploads.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "uploads/"
  }
  depends_on = [aws_sns_topic_policy.uploads]
}
