# The web uploader (deploy/web): its built files in a private bucket of their own, served only
# through CloudFront (origin access control), with security headers on every response; the
# page's origin is added to the API's CORS origins, the input bucket's CORS (browsers POST
# uploads straight to it) and the hosted UI's callback URLs. config.json beside the files tells
# the page this deployment's API and sign-in. `make web`, then apply with web_dist_path to upload
# the build (docs: deploy/web/README.md).

variable "web_dist_path" {
  description = "The built uploader (deploy/web/dist after `make web`), uploaded to the web bucket; empty: upload nothing (config.json only)."
  type        = string
  default     = ""
}

variable "web_price_class" {
  description = "CloudFront price class of the uploader's distribution."
  type        = string
  default     = "PriceClass_100"
  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.web_price_class)
    error_message = "web_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "web_upload_concurrency" {
  description = "Transfers to S3 a browser keeps going at once (the page's config.json)."
  type        = number
  default     = 6
  validation {
    condition     = var.web_upload_concurrency >= 1 && var.web_upload_concurrency <= 32
    error_message = "web_upload_concurrency must be between 1 and 32."
  }
}

locals {
  web_origin = "https://${aws_cloudfront_distribution.web.domain_name}"
  # The page calls the API and POSTs to the input bucket from its own origin, and the hosted UI
  # sends a signed-in user back to it.
  api_cors_origins  = distinct(concat([local.web_origin], var.api_cors_origins))
  api_callback_urls = distinct(concat(["${local.web_origin}/"], var.api_callback_urls))
  api_logout_urls   = distinct(concat(["${local.web_origin}/"], var.api_logout_urls))
  hosted_ui_url     = local.hosted_ui ? "https://${aws_cognito_user_pool_domain.hosted_ui[0].domain}.auth.${local.region}.amazoncognito.com" : var.api_oidc_issuer
  web_config = {
    apiUrl      = aws_apigatewayv2_api.client.api_endpoint
    concurrency = var.web_upload_concurrency
    auth = {
      mode        = "hosted"
      clientId    = local.api_audience[0]
      issuer      = local.api_issuer
      hostedUiUrl = local.hosted_ui_url
      scopes      = "openid email profile"
    }
  }
  # Where the page may connect and load images from: the API, the buckets (signed URLs) and
  # sign-in. Patterns, not resources: the distribution must not wait on the API it is an origin of.
  web_bucket_hosts = [
    "https://${local.names.input}.s3.amazonaws.com", "https://${local.names.input}.s3.${local.region}.amazonaws.com",
    "https://${local.names.output}.s3.amazonaws.com", "https://${local.names.output}.s3.${local.region}.amazonaws.com",
  ]
  web_csp = join("; ", [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob: ${join(" ", local.web_bucket_hosts)}",
    "connect-src 'self' https://*.execute-api.${local.region}.amazonaws.com https://cognito-idp.${local.region}.amazonaws.com https://*.auth.${local.region}.amazoncognito.com ${join(" ", local.web_bucket_hosts)}",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self' https://*.auth.${local.region}.amazoncognito.com",
    "frame-ancestors 'none'",
  ])
  web_files = var.web_dist_path == "" ? toset([]) : fileset(var.web_dist_path, "**")
  web_types = {
    html = "text/html; charset=utf-8", js = "text/javascript; charset=utf-8", css = "text/css; charset=utf-8",
    json = "application/json", map = "application/json", svg = "image/svg+xml", png = "image/png",
    ico  = "image/x-icon", txt = "text/plain; charset=utf-8", woff2 = "font/woff2",
  }
}

# --------------------------------------------------------------------------- the bucket

resource "aws_s3_bucket" "web" {
  #checkov:skip=CKV_AWS_144:the page is rebuilt from the repository; replication buys nothing
  #checkov:skip=CKV2_AWS_62:nothing consumes the page's files as events
  bucket = "${var.name_prefix}-web-${local.account_id}"
}

