/**
 * The code exchange of a link, retried by Temporal after its first attempt redeemed the code (its worker
 * was killed, or the dev server restarted and lost the answer): the fault suite found such links failing,
 * since a provider redeems a code only once. The retry carries on with the tokens the first attempt kept;
 * an attempt that finds another one still redeeming waits for it, and gives up only when that one is gone.
 */
import { ApplicationFailure } from '@temporalio/common';
import { expect, it } from 'vitest';
import { createProviderActivities } from '../../activities/providers/activities.js';
import { linkAttempts, providerTokens, vaultKeys } from '../../activities/providers/stores.js';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import { signedUp } from '../support/accounts.js';
import { useTestStack } from '../support/stack.js';

const stack = useTestStack({ sandbox: true });

/** An attempt whose callback came back (as the API leaves it for the workflow): its id, with the code stored. */
async function answeredAttempt(accountId: string, username: string): Promise<string> {
  const acts = activities();
  const { attemptId } = await acts.beginLinkAttempt({
    workflowId: `link/${accountId}/github`,
    accountId,
    provider: 'github',
    scopes: [],
    ttlMs: 600_000,
  });
  const attempt = (await linkAttempts(stack.db).findOne({ _id: attemptId }))!;
  const url = await stack.deps.vault.decrypt(vaultKeys.linkSecrets, attempt.authorizationUrlCiphertext!);
  const callback = await completeConsent(url, { username });
  await linkAttempts(stack.db).updateOne(
    { _id: attemptId },
    {
      $set: {
        status: 'callback_received',
        callbackAt: new Date().toISOString(),
        code: callback.searchParams.get('code'),
        authorizationUrlCiphertext: null,
      },
    },
  );
  return attemptId;
}

const activities = (now?: () => Date) =>
  createProviderActivities({
    db: stack.db,
    vault: stack.deps.vault,
    accountKeys: stack.deps.accountKeys,
    providers: stack.config.providers,
    publicUrl: stack.config.publicUrl,
    ...(now ? { now } : {}),
  });

it('a retry after the code was redeemed carries on with the tokens it got', async () => {
  const who = await signedUp(stack, 'auth0|exchange-retry');
  const attemptId = await answeredAttempt(who.accountId, 'exchange-retry-gh');
  const first = await activities().completeLinkExchange({ attemptId });
  // The first attempt's answer is lost: Temporal runs the activity again. The code is spent at the provider.
  const again = await activities().completeLinkExchange({ attemptId });
  // The same profile and tokens (`personal` is sealed again, with a fresh nonce).
  expect({ ...again, personal: undefined }).toEqual({ ...first, personal: undefined });
  expect(again.personal).toEqual(expect.any(String));
  expect(await providerTokens(stack.db).countDocuments({ _id: `pending:${attemptId}` })).toBe(1);
  const kept = (await linkAttempts(stack.db).findOne({ _id: attemptId }))!;
  expect(kept).toMatchObject({ status: 'exchanged', code: null, codeVerifierCiphertext: null });
  expect(kept.exchangedTokensCiphertext).toEqual(expect.any(String));
  // Once decided, the attempt keeps nothing.
  await activities().activateConnectionTokens({ attemptId, connectionId: first.connectionId });
  expect(await linkAttempts(stack.db).findOne({ _id: attemptId })).toMatchObject({ exchangedTokensCiphertext: null });
});

it('waits for an attempt still redeeming the code, and gives up once that one is surely gone', async () => {
  const who = await signedUp(stack, 'auth0|exchange-dead');
  const attemptId = await answeredAttempt(who.accountId, 'exchange-dead-gh');
  // An attempt sent the code and its worker died before it kept anything.
  const since = new Date();
  await linkAttempts(stack.db).updateOne(
    { _id: attemptId },
    { $set: { status: 'exchanging', exchangingSince: since.toISOString() } },
  );
  const soon = await activities(() => new Date(since.getTime() + 5_000))
    .completeLinkExchange({ attemptId })
    .catch((err: unknown) => err);
  expect(soon).toBeInstanceOf(ApplicationFailure);
  expect(soon).toMatchObject({ type: 'LinkExchangeInProgress', nonRetryable: false });
  const late = await activities(() => new Date(since.getTime() + 120_000))
    .completeLinkExchange({ attemptId })
    .catch((err: unknown) => err);
  expect(late).toMatchObject({ type: 'LinkExchangeFailed', nonRetryable: true });
});
