# CRA's Auth0 tenant and Vault set-up. `terraform init && terraform apply` (docs/production.md).
# Providers: https://registry.terraform.io/providers/auth0/auth0/latest/docs
#            https://registry.terraform.io/providers/hashicorp/vault/latest/docs
terraform {
  required_version = ">= 1.6"
  required_providers {
    auth0 = {
      source  = "auth0/auth0"
      version = "~> 1.0"
    }
    vault = {
      source  = "hashicorp/vault"
      version = "~> 4.0"
    }
  }
}

# AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET of a Management API client in the environment.
provider "auth0" {}

# VAULT_ADDR and VAULT_TOKEN (an operator's token) in the environment.
provider "vault" {}
