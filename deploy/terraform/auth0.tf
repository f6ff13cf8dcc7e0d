# Auth0: the API with CRA's permissions, its roles, the clients, social connections, the signup Action.
# Resources: https://registry.terraform.io/providers/auth0/auth0/latest/docs/resources/resource_server
#   resource_server_scopes, role, role_permissions, client, client_credentials, client_grant, connection,
#   connection_clients, action, trigger_actions (same site, resources/<name>).

locals {
  # domain/roles.ts: `member` (defaultRole, no staff permission) and staffRoles. A test keeps them equal.
  role_permissions = {
    member         = []
    support        = ["support:read", "links:approve"]
    "support-lead" = ["support:read", "links:approve", "recovery:approve", "flags:write"]
    dpo            = ["legal:hold", "support:read"]
    operator       = ["histories:decode"]
  }
  permissions = distinct(flatten(values(local.role_permissions)))

  # CRA provider id => Auth0 strategy, for the providers Auth0 has a built-in connection for; each is
  # created when the provider's flag variable (variables.tf) is true.
  social_connections = {
    google    = { strategy = "google-oauth2", enabled = var.ENABLE_GOOGLE_LOGIN }
    apple     = { strategy = "apple", enabled = var.ENABLE_APPLE_LOGIN }
    facebook  = { strategy = "facebook", enabled = var.ENABLE_FACEBOOK_LOGIN }
    microsoft = { strategy = "windowslive", enabled = var.ENABLE_MICROSOFT_LOGIN }
    x         = { strategy = "twitter", enabled = var.ENABLE_X_LOGIN }
    github    = { strategy = "github", enabled = var.ENABLE_GITHUB_LOGIN }
    linkedin  = { strategy = "linkedin", enabled = var.ENABLE_LINKEDIN_LOGIN }
    amazon    = { strategy = "amazon", enabled = var.ENABLE_AMAZON_LOGIN }
  }
  enabled_social = { for id, c in local.social_connections : id => c if c.enabled }
}

resource "auth0_resource_server" "cra" {
  name        = "CRA API"
  identifier  = var.api_audience
  signing_alg = "RS256"
  # RBAC: permissions travel in the access token's `permissions` claim (domain/roles.ts).
  enforce_policies                                = true
  token_dialect                                   = "access_token_authz"
  allow_offline_access                            = true
  skip_consent_for_verifiable_first_party_clients = true
}

resource "auth0_resource_server_scopes" "cra" {
  resource_server_identifier = auth0_resource_server.cra.identifier
  dynamic "scopes" {
    for_each = toset(local.permissions)
    content {
      name        = scopes.value
      description = "CRA permission ${scopes.value}"
    }
  }
}

resource "auth0_role" "cra" {
  for_each    = local.role_permissions
  name        = each.key
  description = "CRA role ${each.key}"
}

resource "auth0_role_permissions" "cra" {
  for_each   = { for role, perms in local.role_permissions : role => perms if length(perms) > 0 }
  role_id    = auth0_role.cra[each.key].id
  depends_on = [auth0_resource_server_scopes.cra]
  dynamic "permissions" {
    for_each = toset(each.value)
    content {
      name                       = permissions.value
      resource_server_identifier = auth0_resource_server.cra.identifier
    }
  }
}

# The browser sign-in (Universal Login, api/sign-in.ts: <public_url>/account/callback).
resource "auth0_client" "web" {
  name                = "CRA web"
  app_type            = "regular_web"
  oidc_conformant     = true
  callbacks           = ["${var.public_url}/account/callback"]
  allowed_logout_urls = [var.public_url]
  web_origins         = [var.public_url]
  grant_types         = ["authorization_code", "refresh_token"]
}

resource "auth0_client_credentials" "web" {
  client_id             = auth0_client.web.id
  authentication_method = "client_secret_post"
}

# The mobile app: public client, PKCE, no secret.
resource "auth0_client" "mobile" {
  name            = "CRA mobile"
  app_type        = "native"
  oidc_conformant = true
  callbacks       = var.mobile_callbacks
  grant_types     = ["authorization_code", "refresh_token"]
}

resource "auth0_client_credentials" "mobile" {
  client_id             = auth0_client.mobile.id
  authentication_method = "none"
}

# CRA's own Management API client (AUTH0_CLIENT_ID/SECRET): activities/identity/auth0-directory.ts reads,
# updates, links, unlinks and deletes users and assigns roles.
data "auth0_tenant" "current" {}

resource "auth0_client" "cra" {
  name        = "CRA worker and API"
  app_type    = "non_interactive"
  grant_types = ["client_credentials"]
}

resource "auth0_client_credentials" "cra" {
  client_id             = auth0_client.cra.id
  authentication_method = "client_secret_post"
}

resource "auth0_client_grant" "cra_management" {
  client_id = auth0_client.cra.id
  audience  = data.auth0_tenant.current.management_api_identifier
  scopes = [
    "read:users", "create:users", "update:users", "delete:users", "read:users_app_metadata",
    "update:users_app_metadata", "read:roles", "create:role_members", "read:role_members",
    "delete:authentication_methods", "delete:refresh_tokens", "delete:sessions",
  ]
}

resource "auth0_connection" "social" {
  for_each = local.enabled_social
  name     = each.value.strategy
  strategy = each.value.strategy
  options {
    client_id     = try(var.social_credentials[each.key].client_id, null)
    client_secret = try(var.social_credentials[each.key].client_secret, null)
  }
}

resource "auth0_connection_clients" "social" {
  for_each        = auth0_connection.social
  connection_id   = each.value.id
  enabled_clients = [auth0_client.web.id, auth0_client.mobile.id]
}

# The post-registration Action: tells CRA about each new user, signed like every CRA hook
# (api/auth/hook-signature.ts). https://auth0.com/docs/customize/actions/explore-triggers/post-user-registration
resource "auth0_action" "post_registration" {
  name    = "cra-post-registration"
  runtime = "node22"
  deploy  = true
  code    = file("${path.module}/actions/post-registration.js")
  supported_triggers {
    id      = "post-user-registration"
    version = "v2"
  }
  secrets {
    name  = "CRA_HOOK_URL"
    value = "${var.public_url}/v1/hooks/auth0/post-registration"
  }
  secrets {
    name  = "CRA_HOOK_SECRET"
    value = var.signup_hook_secret
  }
}

resource "auth0_trigger_actions" "post_registration" {
  trigger = "post-user-registration"
  actions {
    id           = auth0_action.post_registration.id
    display_name = auth0_action.post_registration.name
  }
}
