/**
 * Auth0 post-user-registration Action (deploy/terraform/auth0.tf): POST the new user to CRA's
 * `/v1/hooks/auth0/post-registration`, signed `CRA-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">` with the secret CRA has in SIGNUP_HOOK_SECRETS (api/auth/hook-signature.ts).
 * Auth0 runs this asynchronously; a failure does not block the registration, and CRA's signup for the
 * user also starts at the first sign-in. https://auth0.com/docs/customize/actions/explore-triggers/post-user-registration
 */
/* global require, exports */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- Auth0 Actions are CommonJS modules
const crypto = require('node:crypto');

exports.onExecutePostUserRegistration = async (event) => {
  const body = JSON.stringify({
    user: {
      user_id: event.user.user_id,
      email: event.user.email,
      email_verified: event.user.email_verified,
      given_name: event.user.given_name,
      family_name: event.user.family_name,
    },
  });
  const t = Math.floor(Date.now() / 1000);
  const v1 = crypto.createHmac('sha256', event.secrets.CRA_HOOK_SECRET).update(`${t}.${body}`, 'utf8').digest('hex');
  const response = await fetch(event.secrets.CRA_HOOK_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'CRA-Signature': `t=${t},v1=${v1}` },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`CRA post-registration hook answered ${response.status}`);
};
