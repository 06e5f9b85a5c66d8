/**
 * Reading a request body under a size limit. A declared `Content-Length` over the limit is
 * refused before a byte is kept; a body that grows past it is refused as soon as it does. Either
 * way the rest is read and dropped (not kept) rather than the connection cut, so the caller can
 * read the 413 instead of seeing a reset.
 */
import type { IncomingMessage } from 'node:http';

/** Default request body limit: 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export type BodyResult = { ok: true; text: string } | { ok: false; reason: 'too_large' | 'unreadable' };

/** Reads `req`'s body as UTF-8, at most `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume(); // dropped as it comes
    return Promise.resolve({ ok: false, reason: 'too_large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) return settle({ ok: false, reason: 'too_large' });
      chunks.push(chunk);
    });
    req.on('end', () => settle({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', () => settle({ ok: false, reason: 'unreadable' }));
    req.on('close', () => settle({ ok: false, reason: 'unreadable' }));
  });
}
