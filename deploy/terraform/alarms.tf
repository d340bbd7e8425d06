# Someone should look when uploads dead-letter, back up, the worker errors or throttles, the sweep fails
# or the client API fails its users. The buckets' own alarms are in storage_monitoring.tf.
locals {
  alarms = {
    dlq-not-empty = {
      namespace  = "AWS/SQS"
      metric     = "ApproximateNumberOfMessagesVisible"
      dimensions = { QueueName = aws_sqs_queue.dlq.name }
      statistic  = "Maximum"
      threshold  = 0
      about      = "Uploads were quarantined: inspect with `imgpipe status` and redrive once fixed."
    }
    oldest-upload-waiting = {
      namespace  = "AWS/SQS"
      metric     = "ApproximateAgeOfOldestMessage"
      dimensions = { QueueName = aws_sqs_queue.work.name }
      statistic  = "Maximum"
      threshold  = var.oldest_message_alarm_s
      about      = "The work queue is backing up faster than the worker drains it."
    }
    worker-errors = {
      namespace  = "AWS/Lambda"
      metric     = "Errors"
      dimensions = { FunctionName = aws_lambda_function.worker.function_name }
      statistic  = "Sum"
      threshold  = 0
      about      = "Invocations failed as a whole (init errors, timeouts): whole batches are being retried."
    }
    sweep-errors = {
      namespace  = "AWS/Lambda"
      metric     = "Errors"
      dimensions = { FunctionName = aws_lambda_function.sweep.function_name }
      statistic  = "Sum"
      threshold  = 0
      about      = "A scheduled sweep failed, or kept objects it could not judge (an unreadable manifest) or S3 refused its deletes: see its log."
    }
    api-5xx = {
      namespace  = "AWS/ApiGateway"
      metric     = "5xx"
      dimensions = { ApiId = aws_apigatewayv2_api.client.id }
      statistic  = "Sum"
      threshold  = var.api_5xx_alarm_threshold
      about      = "The client API answered 5xx (function errors, timeouts, throttling by its reserved concurrency): see the API's access and function logs."
    }
    worker-throttles = {
      namespace  = "AWS/Lambda"
      metric     = "Throttles"
      dimensions = { FunctionName = aws_lambda_function.worker.function_name }
      statistic  = "Sum"
      threshold  = 0
      about      = "Invocations were throttled: check account concurrency against max_concurrency."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.about
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
