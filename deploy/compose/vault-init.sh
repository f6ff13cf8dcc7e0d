#!/bin/sh
# One-shot set-up of the compose Vault (a dev server: in memory, unsealed, KV v2 already at `secret/`).
# Enables transit, writes CRA's policy (deploy/vault/cra-policy.hcl) and an AppRole whose role id and
# secret id are the fixed values compose gives the API and the worker (VAULT_ROLE_ID, VAULT_SECRET_ID).
#   transit: https://developer.hashicorp.com/vault/docs/secrets/transit
#   AppRole role-id / custom-secret-id: https://developer.hashicorp.com/vault/api-docs/auth/approle
set -eu
: "${VAULT_ADDR:?}" "${VAULT_TOKEN:?}" "${CRA_VAULT_ROLE_ID:?}" "${CRA_VAULT_SECRET_ID:?}"

until vault status >/dev/null 2>&1; do sleep 1; done

vault secrets list | grep -q '^transit/' || vault secrets enable transit
vault secrets list | grep -q '^secret/' || vault secrets enable -path=secret kv-v2
vault policy write cra /vault/cra-policy.hcl
vault auth list | grep -q '^approle/' || vault auth enable approle
vault write auth/approle/role/cra token_policies=cra token_ttl=1h token_max_ttl=24h secret_id_ttl=0
vault write auth/approle/role/cra/role-id role_id="$CRA_VAULT_ROLE_ID"
# A fixed secret id for a laptop only; in production let Vault generate it (deploy/terraform or K8s auth).
vault write -f auth/approle/role/cra/custom-secret-id secret_id="$CRA_VAULT_SECRET_ID" >/dev/null
echo "vault-init: transit, policy cra, AppRole cra ready"
