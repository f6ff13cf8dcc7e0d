# CRA's environment, by variable name (domain/config.ts; a test checks every name exists there).
#   terraform output -json cra_environment          -> the ConfigMap cra-config / compose's .env
#   terraform output -json cra_secret_environment   -> the Secret cra-secrets
output "cra_environment" {
  value = {
    AUTH0_DOMAIN          = data.auth0_tenant.current.domain
    AUTH0_CLIENT_ID       = auth0_client.cra.client_id
    AUTH0_AUDIENCE        = auth0_resource_server.cra.identifier
    AUTH_AUDIENCE         = auth0_resource_server.cra.identifier
    AUTH0_DEFAULT_ROLE_ID = auth0_role.cra["member"].id
    AUTH0_LOGIN_CLIENT_ID = auth0_client.web.client_id
    CRA_PUBLIC_URL        = var.public_url
    VAULT_TRANSIT_MOUNT   = vault_mount.transit.path
    VAULT_KV_MOUNT        = vault_mount.kv.path
    VAULT_APPROLE_MOUNT   = vault_auth_backend.approle.path
    # One Vault login method per environment (the config refuses two): Kubernetes auth when the cluster is
    # known, AppRole otherwise. An empty value counts as unset.
    VAULT_ROLE_ID  = var.kubernetes_host == "" ? vault_approle_auth_backend_role.cra.role_id : ""
    VAULT_K8S_ROLE = var.kubernetes_host == "" ? "" : vault_kubernetes_auth_backend_role.cra[0].role_name
  }
}

output "cra_secret_environment" {
  sensitive = true
  value = {
    AUTH0_CLIENT_SECRET       = auth0_client_credentials.cra.client_secret
    AUTH0_LOGIN_CLIENT_SECRET = auth0_client_credentials.web.client_secret
    VAULT_SECRET_ID           = var.kubernetes_host == "" ? vault_approle_auth_backend_role_secret_id.cra.secret_id : ""
    SIGNUP_HOOK_SECRETS       = var.signup_hook_secret
  }
}

output "mobile_client_id" {
  value = auth0_client.mobile.client_id
}
