/**
 * The plain consent page, one per provider at `/<provider>/interaction/<uid>`: who is asking, for which
 * scopes, and who the person wants to be. The form posts back to the same URL with the fields
 * `username`, `email`, `email_verified` (a checkbox) and `decision` (`approve` or `deny`); tests and
 * the driver depend on these names. Approving signs in `<provider>:<username>` and grants the requested scopes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors } from 'oidc-provider';
import { accountIdFor, defaultEmailFor, defaultUsername, usernamePattern, type SandboxAccounts } from './accounts.js';
import { escapeHtml, page } from './html.js';
import { readForm, sendHtml } from './http-io.js';
import type { OidcServer } from './oidc-server.js';

interface FormValues {
  username: string;
  email: string;
  emailVerified: boolean;
}

interface ConsentView {
  provider: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  action: string;
  values: FormValues;
  problem?: string;
}

export function renderConsentPage(view: ConsentView): string {
  const scopes =
    view.scopes.length > 0
      ? `<ul id="scopes">${view.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>`
      : '<p id="scopes">No scopes.</p>';
  const provider = escapeHtml(view.provider);
  return page(
    `Sign in to ${view.provider} (sandbox)`,
    `<h1>Sign in to <code>${provider}</code> (sandbox)</h1>
<p>The application <strong id="client">${escapeHtml(view.clientId)}</strong> asks for:</p>
${scopes}
<p class="note">The answer goes back to <code>${escapeHtml(view.redirectUri)}</code>.</p>
${view.problem ? `<p class="error" role="alert">${escapeHtml(view.problem)}</p>` : ''}
<form id="sandbox-consent" method="post" action="${escapeHtml(view.action)}">
<label>Username <input type="text" name="username" value="${escapeHtml(view.values.username)}" maxlength="64" pattern="${escapeHtml(usernamePattern.source.slice(1, -1))}"></label>
<label>Email <input type="email" name="email" value="${escapeHtml(view.values.email)}"></label>
<p class="note">Left blank, the email is <code>&lt;username&gt;@${provider}.sandbox.test</code>.</p>
<label><input type="checkbox" name="email_verified" value="true"${view.values.emailVerified ? ' checked' : ''}> ${provider} has verified this email</label>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form>`,
  );
}

/** GET: show the page for the interaction named in the path (and in oidc-provider's interaction cookie). */
export async function showConsent(
  server: OidcServer,
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
): Promise<void> {
  const details = await openInteraction(server, req, res, uid);
  if (!details) return;
  sendHtml(
    res,
    200,
    renderConsentPage(
      viewOf(server, details, uid, {
        username: defaultUsername,
        email: defaultEmailFor(server.id, defaultUsername),
        emailVerified: true,
      }),
    ),
  );
}

/** POST: approve (sign in and grant the requested scopes) or deny (`error=access_denied` to the client). */
export async function submitConsent(
  server: OidcServer,
  accounts: SandboxAccounts,
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
): Promise<void> {
  const form = await readForm(req);
  const details = await openInteraction(server, req, res, uid);
  if (!details) return;
  const { provider } = server;
  const decision = form.get('decision');
  if (decision === 'deny') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the user denied access on the sandbox consent page' },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  const username = form.get('username')?.trim() || defaultUsername;
  const email = form.get('email')?.trim() || defaultEmailFor(server.id, username);
  const verified = form.get('email_verified');
  const values = { username, email, emailVerified: verified !== null && verified !== 'false' && verified !== '0' };
  const problem =
    decision !== 'approve'
      ? 'Choose Approve or Deny.'
      : !usernamePattern.test(username)
        ? 'A username is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.'
        : !/^[^\s@]+@[^\s@]+$/.test(email)
          ? 'That is not an email address.'
          : undefined;
  if (problem) {
    sendHtml(res, 400, renderConsentPage({ ...viewOf(server, details, uid, values), problem }));
    return;
  }

  const accountId = accountIdFor(server.id, username);
  accounts.save({ accountId, ...values });
  const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  const scope = typeof details.params.scope === 'string' ? details.params.scope : '';
  if (scope) grant.addOIDCScope(scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

type Interaction = Awaited<ReturnType<OidcServer['provider']['interactionDetails']>>;

async function openInteraction(
  server: OidcServer,
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
): Promise<Interaction | undefined> {
  const details = await server.provider.interactionDetails(req, res).catch((err: unknown) => {
    if (err instanceof errors.SessionNotFound) return undefined;
    throw err;
  });
  if (!details || details.uid !== uid) {
    sendHtml(
      res,
      400,
      page(
        `${server.id} sandbox`,
        `<h1>${escapeHtml(server.id)} sandbox</h1>
<p class="error">This sign-in is no longer open: it expired, was already answered, or was started in another browser. Start again from the application.</p>`,
      ),
    );
    return undefined;
  }
  return details;
}

function viewOf(server: OidcServer, details: Interaction, uid: string, values: FormValues): ConsentView {
  const scope = typeof details.params.scope === 'string' ? details.params.scope : '';
  return {
    provider: server.id,
    clientId: String(details.params.client_id),
    redirectUri: String(details.params.redirect_uri),
    scopes: scope.split(' ').filter(Boolean),
    action: `${server.mountPath}/interaction/${encodeURIComponent(uid)}`,
    values,
  };
}
