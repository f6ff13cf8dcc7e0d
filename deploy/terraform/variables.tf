variable "public_url" {
  description = "CRA's public URL behind Kong (CRA_PUBLIC_URL), e.g. https://cra.example.com"
  type        = string
}

variable "api_audience" {
  description = "The API's identifier in Auth0 (AUTH0_AUDIENCE and AUTH_AUDIENCE)"
  type        = string
  default     = "https://api.cra.example.com"
}

variable "mobile_callbacks" {
  description = "Sign-in redirect URIs of the mobile app (a native client, PKCE)"
  type        = list(string)
  default     = ["com.example.cra://callback"]
}

variable "signup_hook_secret" {
  description = "The Action signs POST /v1/hooks/auth0/post-registration with it; CRA's SIGNUP_HOOK_SECRETS must contain it (32+ characters)"
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.signup_hook_secret) >= 32
    error_message = "signup_hook_secret must be at least 32 characters (domain/config.ts)."
  }
}

variable "social_credentials" {
  description = "Client id and secret of each social provider's app, by CRA provider id (google, apple, ...)"
  type        = map(object({ client_id = string, client_secret = string }))
  sensitive   = true
  default     = {}
}

variable "provider_credentials" {
  description = "What CRA itself keeps in Vault at secret/providers/<id> to link the provider (client_id, client_secret, ...)"
  type        = map(map(string))
  sensitive   = true
  default     = {}
}

variable "kubernetes_host" {
  description = "The Kubernetes API server Vault checks service-account tokens with; empty: no Kubernetes auth"
  type        = string
  default     = ""
}

variable "kubernetes_namespace" {
  description = "The namespace of CRA's pods (deploy/k8s/kustomization.yaml)"
  type        = string
  default     = "cra"
}

# Social connections: the same names and defaults as CRA's provider flags (domain/provider-catalog.ts,
# `ENABLE_<ID>_LOGIN`), so one set of values switches a provider in Auth0 and in CRA. Only the providers
# Auth0 has a built-in strategy for (https://auth0.com/docs/authenticate/identity-providers/social-identity-providers).
variable "ENABLE_GOOGLE_LOGIN" {
  type    = bool
  default = true
}

variable "ENABLE_APPLE_LOGIN" {
  type    = bool
  default = true
}

variable "ENABLE_FACEBOOK_LOGIN" {
  type    = bool
  default = true
}

variable "ENABLE_MICROSOFT_LOGIN" {
  type    = bool
  default = true
}

variable "ENABLE_X_LOGIN" {
  type    = bool
  default = false
}

variable "ENABLE_GITHUB_LOGIN" {
  type    = bool
  default = true
}

variable "ENABLE_LINKEDIN_LOGIN" {
  type    = bool
  default = true
}

variable "ENABLE_AMAZON_LOGIN" {
  type    = bool
  default = false
}
