import { PROOF_BODY_FIELD, ROOT_HISTORY_SIZE, decodeTicketPayload, utcDay } from '@zkcredits/core';
import { ApiError, toApiError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Verifier } from '../proof/types.js';
import { ticketState, type Store, type TicketReserveResult } from '../store/index.js';

/** A ticket whose proof verified for this request: its nullifier and its share `(x, y)`. */
export type AuthorizedTicket = { nullifier: bigint; x: bigint; y: bigint };

export type TicketAuthDeps = {
  store: Store;
  verifier: Verifier;
  metrics: Metrics;
  now: () => number;
  retryAfterSeconds: number;
};

const param = (name: string) => `${PROOF_BODY_FIELD}.${name}`;

/** The UTC days a ticket proof may name as `today` at `now`: yesterday and today (clients' clocks differ). */
export function acceptedDays(now: number): [number, number] {
  const d = utcDay(now);
  return [d - 1, d];
}

/** The error for a ticket that cannot be used for this request now (the same x: spent, held, cooling; or its account is revoked). */
export function refusedTicket(
  state: Exclude<TicketReserveResult, { ok: true } | { state: 'conflict' }>,
  now: number,
  retryAfterSeconds: number,
): ApiError {
  switch (state.state) {
    case 'revoked':
      return new ApiError('account_revoked', { param: param('nullifier') });
    case 'spent':
      return new ApiError('ticket_reused', { param: param('nullifier') });
    case 'cooling':
      return new ApiError('credit_cooling_down', { retryAfter: Math.max(1, Math.ceil((state.until - now) / 1000)) });
    case 'in_use':
      return new ApiError('ticket_in_use', { retryAfter: retryAfterSeconds });
  }
}

/**
 * Protocol v2 flat ticket: the client sent `{v: 2, kind: "flat", proof, root, nullifier, y, today}`
 * and `x` is the request hash the server computed. Order, cheap first: shape → `today` ∈ {d−1, d}
 * → root window → revoked nullifier → the ticket's state (refusals only: a ticket seen with
 * another x is evidence, and evidence counts only once the new proof verified) → proof verification.
 */
export async function authorizeTicket(deps: TicketAuthDeps, payload: unknown, x: bigint): Promise<AuthorizedTicket> {
  let decoded: ReturnType<typeof decodeTicketPayload>;
  try {
    decoded = decodeTicketPayload(payload);
  } catch (err) {
    throw toApiError(err, { within: PROOF_BODY_FIELD });
  }
  const { proof, publicInputs } = decoded;
  const { root, nullifier, y, today } = publicInputs;

  const now = deps.now();
  const [yesterday, d] = acceptedDays(now);
  if (today !== d && today !== yesterday) {
    throw new ApiError('invalid_today', { param: param('today'), details: `got ${today}, accepted ${yesterday} or ${d}` });
  }

  const rs = await deps.store.rootStatus(root, ROOT_HISTORY_SIZE);
  if (rs.status === 'unknown') throw new ApiError('unknown_root', { param: param('root') });
  if (rs.status === 'expired') throw new ApiError('expired_root', { param: param('root') });

  const { revoked, ticket } = await deps.store.lookupTicket(nullifier);
  if (revoked) throw refusedTicket({ ok: false, state: 'revoked' }, now, deps.retryAfterSeconds);
  const state = ticketState(ticket, x, now);
  if (state.state === 'cooling') throw refusedTicket({ ok: false, state: 'cooling', until: state.until }, now, deps.retryAfterSeconds);
  if (state.state === 'spent' || state.state === 'in_use') throw refusedTicket({ ok: false, state: state.state }, now, deps.retryAfterSeconds);

  const end = deps.metrics.verifySeconds.startTimer();
  let valid: boolean;
  try {
    valid = await deps.verifier.verifyTicket({ proof, publicInputs: { root, nullifier, x, y, today } });
  } finally {
    end();
  }
  if (!valid) throw new ApiError('invalid_proof', { param: param('proof') });
  return { nullifier, x, y };
}
