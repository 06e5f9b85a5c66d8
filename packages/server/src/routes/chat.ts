import { randomUUID } from 'node:crypto';
import { isZkCreditsError, requestHash } from '@zkcredits/core';
import type { Request, Response } from 'express';
import type { Config } from '../config.js';
import { authorizeApiKey, authorizeProof, bearerCredential, unavailableCredit, type AuthorizedCredit, type CreditDeps } from '../credit.js';
import { ApiError } from '../errors.js';
import { prepareChat } from './chat-request.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';
import { FORWARDED_REQUEST_HEADERS, FORWARDED_RESPONSE_HEADERS, UpstreamFailure, type Upstream, type UpstreamResponse } from '../upstream/venice.js';

/** The route path every request hash is computed over (PROTOCOL.md, "Request binding"). */
export const CHAT_PATH = '/v1/chat/completions';
/** Largest non-streamed upstream answer the server buffers. */
const MAX_UPSTREAM_BODY = 32 * 1024 * 1024;

export type ChatDeps = CreditDeps & {
  config: Config;
  upstream: Upstream;
  logger: Logger;
};

function mapUpstreamFailure(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof UpstreamFailure) return new ApiError(err.kind === 'timeout' ? 'upstream_timeout' : 'upstream_error', { cause: err });
  return new ApiError('upstream_error', { cause: err });
}

