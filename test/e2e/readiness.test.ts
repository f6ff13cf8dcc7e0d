/** `/readyz` says 503, as problem+json naming what failed, when Temporal or MongoDB does not answer. */
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { freePort } from '../../deploy/local/services.js';
import { loadConfig } from '../../domain/config.js';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
});

it('answers 503 while its dependencies are down, and /healthz stays 200', async () => {
  const [temporalPort, mongoPort] = [await freePort(), await freePort()];
  const config = loadConfig({
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    MONGODB_URI: `mongodb://127.0.0.1:${mongoPort}`,
    CRA_HEALTH_TIMEOUT_MS: '500',
  });
  const mongo = new MongoClient(config.mongo.uri, { serverSelectionTimeoutMS: 300 });
  const connection = Connection.lazy({ address: config.temporal.address, connectTimeout: 300 });
  closers.push(
    () => mongo.close(),
    () => connection.close(),
  );
  const app = createApp({
    config,
    temporal: new Client({ connection }),
    db: mongo.db('cra'),
    log: pino({ level: 'silent' }),
    jwks: { keys: [] },
  });

  const ready = await app.request('/readyz');
  expect(ready.status).toBe(503);
  expect(ready.headers.get('content-type')).toContain('application/problem+json');
  const body = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
  expect(body).toMatchObject({ status: 503, checks: { temporal: { ok: false }, mongodb: { ok: false } } });
  expect((await app.request('/healthz')).status).toBe(200);
});

it('answers 503, not 401, when the token issuer’s key set cannot be fetched', async () => {
  const jwksPort = await freePort();
  const config = loadConfig({
    AUTH_JWKS_URL: `http://127.0.0.1:${jwksPort}/.well-known/jwks.json`,
    AUTH_ISSUER: 'https://issuer.example/',
  });
  const mongo = new MongoClient(config.mongo.uri, { serverSelectionTimeoutMS: 300 });
  const connection = Connection.lazy({ address: config.temporal.address });
  closers.push(
    () => mongo.close(),
    () => connection.close(),
  );
  const app = createApp({
    config,
    temporal: new Client({ connection }),
    db: mongo.db('cra'),
    log: pino({ level: 'silent' }),
  });
  const { privateKey } = await generateKeyPair('RS256');
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer('https://issuer.example/')
    .setAudience(config.auth.audience)
    .setSubject('auth0|someone')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
  const res = await app.request('/v1/me', { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  expect(await res.json()).toMatchObject({ type: expect.stringContaining('unavailable'), status: 503 });
});
