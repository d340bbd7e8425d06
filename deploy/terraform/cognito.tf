# Who the API's users are: a Cognito user pool and a public app client (no secret: it runs in a
# browser or on a phone), unless api_oidc_issuer and api_oidc_audience name another OIDC issuer,
# whose tokens the JWT authorizer then accepts instead and no pool is created.
locals {
  own_user_pool = var.api_oidc_issuer == ""
  # The hosted UI signs users in with the authorization-code flow; the web uploader (web.tf) is
  # always somewhere to send them back to.
  hosted_ui    = local.own_user_pool
  api_issuer   = local.own_user_pool ? "https://${aws_cognito_user_pool.users[0].endpoint}" : var.api_oidc_issuer
  api_audience = local.own_user_pool ? [aws_cognito_user_pool_client.app[0].id] : var.api_oidc_audience
}

resource "aws_cognito_user_pool" "users" {
  count                    = local.own_user_pool ? 1 : 0
  name                     = local.names.api
  deletion_protection      = "ACTIVE" # the users are the one thing here a re-apply cannot bring back
  mfa_configuration        = "OPTIONAL"
  auto_verified_attributes = ["email"]
  software_token_mfa_configuration {
    enabled = true
  }
  username_configuration {
    case_sensitive = false
  }
  admin_create_user_config {
    allow_admin_create_user_only = !var.api_self_signup
  }
  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 7
  }
  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }
}

resource "aws_cognito_user_pool_client" "app" {
  count           = local.own_user_pool ? 1 : 0
  name            = "${local.names.api}-app"
  user_pool_id    = aws_cognito_user_pool.users[0].id
  generate_secret = false # a public client: PKCE, not a secret, protects its code exchange
  # SRP never sends the password; USER_PASSWORD_AUTH (which does) only where a deployment asks for it.
  explicit_auth_flows = concat(
    ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    var.api_password_auth ? ["ALLOW_USER_PASSWORD_AUTH"] : [],
  )
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  allowed_oauth_flows_user_pool_client = local.hosted_ui
  allowed_oauth_flows                  = local.hosted_ui ? ["code"] : []
  allowed_oauth_scopes                 = local.hosted_ui ? ["openid", "email", "profile"] : []
  callback_urls                        = local.api_callback_urls
  logout_urls                          = local.api_logout_urls
  supported_identity_providers         = ["COGNITO"]
  access_token_validity                = 60
  id_token_validity                    = 60
  refresh_token_validity               = 30
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

resource "aws_cognito_user_pool_domain" "hosted_ui" {
  count        = local.hosted_ui ? 1 : 0
  domain       = var.api_auth_domain != "" ? var.api_auth_domain : "${var.name_prefix}-${local.account_id}"
  user_pool_id = aws_cognito_user_pool.users[0].id
}
