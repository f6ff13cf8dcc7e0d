/**
 * The export archive: a zip of JSON Lines files and a `manifest.json`, written as a stream. Each file's
 * lines are produced one batch at a time by an async iterable (a database cursor, a Temporal listing), so
 * the archive never sits in memory, whatever the account holds; each file's byte count, line count and
 * SHA-256 are computed as its lines go by, and the manifest, added last, lists them.
 *
 * yazl writes the zip: entries are pulled one after the other (`addReadStreamLazy`), deflated, and sizes
 * and CRCs go into data descriptors, so nothing needs to be known before a file is written.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, type PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import type { ManifestFile } from './store.js';

export interface JsonLinesFile {
  name: string;
  /** The file's lines, one JSON value each, produced lazily when the zip reaches the file. */
  lines: () => AsyncIterable<unknown>;
}

export interface ArchiveSummary {
  /** Size of the zip. */
  bytes: number;
  files: ManifestFile[];
}

/** Lines are handed to the zip in chunks of about this size, not one write per line. */
const chunkBytes = 64 * 1024;

/**
 * Write `files` and a `manifest.json` (`manifest(files)`) as one zip into `sink`, ending it. Rejects, and
 * destroys the sink, when a file's lines fail; `onLine` is called after each line (for progress).
 */
export async function writeJsonLinesZip(
  sink: Writable,
  files: readonly JsonLinesFile[],
  opts: {
    manifest: (files: ManifestFile[]) => Record<string, unknown>;
    mtime?: Date;
    onLine?: (file: string) => void | Promise<void>;
  },
): Promise<ArchiveSummary> {
  const zip = new ZipFile();
  const mtime = opts.mtime ?? new Date();
  const written: ManifestFile[] = [];
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  // yazl pipes an entry's stream without listening for its errors: a failed file is reported here instead.
  let fail: (err: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => undefined);

  async function* encoded(file: JsonLinesFile, last: boolean): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let size = 0;
    let lines = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = () => {
      const chunk = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      hash.update(chunk);
      size += chunk.length;
      return chunk;
    };
    try {
      for await (const value of file.lines()) {
        const line = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
        pending.push(line);
        pendingBytes += line.length;
        lines++;
        await opts.onLine?.(file.name);
        if (pendingBytes >= chunkBytes) yield flush();
      }
      if (pendingBytes > 0) yield flush();
    } catch (err) {
      fail(err);
      throw err;
    }
    written.push({ name: file.name, bytes: size, lines, sha256: hash.digest('hex') });
    if (last) {
      zip.addBuffer(Buffer.from(`${JSON.stringify(opts.manifest(written), null, 2)}\n`, 'utf8'), 'manifest.json', {
        mtime,
      });
      zip.end();
    }
  }

  files.forEach((file, i) =>
    zip.addReadStreamLazy(file.name, { mtime }, (ready) => {
      const lines = Readable.from(encoded(file, i === files.length - 1), { objectMode: false });
      // Its error already went to `fail`; unheard, it would be an uncaught exception that ends the worker.
      lines.on('error', () => undefined);
      ready(null, lines);
    }),
  );
  if (files.length === 0) {
    zip.addBuffer(Buffer.from(`${JSON.stringify(opts.manifest([]), null, 2)}\n`, 'utf8'), 'manifest.json', { mtime });
    zip.end();
  }
  const out = zip.outputStream as unknown as PassThrough;
  const writing = pipeline(out, counter, sink);
  try {
    await Promise.race([writing, failed]);
  } catch (err) {
    out.destroy();
    sink.destroy(err instanceof Error ? err : new Error(String(err)));
    await writing.catch(() => undefined);
    throw err;
  }
  return { bytes, files: written };
}
