/** The pages' stylesheet and script, from this origin (the pages' CSP allows nothing else). */
import { Hono } from 'hono';
import { passkeySignInScript, stylesheet } from './assets.js';

const cache = { 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' };

export const assetRoutes = new Hono()
  .get('/assets/cra.css', (c) => c.body(stylesheet, 200, { 'content-type': 'text/css; charset=utf-8', ...cache }))
  .get('/assets/passkey-sign-in.js', (c) =>
    c.body(passkeySignInScript, 200, { 'content-type': 'text/javascript; charset=utf-8', ...cache }),
  );
