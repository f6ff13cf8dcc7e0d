# Vault for CRA: the transit and KV v2 engines, CRA's policy (../vault/cra-policy.hcl, shared with
# compose), and two ways in: AppRole (VAULT_ROLE_ID + VAULT_SECRET_ID) and Kubernetes auth (VAULT_K8S_ROLE).
# https://registry.terraform.io/providers/hashicorp/vault/latest/docs/resources/mount
#   transit_secret_backend_key, kv_secret_v2, policy, auth_backend, approle_auth_backend_role,
#   approle_auth_backend_role_secret_id, kubernetes_auth_backend_config, kubernetes_auth_backend_role

resource "vault_mount" "transit" {
  path        = "transit"
  type        = "transit"
  description = "CRA key material (VAULT_TRANSIT_MOUNT)"
}

resource "vault_mount" "kv" {
  path        = "secret"
  type        = "kv"
  options     = { version = "2" }
  description = "CRA secrets: provider credentials, wrapped data keys (VAULT_KV_MOUNT)"
}

locals {
  # The fixed key names CRA uses (activities/**, domain/recovery.ts; a test keeps the list complete).
  # CRA creates a missing key itself (the policy allows it); declaring them here fixes their type and
  # forbids deleting them. Keys are aes256-gcm96, Vault's default, which also serves HMAC.
  transit_keys = [
    "account-data-keys",
    "account-email-lookup",
    "account-subject-lookup",
    "audit-chain",
    "audit-redaction",
    "erasure-audit",
    "erasure-certificate",
    "erasure-subject",
    "export-links",
    "link-secrets",
    "provider-tokens",
    "record-origin",
    "recovery-factors",
    "recovery-provider-reauth",
    "session-tokens",
  ]
}

resource "vault_transit_secret_backend_key" "cra" {
  for_each         = toset(local.transit_keys)
  backend          = vault_mount.transit.path
  name             = each.value
  type             = "aes256-gcm96"
  deletion_allowed = false
}

# Each provider's client credentials, read by activities/providers/resolve.ts at providers/<id>.
resource "vault_kv_secret_v2" "provider" {
  for_each  = nonsensitive(toset(keys(var.provider_credentials)))
  mount     = vault_mount.kv.path
  name      = "providers/${each.value}"
  data_json = jsonencode(var.provider_credentials[each.value])
}

resource "vault_policy" "cra" {
  name   = "cra"
  policy = file("${path.module}/../vault/cra-policy.hcl")
}

resource "vault_auth_backend" "approle" {
  type = "approle"
  path = "approle"
}

resource "vault_approle_auth_backend_role" "cra" {
  backend        = vault_auth_backend.approle.path
  role_name      = "cra"
  token_policies = [vault_policy.cra.name]
  token_ttl      = 3600
  token_max_ttl  = 86400
}

resource "vault_approle_auth_backend_role_secret_id" "cra" {
  backend   = vault_auth_backend.approle.path
  role_name = vault_approle_auth_backend_role.cra.role_name
}

resource "vault_auth_backend" "kubernetes" {
  count = var.kubernetes_host == "" ? 0 : 1
  type  = "kubernetes"
  path  = "kubernetes"
}

resource "vault_kubernetes_auth_backend_config" "cra" {
  count           = var.kubernetes_host == "" ? 0 : 1
  backend         = vault_auth_backend.kubernetes[0].path
  kubernetes_host = var.kubernetes_host
}

# Bound to deploy/k8s/serviceaccount.yaml's `cra` in CRA's namespace.
resource "vault_kubernetes_auth_backend_role" "cra" {
  count                            = var.kubernetes_host == "" ? 0 : 1
  backend                          = vault_auth_backend.kubernetes[0].path
  role_name                        = "cra"
  bound_service_account_names      = ["cra"]
  bound_service_account_namespaces = [var.kubernetes_namespace]
  token_policies                   = [vault_policy.cra.name]
  token_ttl                        = 3600
}
