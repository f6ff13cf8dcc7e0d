/**
 * Tells CRA how to reach the sandbox as a client: the sandbox clients' ids and secrets go into the
 * SecretVault at `sandbox/providers/<id>`, where the provider activities look for them.
 */
import { credentialPaths } from '../../activities/providers/resolve.js';
import type { SecretVault } from '../../activities/secrets/port.js';
import type { ProviderId } from '../../domain/providers.js';
import type { SandboxClient } from './oidc-server.js';

export async function registerSandboxClients(
  vault: SecretVault,
  clients: Record<string, SandboxClient>,
): Promise<void> {
  for (const [provider, client] of Object.entries(clients)) {
    await vault.writeSecret(credentialPaths.sandbox(provider as ProviderId), {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
    });
  }
}
