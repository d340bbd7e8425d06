variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "imgpipe"
  validation {
    condition     = can(regex("^[a-z0-9-]{3,24}$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and -."
  }
}

variable "package_path" {
  description = "The Lambda zip built by `make package` (dist/imgpipe-lambda-<arch>.zip)."
  type        = string
}

variable "architecture" {
  description = "Lambda architecture; must match the package."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_mb" {
  description = "Lambda memory; CPU share grows with it (1769 MB = one full vCPU)."
  type        = number
  default     = 2048
  validation {
    condition     = var.memory_mb >= 512 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 512 and 10240."
  }
}

variable "timeout_s" {
  description = "Lambda timeout in seconds."
  type        = number
  default     = 60
  validation {
    condition     = var.timeout_s >= 10 && var.timeout_s <= 900
    error_message = "timeout_s must be between 10 and 900."
  }
}

variable "batch_size" {
  description = "SQS records per invocation."
  type        = number
  default     = 10
  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
  # Lambda's CreateEventSourceMapping refuses an SQS batch above 10 without a batching window;
  # checked here so the plan fails, not the apply half-way.
  validation {
    condition     = var.batch_size <= 10 || var.batching_window_s >= 1
    error_message = "batch_size above 10 needs batching_window_s of at least 1 (Lambda refuses a larger SQS batch without a batching window): set batching_window_s or lower batch_size."
  }
}

variable "batching_window_s" {
  description = "Seconds the event source mapping may wait to fill a batch."
  type        = number
  default     = 1
  validation {
    condition     = var.batching_window_s >= 0 && var.batching_window_s <= 300
    error_message = "batching_window_s must be between 0 and 300."
  }
}

variable "queue_visibility_timeout_s" {
  description = "Work queue visibility timeout; AWS requires at least 6x the function timeout plus the batching window."
  type        = number
  default     = 361
  validation {
    condition     = var.queue_visibility_timeout_s >= 6 * var.timeout_s + var.batching_window_s
    error_message = "queue_visibility_timeout_s must be at least 6 x timeout_s + batching_window_s, or in-flight records are delivered twice."
  }
}

variable "max_receive_count" {
  description = "Deliveries before SQS moves a record to the DLQ."
  type        = number
  default     = 5
  validation {
    condition     = var.max_receive_count >= 5
    error_message = "max_receive_count must be at least 5 so throttling bursts do not dead-letter good uploads."
  }
}

variable "max_concurrency" {
  description = "The worker's reserved concurrency, shared by its two lanes' event source mappings (lanes.tf)."
  type        = number
  default     = 20
  validation {
    condition     = var.max_concurrency >= 2 && var.max_concurrency <= 1000
    error_message = "max_concurrency must be between 2 and 1000."
  }
}

variable "worker_concurrency" {
  description = "IMGPIPE_CONCURRENCY: records in flight inside one invocation."
  type        = number
  default     = 4
}

variable "max_pixels" {
  description = "IMGPIPE_MAX_PIXELS: largest image accepted, in pixels."
  type        = number
  default     = 100000000
}

variable "max_bytes" {
  description = "IMGPIPE_MAX_BYTES: largest upload accepted, in bytes."
  type        = number
  default     = 52428800
}

variable "max_frames" {
  description = "IMGPIPE_MAX_FRAMES: most frames (pages) accepted in an animation."
  type        = number
  default     = 1000
}

variable "variants_json" {
  description = "IMGPIPE_VARIANTS: JSON list of variant specs; empty keeps the built-in defaults."
  type        = string
  default     = ""
}

variable "result_topic_arn" {
  description = "IMGPIPE_RESULT_TOPIC_ARN: SNS topic for ImageProcessed/ImageFailed events; empty for none."
  type        = string
  default     = ""
}

variable "cache_control" {
  description = "IMGPIPE_CACHE_CONTROL: Cache-Control of every variant."
  type        = string
  default     = "public, max-age=31536000, immutable"
}

variable "record_budget_ms" {
  description = "IMGPIPE_RECORD_BUDGET_MS: a record is not started with less time than this left."
  type        = number
  default     = 15000
  validation {
    condition     = var.record_budget_ms >= 100
    error_message = "record_budget_ms must be at least 100, or the worker refuses its cold start."
  }
  # The worker starts a record only with its budget plus a 0.5 s safety margin left
  # (worker.deadline.SAFETY_S); a budget that does not fit the timeout starts no record, ever.
  validation {
    condition     = var.record_budget_ms / 1000 + 0.5 <= var.timeout_s
    error_message = "record_budget_ms / 1000 + 0.5 s must fit timeout_s, or no record is ever started (every upload ends in the DLQ with no reason): raise timeout_s or lower record_budget_ms."
  }
}

variable "sweep_enabled" {
  description = "Run the scheduled sweep (removes objects under processed/ that no manifest lists)."
  type        = bool
  default     = true
}

variable "sweep_schedule" {
  description = "When the sweep runs (EventBridge Scheduler rate() or cron()); leave more time between runs than sweep_timeout_s."
  type        = string
  default     = "rate(1 hour)"
  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.sweep_schedule))
    error_message = "sweep_schedule must be a rate(...) or cron(...) expression."
  }
}