resource "aws_s3_bucket_versioning" "web" {
  bucket = aws_s3_bucket.web.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "web" {
  bucket = aws_s3_bucket.web.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.web.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "web" {
  bucket                  = aws_s3_bucket.web.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "web" {
  bucket = aws_s3_bucket.web.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "web" {
  bucket        = aws_s3_bucket.web.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/web/"
}

resource "aws_s3_bucket_lifecycle_configuration" "web" {
  bucket = aws_s3_bucket.web.id
  rule {
    id     = "expire-replaced-builds"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "web_bucket" {
  statement {
    sid       = "CloudFrontReadsThePage"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.web.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.web.arn]
    }
  }
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.web.arn, "${aws_s3_bucket.web.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "web" {
  bucket     = aws_s3_bucket.web.id
  policy     = data.aws_iam_policy_document.web_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.web]
}

# The page's own key: CloudFront may decrypt with it for this distribution only, which the data
# key's policy need not learn.
resource "aws_kms_key" "web" {
  description             = "${var.name_prefix}: the web uploader's files"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.web_key.json
}

data "aws_iam_policy_document" "web_key" {
  #checkov:skip=CKV_AWS_109:a key policy's "*" resource means this key; the account root must administer it
  #checkov:skip=CKV_AWS_111:a key policy's "*" resource means this key; CloudFront is limited to one distribution
  #checkov:skip=CKV_AWS_356:in a key policy "*" is the key itself, not every resource
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudFrontDecryptsThePage"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.web.arn]
    }
  }
}

# --------------------------------------------------------------------------- the files

resource "aws_s3_object" "web" {
  for_each      = local.web_files
  bucket        = aws_s3_bucket.web.id
  key           = each.value
  source        = "${var.web_dist_path}/${each.value}"
  source_hash   = filemd5("${var.web_dist_path}/${each.value}")
  content_type  = lookup(local.web_types, lower(regex("[^.]*$", each.value)), "application/octet-stream")
  cache_control = startswith(each.value, "assets/") ? "public, max-age=31536000, immutable" : "no-cache"
  kms_key_id    = aws_kms_key.web.arn
  depends_on    = [aws_s3_bucket_server_side_encryption_configuration.web]
}

resource "aws_s3_object" "web_config" {
  bucket        = aws_s3_bucket.web.id
  key           = "config.json"
  content       = jsonencode(local.web_config)
  content_type  = "application/json"
  cache_control = "no-cache"
  kms_key_id    = aws_kms_key.web.arn
  depends_on    = [aws_s3_bucket_server_side_encryption_configuration.web]
}

# --------------------------------------------------------------------------- the distribution

resource "aws_cloudfront_origin_access_control" "web" {
  name                              = "${var.name_prefix}-web"
  description                       = "CloudFront signs its reads of the uploader's bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "web" {
  name    = "${var.name_prefix}-web"
  comment = "the uploader's security headers (the local stack sends the same: deploy/local/web/page.py)"
  security_headers_config {
    content_security_policy {
      content_security_policy = local.web_csp
      override                = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
  }
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

resource "aws_cloudfront_distribution" "web" {
  #checkov:skip=CKV_AWS_68:a static page with no server behind it; attach a WAF web ACL per deployment if wanted
  #checkov:skip=CKV2_AWS_47:a static page with no server behind it runs no Log4j
  #checkov:skip=CKV_AWS_86:standard logs need ACLs on the logs bucket, which are disabled (BucketOwnerEnforced); the bucket's access logs record CloudFront's reads
  #checkov:skip=CKV_AWS_174:the default *.cloudfront.net certificate; a custom domain brings its own certificate and TLS policy
  #checkov:skip=CKV2_AWS_42:the default *.cloudfront.net certificate until a deployment adds its own domain
  #checkov:skip=CKV_AWS_310:one origin: the page's bucket; a failover origin would be a copy of the same files
  #checkov:skip=CKV_AWS_374:uploaders may be anywhere; sign-in, not geography, decides who uses it
  enabled             = true
  comment             = "${var.name_prefix} web uploader"
  default_root_object = "index.html"
  price_class         = var.web_price_class
  http_version        = "http2and3"
  is_ipv6_enabled     = true
  origin {
    origin_id                = "web"
    domain_name              = aws_s3_bucket.web.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.web.id
  }
  default_cache_behavior {
    target_origin_id           = "web"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.web.id
  }
  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

# --------------------------------------------------------------------------- uploads from the page

# Browsers POST the signed forms straight to the input bucket: it answers the page's origin.
resource "aws_s3_bucket_cors_configuration" "input" {
  bucket = module.input_bucket.id
  cors_rule {
    allowed_origins = local.api_cors_origins
    allowed_methods = ["POST"]
    allowed_headers = ["*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3000
  }
}

output "web_url" {
  description = "The web uploader (CloudFront); its origin is in the API's CORS origins and the hosted UI's callback URLs."
  value       = local.web_origin
}

output "web_bucket" {
  description = "The uploader's files (private; CloudFront reads them)."
  value       = aws_s3_bucket.web.id
}
