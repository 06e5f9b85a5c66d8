// Plain HTTP helpers of the sim: error answers, JSON bodies, the bearer check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { veniceErrorBody } from './errors-http.js';

export const FAULT_HEADER = 'x-sim-fault';
export const E2EE_HEADERS = {
  clientPubKey: 'x-venice-tee-client-pub-key',
  modelPubKey: 'x-venice-tee-model-pub-key',
  signingAlgo: 'x-venice-tee-signing-algo',
} as const;

/** Thrown by a route; the server answers `status` with `body`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.error ?? status));
  }
}

/** An HttpError with `error` as message, else Venice's message for `status`. */
export const fail = (status: number, error?: string, extra: Record<string, unknown> = {}) =>
  new HttpError(status, { ...(error ? { error } : veniceErrorBody(status)), ...extra });

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed || res.headersSent) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

export function bearerMatches(header: string | undefined, apiKey: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  return timingSafeEqual(sha256(new TextEncoder().encode(m[1]!.trim())), sha256(new TextEncoder().encode(apiKey)));
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw fail(413);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
