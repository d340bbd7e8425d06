# The HTTP API in front of the API function: every route but the OpenAPI document needs a valid
# JWT (API Gateway checks signature, issuer, audience and expiry before the function runs), CORS
# for the configured origins, throttling per route and JSON access logs.
locals {
  # Routes that act for the token's user (its sub); GET /v1/openapi.json is public on its own.
  api_authorized_routes = [
    "POST /v1/uploads",
    "POST /v1/uploads/batch",
    "GET /v1/images/{imageId}",
    "GET /v1/images",
    "DELETE /v1/images/{imageId}",
  ]
  api_batch_route = "POST /v1/uploads/batch"
}

resource "aws_apigatewayv2_api" "client" {
  name          = local.names.api
  description   = "imgpipe client API (worker.api.handler)"
  protocol_type = "HTTP"
  # always at least the web uploader's origin (web.tf), then api_cors_origins
  cors_configuration {
    allow_origins  = local.api_cors_origins
    allow_methods  = ["GET", "POST", "DELETE"]
    allow_headers  = ["authorization", "content-type"]
    expose_headers = ["location"]
    max_age        = 3600
  }
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  api_id           = aws_apigatewayv2_api.client.id
  name             = "jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]
  jwt_configuration {
    issuer   = local.api_issuer
    audience = local.api_audience
  }
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.client.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.api.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = (var.api_timeout_s + 1) * 1000
}

resource "aws_apigatewayv2_route" "authorized" {
  for_each           = toset(local.api_authorized_routes)
  api_id             = aws_apigatewayv2_api.client.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.jwt.id
}

resource "aws_apigatewayv2_route" "openapi" {
  #checkov:skip=CKV_AWS_309:the OpenAPI document describes the API to anyone who would call it; it holds no user data
  api_id             = aws_apigatewayv2_api.client.id
  route_key          = "GET /v1/openapi.json"
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "NONE"
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:operational logs; retention is the log_retention_days variable (30 by default) to bound cost
  name              = "/aws/apigateway/${local.names.api}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.client.id
  name        = "$default"
  auto_deploy = true
  default_route_settings {
    throttling_rate_limit    = var.api_throttle_rate
    throttling_burst_limit   = var.api_throttle_burst
    detailed_metrics_enabled = true
  }
  # One batch call signs up to 100 uploads: it gets its own, tighter limit.
  route_settings {
    route_key                = local.api_batch_route
    throttling_rate_limit    = var.api_batch_throttle_rate
    throttling_burst_limit   = var.api_batch_throttle_burst
    detailed_metrics_enabled = true
  }
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      ip                 = "$context.identity.sourceIp"
      userAgent          = "$context.identity.userAgent"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      latencyMs          = "$context.responseLatency"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
      sub                = "$context.authorizer.claims.sub"
    })
  }
  depends_on = [aws_apigatewayv2_route.authorized]
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.client.execution_arn}/*/*"
}
