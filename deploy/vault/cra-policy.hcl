# CRA's Vault policy: what the worker and the API may do with the transit engine (mounted at `transit`)
# and the KV version 2 engine (mounted at `secret`): see activities/secrets/hashicorp-vault.ts, which
# names every request it makes. Used by deploy/compose/vault-init.sh and deploy/terraform/vault.tf.
# Policy syntax (`*` glob at the end, `+` one segment): https://developer.hashicorp.com/vault/docs/concepts/policies
# Transit API: https://developer.hashicorp.com/vault/api-docs/secret/transit
# KV v2 API: https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2
# If you mount the engines elsewhere (VAULT_TRANSIT_MOUNT, VAULT_KV_MOUNT), change the prefixes here too.

# Encrypt creates the key on first use, hence `create`.
path "transit/encrypt/*" {
  capabilities = ["create", "update"]
}

path "transit/decrypt/*" {
  capabilities = ["update"]
}

path "transit/rewrap/*" {
  capabilities = ["update"]
}

path "transit/hmac/*" {
  capabilities = ["update"]
}

path "transit/verify/*" {
  capabilities = ["update"]
}

# An account's data key: Vault returns it wrapped and in clear, once.
path "transit/datakey/plaintext/*" {
  capabilities = ["update"]
}

# Reading a key's versions, creating a missing HMAC key.
path "transit/keys/*" {
  capabilities = ["create", "read", "update"]
}

path "transit/keys/+/rotate" {
  capabilities = ["update"]
}

# Provider client credentials (`providers/<id>`), the sandbox's, and the accounts' wrapped data keys.
path "secret/data/*" {
  capabilities = ["create", "read", "update"]
}

# Erasure destroys an account's data key with every version.
path "secret/metadata/*" {
  capabilities = ["delete"]
}