variable "sweep_older_than_s" {
  description = "IMGPIPE_SWEEP_OLDER_THAN_S: a render is removed only when its newest object is older than this."
  type        = number
  default     = 3600
  # A run commits within its invocation (at most Lambda's 900 s); a minute more covers clock
  # differences (worker.orphans.settings.SHORTEST_OLDER_THAN_S, which refuses less at cold start).
  validation {
    condition     = var.sweep_older_than_s >= 960
    error_message = "sweep_older_than_s must be at least 960 (15 minutes, the longest a run takes to commit, plus a minute), or the sweep could remove a render whose run is still committing."
  }
}

variable "sweep_timeout_s" {
  description = "The sweep Lambda's timeout; each invocation stops before it and the next goes on from there."
  type        = number
  default     = 900
  validation {
    condition     = var.sweep_timeout_s >= 60 && var.sweep_timeout_s <= 900
    error_message = "sweep_timeout_s must be between 60 and 900."
  }
}

variable "sweep_memory_mb" {
  description = "The sweep Lambda's memory (it lists keys and reads manifests; no image work)."
  type        = number
  default     = 512
  validation {
    condition     = var.sweep_memory_mb >= 256 && var.sweep_memory_mb <= 10240
    error_message = "sweep_memory_mb must be between 256 and 10240."
  }
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL."
  type        = string
  default     = "INFO"
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the worker's logs."
  type        = number
  default     = 30
}

variable "uploads_expire_days" {
  description = "Days after which original uploads are deleted from the input bucket (0 keeps them)."
  type        = number
  default     = 0
}

variable "oldest_message_alarm_s" {
  description = "Alarm when the oldest queued upload has waited this long."
  type        = number
  default     = 900
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when an alarm fires."
  type        = list(string)
  default     = []
}

# The client API (worker.api.handler) and its sign-in; see api.tf, api_gateway.tf and cognito.tf.

variable "api_memory_mb" {
  description = "The API Lambda's memory; more memory is more CPU, and its cold start is a user waiting."
  type        = number
  default     = 1024
  validation {
    condition     = var.api_memory_mb >= 256 && var.api_memory_mb <= 10240
    error_message = "api_memory_mb must be between 256 and 10240."
  }
}

variable "api_timeout_s" {
  description = "The API Lambda's timeout; API Gateway gives up on an integration after 30 s."
  type        = number
  default     = 10
  validation {
    condition     = var.api_timeout_s >= 3 && var.api_timeout_s <= 29
    error_message = "api_timeout_s must be between 3 and 29 (an HTTP API waits at most 30 s for its integration)."
  }
}

variable "api_max_concurrency" {
  description = "The API Lambda's reserved concurrency: requests in flight at once."
  type        = number
  default     = 50
  validation {
    condition     = var.api_max_concurrency >= 1 && var.api_max_concurrency <= 1000
    error_message = "api_max_concurrency must be between 1 and 1000."
  }
}

variable "api_cors_origins" {
  description = "Origins browsers may call the API from (scheme://host[:port]), besides the web uploader's (always allowed: web.tf); IMGPIPE_CORS_ORIGINS and the HTTP API's CORS."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for origin in var.api_cors_origins : can(regex("^(\\*|https?://[^/\\s?#]+)$", origin))])
    error_message = "api_cors_origins: each origin is scheme://host[:port] with no path (e.g. https://app.example.com), or *."
  }
}

