/** What the per-provider contract tests (`test/contract/<provider>-data.test.ts`) share. */
import type { ProviderAnswer } from '../../activities/providers/data/reader.js';
import { renderContext, type SandboxProviderApi } from '../../deploy/sandbox/apis/kit.js';
import { generateRecord, kindSpecFor, seedOf } from '../../deploy/sandbox/data-kinds.js';

/** A provider's answer as a reader sees it: the URL asked, the status, headers and parsed JSON body. */
export function answer(url: string, body: unknown, status = 200, headers: Record<string, string> = {}): ProviderAnswer {
  return { url: new URL(url), status, headers: new Headers(headers), body };
}

/** Record `index` of a generated dataset of `kind`, as the sandbox's API for the provider renders it. */
export function sandboxItem(
  api: SandboxProviderApi,
  kind: string,
  opts: { username?: string; index?: number; seed?: string } = {},
): Record<string, unknown> {
  const username = opts.username ?? 'alice';
  const index = opts.index ?? 7;
  const spec = kindSpecFor(kind);
  const id = `${spec.idPrefix}-${String(index).padStart(6, '0')}`;
  const seed = seedOf(opts.seed ?? `${api.provider}\u0000${username}\u0000${kind}`);
  const record = generateRecord(spec, seed, id, api.provider, username, index);
  return api.render(kind, record, renderContext(api.provider, username, record));
}
