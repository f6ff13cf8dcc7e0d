/**
 * A credential reset in the embedded directory (what an account recovery ends with) revokes the person's
 * sessions: access tokens issued before it are refused, new ones work.
 */
import { expect, it } from 'vitest';
import { signedUp } from '../support/accounts.js';
import { call, useTestStack, tokenFor } from '../support/stack.js';

const stack = useTestStack();

it('refuses tokens issued before the sessions were revoked', async () => {
  const person = await signedUp(stack, `auth0|revoked-${Date.now()}`);
  expect((await call(stack, 'GET', '/v1/me', { token: person.token })).status).toBe(200);
  // Tokens carry whole seconds: let a second pass so the old token is strictly older than the reset.
  await new Promise((r) => setTimeout(r, 1100));
  await stack.deps.directory.resetCredentials(person.subject, { ticketTtlSeconds: 300 });

  const refused = await call<{ detail: string }>(stack, 'GET', '/v1/me', { token: person.token });
  expect(refused.status).toBe(401);
  // The answer names no check (it would tell a token thief the victim reacted); the log does.
  expect(stack.apiLog.filter((l) => l.includes('access token refused')).at(-1)).toContain(
    "issued before this account's sessions were revoked",
  );
  expect(refused.headers.get('www-authenticate')).toContain('invalid_token');

  await new Promise((r) => setTimeout(r, 1100));
  const fresh = await tokenFor(stack, person.subject);
  expect((await call(stack, 'GET', '/v1/me', { token: fresh })).status).toBe(200);
});