variable "api_upload_url_ttl_s" {
  description = "IMGPIPE_UPLOAD_URL_TTL_S: seconds a pre-signed upload stays valid."
  type        = number
  default     = 900
  validation {
    condition     = var.api_upload_url_ttl_s >= 1 && var.api_upload_url_ttl_s <= 3600
    error_message = "api_upload_url_ttl_s must be between 1 and 3600 (an upload URL is good for an hour at most)."
  }
}

variable "api_download_url_ttl_s" {
  description = "IMGPIPE_DOWNLOAD_URL_TTL_S: seconds a variant's pre-signed GET stays valid."
  type        = number
  default     = 300
  validation {
    condition     = var.api_download_url_ttl_s >= 1 && var.api_download_url_ttl_s <= 3600
    error_message = "api_download_url_ttl_s must be between 1 and 3600."
  }
}

variable "api_throttle_rate" {
  description = "Requests per second every route takes (steady state), per account and region."
  type        = number
  default     = 50
}

variable "api_throttle_burst" {
  description = "Requests every route takes in a burst."
  type        = number
  default     = 100
}

variable "api_batch_throttle_rate" {
  description = "Requests per second POST /v1/uploads/batch takes; each signs up to 100 uploads."
  type        = number
  default     = 5
}

variable "api_batch_throttle_burst" {
  description = "Requests POST /v1/uploads/batch takes in a burst."
  type        = number
  default     = 10
}

variable "api_oidc_issuer" {
  description = "An OIDC issuer (https://...) whose JWTs the API accepts instead of a Cognito user pool of its own; empty creates the pool."
  type        = string
  default     = ""
  validation {
    condition     = var.api_oidc_issuer == "" || startswith(var.api_oidc_issuer, "https://")
    error_message = "api_oidc_issuer must be an https:// URL (the token's iss claim), or empty for a Cognito user pool."
  }
  validation {
    condition     = (var.api_oidc_issuer == "") == (length(var.api_oidc_audience) == 0)
    error_message = "api_oidc_issuer and api_oidc_audience go together: set both to use your own issuer, or neither for a Cognito user pool."
  }
}

variable "api_oidc_audience" {
  description = "The aud (or client_id) values the API accepts from api_oidc_issuer's tokens."
  type        = list(string)
  default     = []
}

variable "api_callback_urls" {
  description = "Where else (besides the web uploader, always allowed: web.tf) the Cognito hosted UI may send a signed-in user back with an authorization code."
  type        = list(string)
  default     = []
}

variable "api_logout_urls" {
  description = "Where else (besides the web uploader) the Cognito hosted UI may send a user after signing out."
  type        = list(string)
  default     = []
}

variable "api_auth_domain" {
  description = "Prefix of the Cognito hosted UI's domain (<prefix>.auth.<region>.amazoncognito.com); empty: <name_prefix>-<account id>."
  type        = string
  default     = ""
}

variable "api_password_auth" {
  description = "Let the app client sign in with USER_PASSWORD_AUTH (the password sent to Cognito as is): for development only; SRP and the hosted UI never send it."
  type        = bool
  default     = false
}

variable "api_self_signup" {
  description = "Let anyone sign up in the hosted UI; false: users are created by an operator (admin-create-user)."
  type        = bool
  default     = false
}

variable "api_5xx_alarm_threshold" {
  description = "Alarm when the API answers more than this many 5xx in five minutes."
  type        = number
  default     = 5
}

# The seed's storage monitoring; see storage_monitoring.tf.

variable "input_4xx_alarm_threshold" {
  description = "Alarm when the input bucket answers more than this many 4xx in five minutes (denied or expired client uploads show here first)."
  type        = number
  default     = 50
}

variable "output_4xx_alarm_threshold" {
  description = "Alarm when the output bucket answers more than this many 4xx in five minutes; each new upload and each poll of a pending image reads a manifest that is not there yet (a 404), so this is higher."
  type        = number
  default     = 5000
}

variable "bucket_5xx_alarm_threshold" {
  description = "Alarm when either data bucket answers more than this many 5xx (SlowDown, InternalError) in five minutes."
  type        = number
  default     = 10
}

variable "bucket_size_alarm_bytes" {
  description = "Alarm when either data bucket's Standard storage passes this many bytes (measured daily)."
  type        = number
  default     = 1099511627776 # 1 TiB
}
