import { isZkCreditsError } from '@zkcredits/core';
import { writeWithBackpressure as write } from '@zkcredits/core/node';
import type { Response } from 'express';
import { ApiError, UpstreamFailure, toApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { FORWARDED_RESPONSE_HEADERS, type UpstreamResponse } from '../upstream/venice.js';

/** Largest non-streamed upstream answer the server buffers. */
export const MAX_UPSTREAM_BODY = 32 * 1024 * 1024;
/** Largest provider error body read for its message. */
const MAX_ERROR_BODY = 64 * 1024;

/** A failure while talking to the provider, as the client's error (provider trouble unless typed otherwise). */
export function upstreamError(err: unknown): ApiError {
  if (err instanceof ApiError || isZkCreditsError(err)) return toApiError(err);
  return new ApiError('upstream_error', { cause: err });
}

/** Reads a provider answer whole; over `limit` bytes it cancels the answer and throws `upstream_error`. */
export async function readAll(up: UpstreamResponse, limit: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of up.chunks) {
    size += chunk.byteLength;
    if (size > limit) {
      up.cancel();
      throw new ApiError('upstream_error', { details: 'the provider answer is too large' });
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** The client's error for a provider answer that is not 2xx; reads (a bounded part of) its body for the message. */
export async function upstreamStatusError(up: UpstreamResponse, retryAfterSeconds: number): Promise<ApiError> {
  let message: string | undefined;
  try {
    const text = (await readAll(up, MAX_ERROR_BODY)).toString('utf8');
    const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message);
    if (typeof m === 'string') message = m.slice(0, 300);
  } catch {
    // not JSON: no detail
  }
  const s = up.status;
  if (s === 429) {
    const ra = Number(up.headers.get('retry-after'));
    return new ApiError('upstream_busy', { retryAfter: Number.isFinite(ra) && ra > 0 ? Math.ceil(ra) : retryAfterSeconds });
  }
  if (s === 401 || s === 403 || s >= 500) return new ApiError('upstream_error', { details: `provider status ${s}` });
  return new ApiError('upstream_rejected', { status: s === 413 || s === 422 ? s : 400, details: message ? `provider said: ${message}` : `provider status ${s}` });
}

/** Copies the provider response headers a client may see (`FORWARDED_RESPONSE_HEADERS`). */
export function copyResponseHeaders(from: Headers, res: Response): void {
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = from.get(name);
    if (value !== null) res.setHeader(name, value);
  }
}

export type RelayOptions = {
  /** A 2xx provider answer. */
  up: UpstreamResponse;
  res: Response;
  stream: boolean;
  /** Aborted when the client left. */
  signal: AbortSignal;
  /** Called once, just before the first byte goes to the client (marks the credit spent); may throw. */
  beforeFirstByte: () => Promise<void>;
  metrics: Metrics;
  log: Logger;
};

/**
 * Relays a 2xx provider answer to the client. Non-streamed: read whole (bounded), then
 * `beforeFirstByte`, then sent. Streamed: the first chunk is awaited before `beforeFirstByte`, so a
 * provider that fails early costs nothing; after that chunks pass through as they arrive, with
 * back-pressure. Throws (nothing sent yet) when the provider fails or the client left before the
 * first byte; after the first byte a provider failure truncates the stream instead, since the
 * answer is already paid for. Cancels the provider answer whenever it stops reading early.
 * Resolves how it ended once the first byte was sent.
 */
export async function relayAnswer({ up, res, stream, signal, beforeFirstByte, metrics, log }: RelayOptions): Promise<'served' | 'truncated' | 'client_left'> {
  let first: Uint8Array;
  let rest: AsyncIterator<Uint8Array> | undefined;
  try {
    if (!stream) {
      first = await readAll(up, MAX_UPSTREAM_BODY);
    } else {
      rest = up.chunks[Symbol.asyncIterator]();
      const next = await rest.next();
      if (next.done) throw new ApiError('upstream_error', { details: 'empty answer' });
      first = next.value;
    }
  } catch (err) {
    up.cancel();
    throw upstreamError(err);
  }
  if (signal.aborted) {
    up.cancel();
    throw new ApiError('upstream_error', { details: 'client went away' });
  }
  try {
    await beforeFirstByte();
  } catch (err) {
    up.cancel();
    throw err;
  }

  res.status(up.status);
  copyResponseHeaders(up.headers, res);
  if (!rest) {
    res.end(first);
    return 'served';
  }
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  let ok = await write(res, first);
  try {
    for (let next = await rest.next(); ok && !next.done; next = await rest.next()) ok = await write(res, next.value);
  } catch (err) {
    // Already answered and paid: the client sees a truncated stream.
    metrics.upstreamErrors.inc({ kind: err instanceof UpstreamFailure ? err.kind : 'network' });
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'upstream stream broke after the answer started');
    res.destroy();
    return 'truncated';
  }
  if (!ok) {
    up.cancel();
    return 'client_left';
  }
  res.end();
  return 'served';
}
