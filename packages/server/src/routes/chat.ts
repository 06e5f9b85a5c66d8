import { BOUND_REQUEST_HEADERS, CHAT_PATH, PROOF_BODY_FIELD, isMeteredPayload, isTicketPayload, requestHash } from '@zkcredits/core';
import type { Request, Response } from 'express';
import type { Config } from '../config.js';
import { authorizeApiKey, authorizeProof, bearerCredential, type CreditDeps } from '../credit.js';
import { ApiError, toApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MeteredCalls } from '../metered/calls.js';
import { Reservation, type Hold } from '../reservation.js';
import { authorizeTicket } from '../tickets/authorize.js';
import { TicketReservation } from '../tickets/reservation.js';
import type { Revoker } from '../tickets/revocation.js';
import type { Upstream, UpstreamResponse } from '../upstream/venice.js';
import { meteredChat } from './chat-metered.js';
import { prepareChat } from './chat-request.js';
import { relayAnswer, upstreamError, upstreamStatusError } from './chat-stream.js';

/** @deprecated Import `CHAT_PATH` from `@zkcredits/core`; kept for the benchmark's import. */
export { CHAT_PATH };

export type ChatDeps = CreditDeps & {
  config: Config;
  upstream: Upstream;
  logger: Logger;
  /** Revokes accounts caught using one ticket twice (protocol v2). */
  revoker: Revoker;
  /** Metered calls (protocol v2 step 2): their terms, signed states and refunds. */
  metered: MeteredCalls;
};

/** A request whose raw body the JSON parser kept (`express.json`'s `verify`). */
export type RawBodyRequest = Request & { rawBody?: Buffer };

/** The bound (E2EE) request headers the client sent; they are hashed and forwarded as-is. */
function boundRequestHeaders(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of BOUND_REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/**
 * `POST /v1/chat/completions`: validate the request, authorize what pays for it (a v1 credit, or a
 * v2 flat ticket when the `zkcredits` member says `v: 2`), reserve its nullifier, call the provider
 * and relay its answer. The credit is marked spent just before the first byte of an answer goes to
 * the client. A failure before the request reached the provider, or a provider that fails, times
 * out or refuses, releases the reservation: the credit stays spendable (a ticket: for this exact
 * request only). A client that leaves once its request reached the provider abandons it: the
 * credit is spent, the provider worked for it (see `Reservation`, `TicketReservation`).
 */
export function chatHandler(deps: ChatDeps) {
  const log = deps.logger.child({ subsystem: 'chat' });
  const { config, metrics } = deps;
  const reservations = {
    store: deps.store,
    metrics,
    logger: deps.logger,
    now: deps.now,
    ttlMs: config.reservationTtlMs,
    releasesBeforeCooldown: config.releasesBeforeCooldown,
    retryAfterSeconds: deps.retryAfterSeconds,
  };
  const tickets = { ...reservations, verifier: deps.verifier, revoker: deps.revoker };

  /** Authorizes and reserves what pays for the request with hash `rh`. */
  async function pay(req: Request, body: object, rh: bigint): Promise<Hold> {
    if (Object.hasOwn(body, PROOF_BODY_FIELD)) {
      const member = (body as Record<string, unknown>)[PROOF_BODY_FIELD];
      if (isTicketPayload(member)) return TicketReservation.reserve(tickets, await authorizeTicket(tickets, member, rh));
      return Reservation.reserve(reservations, await authorizeProof(deps, member, rh));
    }
    const key = bearerCredential(req.headers.authorization);
    if (!key) throw new ApiError('missing_credit');
    return Reservation.reserve(reservations, await authorizeApiKey(deps, key, rh));
  }

  return async function handle(req: Request, res: Response): Promise<void> {
    if (req.body === undefined || !req.is('application/json')) throw new ApiError('unsupported_media_type');
    const body = req.body as unknown;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ApiError('invalid_request', { message: 'The request body must be a JSON object.' });
    }
    const headers = boundRequestHeaders(req);

    let rh: bigint;
    try {
      rh = requestHash({ chainId: config.chain.chainId, contract: config.chain.contract, method: 'POST', path: CHAT_PATH, headers, body });
    } catch (err) {
      throw toApiError(err);
    }
    const member = Object.hasOwn(body, PROOF_BODY_FIELD) ? (body as Record<string, unknown>)[PROOF_BODY_FIELD] : undefined;
    if (isMeteredPayload(member)) {
      // A metered call ends in a signed state, never a release: its own flow.
      return meteredChat(deps, member, {
        req,
        res,
        body: body as Record<string, unknown>,
        raw: (req as RawBodyRequest).rawBody,
        headers,
        x: rh,
      });
    }
    // After the hash: it refuses bodies nested too deeply or holding non-finite numbers first.
    const { forward, stream, model } = prepareChat(config, body as Record<string, unknown>, headers);

    const reservation = await pay(req, body, rh);
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
    try {
      await reservation.prepare();
      let up: UpstreamResponse;
      try {
        forwarded = true;
        up = await deps.upstream.chatCompletions({ body: forward, headers, signal: abort.signal });
      } catch (err) {
        throw upstreamError(err);
      }
      if (up.status < 200 || up.status >= 300) throw await upstreamStatusError(up, deps.retryAfterSeconds);
      const ended = await relayAnswer({ up, res, stream, signal: abort.signal, beforeFirstByte: () => reservation.commit(), metrics, log });
      if (ended === 'served') log.info({ mode: reservation.mode, model, stream }, 'served');
    } catch (err) {
      if (!reservation.settled) {
        if (clientLeft && forwarded) {
          await reservation.abandon();
          return;
        }
        const mapped = toApiError(err, { retryAfterSeconds: deps.retryAfterSeconds });
        if (mapped.type === 'upstream_error') metrics.upstreamErrors.inc({ kind: mapped.code });
        await reservation.release(mapped.code);
      }
      throw err;
    } finally {
      res.off('close', onClose);
    }
  };
}
