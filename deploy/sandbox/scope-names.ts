/**
 * Provider-style scopes (`repo`, `read:user`, `user-read-email`, Facebook's comma lists …) must be
 * grantable without listing them up front. oidc-provider silently drops every scope that is not in its
 * `scopes` setting, and copies that setting at construction, so the sandbox adds each scope name to the
 * server's own set as the authorization request arrives. That set is private: it is reached through
 * oidc-provider's `weak_cache` helper, and checked at start-up so an upgrade that moves it fails loudly.
 */
import type { Provider } from 'oidc-provider';
import { get as internals } from 'oidc-provider/lib/helpers/weak_cache.js';

/** RFC 6749 §3.3 scope-token characters, as oidc-provider checks them. */
const scopeSyntax = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** A bound on what a sandbox learns, so a misbehaving client cannot grow it without limit. */
const maxLearnedScopes = 1000;

export type LearnScopes = (scopeParameter: string) => void;

export function scopeLearner(provider: Provider): LearnScopes {
  const scopes = internals(provider)?.configuration?.scopes;
  if (!(scopes instanceof Set)) {
    throw new Error('this oidc-provider version keeps its scope set elsewhere: update deploy/sandbox/scope-names.ts');
  }
  const known = scopes as Set<string>;
  let learned = 0;
  return (scopeParameter) => {
    for (const scope of scopeParameter.split(' ')) {
      if (known.has(scope) || !scopeSyntax.test(scope) || learned >= maxLearnedScopes) continue;
      known.add(scope);
      learned++;
    }
  };
}
