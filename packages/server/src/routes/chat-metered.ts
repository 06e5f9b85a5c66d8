import { createHash } from 'node:crypto';
import { PROOF_BODY_FIELD, type SignedStateWire } from '@zkcredits/core';
import type { Request, Response } from 'express';
import type { Config } from '../config.js';
import { ApiError, toApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { authorizeMetered, decodeMetered, reserveMetered, type AuthorizedMetered } from '../metered/authorize.js';
import type { MeteredCalls, StateOutcome } from '../metered/calls.js';
import { cappedPenalty, findViolation } from '../metered/policy.js';
import { maxCompletionTokens, meteredCost } from '../metered/pricing.js';
import { relayMetered } from '../metered/relay.js';
import type { Verifier } from '../proof/types.js';
import type { Store } from '../store/index.js';
import type { Revoker } from '../tickets/revocation.js';
import type { Upstream, UpstreamResponse } from '../upstream/venice.js';
import { prepareChat } from './chat-request.js';
import { upstreamError, upstreamStatusError } from './chat-stream.js';

/** The status a policy violation is answered with (stored with its state). */
const POLICY_STATUS = 403;

export type MeteredChatDeps = {
  config: Config;
  store: Store;
  verifier: Verifier;
  upstream: Upstream;
  revoker: Revoker;
  metered: MeteredCalls;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  retryAfterSeconds: number;
};

/** One metered request, as the chat route hands it over. */
export type MeteredRequest = {
  req: Request;
  res: Response;
  body: Record<string, unknown>;
  /** The raw request bytes (the penalty log's evidence hash is their SHA-256). */
  raw: Buffer | undefined;
  headers: Record<string, string>;
  /** The request hash `x`. */
  x: bigint;
};

/**
 * A metered call (PROTOCOL.md, "Protocol v2, step 2"), in order:
 *
 * 1. the member's shape and the terms (503 without a state key or with a key the chain does not pin);
 * 2. the proof verified and the nullifier reserved (a retry of the same request gets its stored
 *    state; another request on the nullifier revokes the account);
 * 3. from here on there is no release: the call ends in exactly one signed state. The request is
 *    checked and its output capped so its worst case is C_max; a request the server refuses
 *    (400 `input_tokens_exceeded` when the input alone may cost C_max, any other invalid field)
 *    gets a full refund in the error body, so the lane moves on: the client could never send
 *    another request at that position without revealing its account secret. A policy
 *    violation is not forwarded (403, full refund and a penalty); the provider's answer is relayed
 *    with the state in it, charged from its `usage`; any failure before the answer (the provider's,
 *    the client leaving, an error) refunds everything, with the state in the error body.
 */
export async function meteredChat(deps: MeteredChatDeps, payload: unknown, call: MeteredRequest): Promise<void> {
  const { config, metrics } = deps;
  const log = deps.logger.child({ subsystem: 'chat' });
  const decoded = decodeMetered(payload);
  const terms = deps.metered.terms();
  const { res } = call;

  const authorized = await authorizeMetered(deps, decoded, call.x, terms);
  await reserveMetered({ ...deps, replicaId: config.metered.replicaId }, authorized);

  // Reserved: every path below ends in exactly one signed state.
  let state: SignedStateWire | undefined;
  const settle = async (r: number, p: number, reason: string | null, responseStatus: number, outcome: StateOutcome, penalty?: { evidenceHash: string }) =>
    (state = await deps.metered.settle(authorized, { r, p, reason, responseStatus }, outcome, penalty));

  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.on('close', onClose);
  try {
    const { forward, stream, model, inputTokens, e2ee, clientMaxTokens } = prepareChat(config, call.body, call.headers, 'metered');
    const price = config.metered.prices.get(model);
    if (!price) throw new ApiError('metered_unavailable', { details: `no price for ${model}` });
    const maxTokens = maxCompletionTokens(price, inputTokens, terms.cMax, clientMaxTokens);
    if (maxTokens < 1) {
      throw new ApiError('input_tokens_exceeded', {
        param: 'messages',
        message: 'The input alone may cost more than C_max, the most one metered call pays. Shorten the conversation (c_max and the prices are in GET /v2/zkcredits/config).',
        details: `about ${inputTokens} input tokens at ${price.input} price units per 1M tokens, C_max ${terms.cMax}`,
      });
    }
    delete forward.max_tokens;
    forward.max_completion_tokens = maxTokens;
    if (stream) {
      // The cost comes from the usage chunk; it is relayed even when the client did not ask for it.
      const own = forward.stream_options;
      forward.stream_options = { ...(own !== null && typeof own === 'object' && !Array.isArray(own) ? own : {}), include_usage: true };
    }

    const violation = findViolation(config.metered.policy, forward.messages as unknown[], e2ee);
    if (violation) {
      const p = cappedPenalty(config.metered.policy, violation, terms.cMax);
      const evidenceHash = createHash('sha256').update(call.raw ?? JSON.stringify(call.body)).digest('hex');
      await settle(authorized.cMax, p, violation.reason, POLICY_STATUS, 'penalty', { evidenceHash });
      log.warn({ mode: 'metered', reason: violation.reason, p }, 'policy violation: not forwarded, penalty signed');
      throw new ApiError('policy_violation', { details: `rule "${violation.reason}", penalty ${p} price units` });
    }
    let up: UpstreamResponse;
    try {
      up = await deps.upstream.chatCompletions({ body: forward, headers: call.headers, signal: abort.signal });
    } catch (err) {
      throw upstreamError(err);
    }
    if (up.status < 200 || up.status >= 300) throw await upstreamStatusError(up, deps.retryAfterSeconds);
    const status = up.status;
    const ended = await relayMetered({
      up,
      res,
      stream,
      signal: abort.signal,
      beforeFirstByte: async () => {},
      finish: (usage, outcome) => {
        const cost = meteredCost(price, usage, authorized.cMax);
        return settle(authorized.cMax - cost, 0, null, status, usage && outcome !== 'truncated' ? 'charged' : 'refunded');
      },
      metrics,
      log,
    });
    log.info({ mode: 'metered', model, stream, outcome: ended.outcome, delivered: ended.delivered }, 'served');
  } catch (err) {
    throw await failed(deps, authorized, err, state, settle);
  } finally {
    res.off('close', onClose);
  }
}

/**
 * The error a reserved call is answered with: the state in its body (`zkcredits`), a full refund
 * signed first if none was (the provider failed, the client left before any output, or the server
 * failed). If the state cannot be signed now (the database is gone), the call stays reserved and
 * the sweep or a restart signs its refund; the client asks `GET /v2/zkcredits/state/{nullifier}`.
 */
async function failed(
  deps: MeteredChatDeps,
  call: AuthorizedMetered,
  err: unknown,
  state: SignedStateWire | undefined,
  settle: (r: number, p: number, reason: string | null, status: number, outcome: StateOutcome) => Promise<SignedStateWire>,
): Promise<unknown> {
  const mapped = toApiError(err, { retryAfterSeconds: deps.retryAfterSeconds });
  if (mapped.type === 'upstream_error') deps.metrics.upstreamErrors.inc({ kind: mapped.code });
  let signed = state;
  if (!signed) {
    try {
      signed = await settle(call.cMax, 0, null, mapped.status, 'refunded');
    } catch (signErr) {
      deps.logger.child({ subsystem: 'metered' }).error({ err: signErr instanceof Error ? signErr.message : String(signErr) }, 'could not sign the refund of a failed metered call; the sweep or a restart will');
      return mapped;
    }
  }
  const refunded = signed.r === call.cMax && signed.p === 0;
  return new ApiError(mapped.code, {
    // The catalogue's words are about credits; a metered call's outcome is its state.
    message: refunded ? `${mapped.shortMessage.split('. ')[0]}. The call was refunded in full: its signed state is in the "zkcredits" member; prove the lane's next call from it.` : mapped.shortMessage,
    details: mapped.details,
    param: mapped.param,
    status: mapped.status,
    retryAfter: mapped.retryAfter,
    members: { ...mapped.members, [PROOF_BODY_FIELD]: signed },
    cause: err,
  });
}
