/**
 * The outbox keeps what a notice says sealed (issue 15, item 2). Notices go through the installation's real
 * notifier into FerretDB; the stored documents, read raw with the driver as a backup or an operator would,
 * hold no code, link, ticket, token or address. The notices still read back (by address, through the blind
 * index, however the address is written); once an account's data key is destroyed its notices no longer
 * open, and reading the outbox skips them instead of failing.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { accountIdForSubject } from '../../domain/account-id.js';
import { collections } from '../../domain/collections.js';
import { noticesTo } from '../support/people.js';
import { useTestStack } from '../support/stack.js';

const stack = useTestStack({ workers: false });
const tag = randomBytes(4).toString('hex');
const accountId = accountIdForSubject(`auth0|outbox-sealed-${tag}`);

const codeAddress = `Outbox.Code.${tag}@Example.com`;
const accountAddress = `outbox-owner-${tag}@example.com`;
const phone = `+4915${parseInt(tag, 16).toString().padStart(10, '0').slice(0, 9)}`;
const code = `${parseInt(tag.slice(0, 6), 16).toString().padStart(8, '7').slice(0, 8)}`;
const ticketUrl = `https://cra.test/account/password?ticket=pwticket-${tag}`;
const cancelUrl = `https://cra.test/account/erasure/cancel?token=canceltoken-${tag}`;
/** Every value that must not be readable in the stored documents. */
const secrets = [code, ticketUrl, `pwticket-${tag}`, cancelUrl, `canceltoken-${tag}`, phone, accountAddress];

async function queueAll(): Promise<void> {
  const { notifier, accountKeys } = stack.deps;
  // The account has a data key, as every account has once signed up.
  await accountKeys.keyFor(accountId);
  await notifier.send({
    idempotencyKey: `outbox-sealed-code-${tag}`,
    channel: 'email',
    to: codeAddress,
    template: 'recovery-code',
    data: { code, minutes: 10 },
  });
  await notifier.send({
    idempotencyKey: `outbox-sealed-sms-${tag}`,
    channel: 'sms',
    to: phone,
    template: 'recovery-code',
    data: { code, minutes: 10 },
  });
  await notifier.send({
    idempotencyKey: `outbox-sealed-ticket-${tag}`,
    channel: 'email',
    to: accountAddress,
    accountId,
    template: 'recovery-password-ticket',
    data: { ticketUrl, minutes: 15 },
  });
  await notifier.send({
    idempotencyKey: `outbox-sealed-erasure-${tag}`,
    channel: 'email',
    to: accountAddress,
    accountId,
    template: 'erasure-requested',
    data: { cancelUrl, graceEndsAt: '2026-12-31T00:00:00.000Z' },
  });
}

describe('the outbox, sealed', () => {
  it('stores no code, link, ticket, token or address in clear, and still reads the notices back', async () => {
    await queueAll();
    const stored = await stack.db
      .collection(collections.outbox)
      .find({ idempotencyKey: { $regex: `^outbox-sealed-.*-${tag}$` } })
      .toArray();
    expect(stored).toHaveLength(4);
    const raw = JSON.stringify(stored);
    for (const secret of secrets) expect(raw).not.toContain(secret);
    expect(raw.toLowerCase()).not.toContain(codeAddress.toLowerCase());

    // The blind index finds the notice however the address is written; it opens to what the mail says.
    const [codeNotice, ...others] = await noticesTo(stack, { to: ` ${codeAddress.toLowerCase()}` });
    expect(others).toEqual([]);
    expect(codeNotice).toMatchObject({ to: codeAddress, template: 'recovery-code', channel: 'email' });
    expect(codeNotice!.body).toContain(code);
    const [sms] = await noticesTo(stack, { to: phone, template: 'recovery-code' });
    expect(sms?.body).toContain(code);
    const ofAccount = await noticesTo(stack, { accountId });
    expect(ofAccount.map((n) => n.template).sort()).toEqual(['erasure-requested', 'recovery-password-ticket']);
    expect(ofAccount.find((n) => n.template === 'recovery-password-ticket')?.body).toContain(ticketUrl);
    expect(ofAccount.find((n) => n.template === 'erasure-requested')?.data?.cancelUrl).toBe(cancelUrl);
  });

  it("makes an erased account's notices unreadable: reading the outbox skips them and reads the rest", async () => {
    await stack.deps.accountKeys.destroy(accountId);
    expect(await noticesTo(stack, { accountId })).toEqual([]);
    expect(await noticesTo(stack, { to: accountAddress })).toEqual([]);
    // Notices without an account (sealed with the installation's key) still open.
    const [codeNotice] = await noticesTo(stack, { to: codeAddress });
    expect(codeNotice?.body).toContain(code);
  });
});