async function readAll(up: UpstreamResponse, limit: number): Promise<Buffer> {
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

async function upstreamStatusError(up: UpstreamResponse, retryAfterSeconds: number): Promise<ApiError> {
  let message: string | undefined;
  try {
    const text = (await readAll(up, 64 * 1024)).toString('utf8');
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

function copyResponseHeaders(from: Headers, res: Response): void {
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = from.get(name);
    if (value !== null) res.setHeader(name, value);
  }
}

/** The bound (E2EE) request headers the client sent; they are hashed and forwarded as-is. */
function boundRequestHeaders(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** Writes with back-pressure; resolves false if the client is gone. */
function write(res: Response, chunk: Uint8Array): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * `POST /v1/chat/completions`: authorize the credit, reserve its nullifier, call the
 * provider, and mark the credit spent just before the first byte of an answer goes to the
 * client. Any failure before that releases the reservation, so the credit stays spendable.
 */
export function chatHandler(deps: ChatDeps) {
  const log = deps.logger.child({ subsystem: 'chat' });
  const { store, metrics } = deps;

  return async function handle(req: Request, res: Response): Promise<void> {
    if (req.body === undefined || !req.is('application/json')) throw new ApiError('unsupported_media_type');
    const body = req.body as unknown;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ApiError('invalid_request', { message: 'The request body must be a JSON object.' });
    }
    const headers = boundRequestHeaders(req);

    let rh: bigint;
    try {
      rh = requestHash({ chainId: deps.config.chain.chainId, contract: deps.config.chain.contract, method: 'POST', path: CHAT_PATH, headers, body });
    } catch (err) {
      if (isZkCreditsError(err)) throw new ApiError('invalid_request', { details: err.shortMessage });
      throw err;
    }
    // After the hash: it refuses bodies nested too deeply or holding non-finite numbers first.
    const { forward, stream, model } = prepareChat(deps.config, body as Record<string, unknown>, headers);

    let credit: AuthorizedCredit;
    if (Object.hasOwn(body, 'zkcredits')) {
      credit = await authorizeProof(deps, (body as Record<string, unknown>).zkcredits, rh);
    } else {
      const key = bearerCredential(req.headers.authorization);
      if (!key) throw new ApiError('missing_credit');
      credit = await authorizeApiKey(deps, key, rh);
    }

    const token = randomUUID();
    const reserved = await store.reserve(credit.nullifierHash, token, deps.now(), deps.config.reservationTtlMs);
    if (!reserved.ok) throw await unavailableCredit(deps, credit.nullifierHash, reserved.state);

    let settled = false;
    const release = async (reason: string) => {
      if (settled) return;
      settled = true;
      // Counted: from the configured release on, the credit cools down (PROTOCOL.md, "Release cooldown").
      const cooldown = { now: deps.now(), after: deps.config.releasesBeforeCooldown };
      const ok = await store.release(credit.nullifierHash, token, cooldown).catch((err: unknown) => {
        log.error({ err }, 'could not release a reservation; it will expire');
        return false;
      });
      metrics.credits.inc({ outcome: 'released', code: reason });
      log.info({ mode: credit.mode, reason, released: ok }, 'credit kept: no answer reached the client');
    };
    const commit = async () => {
      settled = true;
      if (!(await store.markSpent(credit.nullifierHash, token, deps.now()))) {
        // Our reservation expired and another request took the credit over: it serves, we don't.
        throw new ApiError('credit_in_use', { retryAfter: deps.retryAfterSeconds });
      }
      metrics.credits.inc({ outcome: 'spent', code: '' });
    };

    // A client that leaves after its request went to the provider has had the provider work
    // for it (and the operator billed): that credit is spent, not released. Otherwise one
    // credit could buy unlimited provider work by disconnecting before the answer.
    const abandon = async () => {
      if (settled) return;
      settled = true;
      await store.markSpent(credit.nullifierHash, token, deps.now()).catch((err: unknown) => {
        log.error({ err }, 'could not mark an abandoned request spent; the reservation will expire');
      });
      metrics.credits.inc({ outcome: 'spent', code: 'client_left' });
    };
    let forwarded = false;
    let clientLeft = false;
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) {
        clientLeft = true;
        abort.abort();
      }
    };
    res.on('close', onClose);
    let up: UpstreamResponse | undefined;
    try {
      if (credit.proveAfterReserve) await credit.proveAfterReserve();
      try {
        forwarded = true;
        up = await deps.upstream.chatCompletions({ body: forward, headers, signal: abort.signal });
      } catch (err) {
        throw mapUpstreamFailure(err);
      }
      if (up.status < 200 || up.status >= 300) throw await upstreamStatusError(up, deps.retryAfterSeconds);

      if (!stream) {
        let answer: Buffer;
        try {
          answer = await readAll(up, MAX_UPSTREAM_BODY);
        } catch (err) {
          throw mapUpstreamFailure(err);
        }
        if (abort.signal.aborted) throw new ApiError('upstream_error', { details: 'client went away' });
        await commit();
        res.status(up.status);
        copyResponseHeaders(up.headers, res);
        res.end(answer);
        log.info({ mode: credit.mode, model, stream }, 'served');
        return;
      }

      // Streaming: wait for the first chunk so a provider that fails early costs nothing.
      const it = up.chunks[Symbol.asyncIterator]();
      let first: IteratorResult<Uint8Array>;
      try {
        first = await it.next();
      } catch (err) {
        throw mapUpstreamFailure(err);
      }
      if (first.done) throw new ApiError('upstream_error', { details: 'empty answer' });
      if (abort.signal.aborted) throw new ApiError('upstream_error', { details: 'client went away' });
      await commit();
      res.status(up.status);
      copyResponseHeaders(up.headers, res);
      res.setHeader('cache-control', 'no-cache');
      res.setHeader('x-accel-buffering', 'no');
      res.flushHeaders();
      let ok = await write(res, first.value);
      try {
        for (let next = await it.next(); ok && !next.done; next = await it.next()) ok = await write(res, next.value);
      } catch (err) {
        // Already answered and paid: the client sees a truncated stream.
        metrics.upstreamErrors.inc({ kind: err instanceof UpstreamFailure ? err.kind : 'network' });
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'upstream stream broke after the answer started');
        res.destroy();
        return;
      }
      if (!ok) {
        up.cancel();
        return;
      }
      res.end();
      log.info({ mode: credit.mode, model, stream }, 'served');
    } catch (err) {
      up?.cancel();
      const mapped = err instanceof UpstreamFailure ? mapUpstreamFailure(err) : err;
      if (!settled) {
        const code = mapped instanceof ApiError ? mapped.code : 'internal_error';
        if (clientLeft && forwarded) {
          await abandon();
          return;
        }
        if (mapped instanceof ApiError && mapped.type === 'upstream_error') metrics.upstreamErrors.inc({ kind: code });
        await release(code);
      }
      throw mapped;
    } finally {
      res.off('close', onClose);
    }
  };
}
