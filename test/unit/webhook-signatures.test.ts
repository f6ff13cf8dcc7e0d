/**
 * The provider webhook signatures against the providers' own published examples, and the refusals: the
 * signature is over the raw bytes, any configured secret may match, Slack's timestamp must be recent.
 */
import { describe, expect, it } from 'vitest';
import {
  githubSignature,
  slackSignature,
  verifyGithubSignature,
  verifySlackSignature,
} from '../../api/auth/webhook-signatures.js';

describe('GitHub X-Hub-Signature-256', () => {
  // The test values of https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
  // ("Testing the webhook payload validation").
  const docSecret = "It's a Secret to Everybody";
  const docBody = Buffer.from('Hello, World!');
  const docSignature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

  it('matches the example of GitHub’s documentation', () => {
    expect(githubSignature(docSecret, docBody)).toBe(docSignature);
    expect(verifyGithubSignature(docSignature, docBody, [docSecret])).toEqual({ ok: true });
  });

  it('accepts the previous secret during a rotation, and upper-case hex', () => {
    expect(
      verifyGithubSignature(docSignature.toUpperCase().replace('SHA256', 'sha256'), docBody, ['new', docSecret]),
    ).toEqual({ ok: true });
  });

  it.each([
    ['missing', undefined, 'signature_missing'],
    ['not sha256=', docSignature.slice(7), 'signature_malformed'],
    ['SHA-1', `sha1=${'a'.repeat(40)}`, 'signature_malformed'],
    ['short', docSignature.slice(0, 40), 'signature_malformed'],
    ['another secret', githubSignature('another', docBody), 'signature_mismatch'],
    ['another body', githubSignature(docSecret, 'Hello, World?'), 'signature_mismatch'],
  ])('refuses a signature that is %s', (_, header, code) => {
    expect(verifyGithubSignature(header, docBody, [docSecret])).toMatchObject({ ok: false, code });
  });

  it('checks the raw bytes, not their decoding: an invalid UTF-8 byte changes the signature', () => {
    const raw = Buffer.from([0x7b, 0xff, 0x7d]);
    const decodedAgain = Buffer.from(raw.toString('utf8'));
    expect(verifyGithubSignature(githubSignature('s', raw), raw, ['s'])).toEqual({ ok: true });
    expect(verifyGithubSignature(githubSignature('s', raw), decodedAgain, ['s'])).toMatchObject({ ok: false });
  });
});

describe('Slack X-Slack-Signature', () => {
  // The example of https://api.slack.com/authentication/verifying-requests-from-slack.
  const docSecret = '8f742231b10e8888abcd99yyyzzz85a5';
  const docTimestamp = '1531420618';
  const docBody = Buffer.from(
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  );
  const docSignature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
  const at = Number(docTimestamp);

  it('matches the example of Slack’s documentation', () => {
    expect(slackSignature(docSecret, docTimestamp, docBody)).toBe(docSignature);
    expect(verifySlackSignature(docSignature, docTimestamp, docBody, [docSecret], at + 10)).toEqual({ ok: true });
  });

  it('accepts the previous signing secret', () => {
    expect(verifySlackSignature(docSignature, docTimestamp, docBody, ['rotated', docSecret], at)).toEqual({ ok: true });
  });

  it('refuses a timestamp more than five minutes away, either way', () => {
    for (const now of [at + 301, at - 301])
      expect(verifySlackSignature(docSignature, docTimestamp, docBody, [docSecret], now)).toMatchObject({
        ok: false,
        code: 'timestamp_stale',
      });
    expect(verifySlackSignature(docSignature, docTimestamp, docBody, [docSecret], at + 300)).toEqual({ ok: true });
  });

  it.each([
    ['no signature', undefined, docTimestamp, 'signature_missing'],
    ['no timestamp', docSignature, undefined, 'signature_malformed'],
    ['a timestamp that is not a number', docSignature, 'soon', 'signature_malformed'],
    ['another scheme', docSignature.replace('v0=', 'v1='), docTimestamp, 'signature_malformed'],
    ['a moved timestamp', docSignature, String(at + 1), 'signature_mismatch'],
    ['another secret', slackSignature('other', docTimestamp, docBody), docTimestamp, 'signature_mismatch'],
  ])('refuses %s', (_, header, timestamp, code) => {
    expect(verifySlackSignature(header, timestamp, docBody, [docSecret], at)).toMatchObject({ ok: false, code });
  });
});
