import { PROOF_BODY_FIELD, ROOT_HISTORY_SIZE, decodeMeteredPayload } from '@zkcredits/core';
import { ApiError, toApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Verifier } from '../proof/types.js';
import type { MeteredRecord, Store } from '../store/index.js';
import { acceptedDays } from '../tickets/authorize.js';
import type { Revoker } from '../tickets/revocation.js';
import { stateWire } from './calls.js';
import type { MeteredTerms } from './signer.js';

/** A metered call whose proof verified for this request: what the store keeps and the state is signed on. */
export type AuthorizedMetered = { nullifier: bigint; x: bigint; y: bigint; cmNew: bigint; cMax: number };

export type MeteredAuthDeps = {
  store: Store;
  verifier: Verifier;
  metrics: Metrics;
  now: () => number;
  retryAfterSeconds: number;
};

const param = (name: string) => `${PROOF_BODY_FIELD}.${name}`;

/**
 * The answer to a call made before with this very request (same x): `ticket_reused` with its
 * stored state once signed, else `state_pending` (ask `GET /v2/zkcredits/state/{nullifier}`).
 */
export function seenCall(record: MeteredRecord | null, retryAfterSeconds: number): ApiError {
  if (record && !record.signed) return new ApiError('state_pending', { param: param('nullifier'), retryAfter: retryAfterSeconds });
  return new ApiError('ticket_reused', {
    param: param('nullifier'),
    message:
      'This metered call was already made with this exact request; its signed state is in the "zkcredits" member (also at GET /v2/zkcredits/state/{nullifier}). Prove the lane\'s next call from it; never send this proof with another request.',
    ...(record ? { members: { [PROOF_BODY_FIELD]: stateWire(record) } } : {}),
  });
}

/** A metered `zkcredits` member, decoded (its shape checked: 400 `invalid_proof_payload` / `invalid_field` otherwise). */
export type MeteredPayloadDecoded = ReturnType<typeof decodeMeteredPayload>;

/** Decodes the metered member, as the client's error when it is malformed. */
export function decodeMetered(payload: unknown): MeteredPayloadDecoded {
  try {
    return decodeMeteredPayload(payload);
  } catch (err) {
    throw toApiError(err, { within: PROOF_BODY_FIELD });
  }
}

/**
 * Protocol v2 metered call: the client sent `{v: 2, kind: "metered", proof, root, nullifier, y,
 * today, cm_new}` (decoded), `x` is the request hash the server computed, C_max and the state key
 * are the deployment's (`terms`). Order, cheap first: `today` ∈ {d−1, d} → root window → revoked →
 * seen with this x (refused before verifying; another x is evidence only once the proof verified)
 * → the proof, under the current state key and then the previous one while it is still valid.
 */
export async function authorizeMetered(deps: MeteredAuthDeps, decoded: MeteredPayloadDecoded, x: bigint, terms: MeteredTerms): Promise<AuthorizedMetered> {
  const { proof, publicInputs } = decoded;
  const { root, nullifier, y, today, cmNew } = publicInputs;

  const [yesterday, d] = acceptedDays(deps.now());
  if (today !== d && today !== yesterday) {
    throw new ApiError('invalid_today', { param: param('today'), details: `got ${today}, accepted ${yesterday} or ${d}` });
  }
  const rs = await deps.store.rootStatus(root, ROOT_HISTORY_SIZE);
  if (rs.status === 'unknown') throw new ApiError('unknown_root', { param: param('root') });
  if (rs.status === 'expired') throw new ApiError('expired_root', { param: param('root') });

  const { revoked, ticket } = await deps.store.lookupTicket(nullifier);
  if (revoked) throw new ApiError('account_revoked', { param: param('nullifier') });
  if (ticket && ticket.x === x) throw seenCall(await deps.store.meteredRecord(nullifier), deps.retryAfterSeconds);

  const end = deps.metrics.verifySeconds.startTimer();
  let valid = false;
  try {
    for (const stateKey of terms.proofKeys) {
      valid = await deps.verifier.verifyMetered({ proof, publicInputs: { root, nullifier, x, y, cMax: terms.cMax, stateKey, today, cmNew } });
      if (valid) break;
    }
  } finally {
    end();
  }
  if (!valid) throw new ApiError('invalid_proof', { param: param('proof') });
  return { nullifier, x, y, cmNew, cMax: terms.cMax };
}

export type MeteredReserveDeps = {
  store: Store;
  revoker: Revoker;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  retryAfterSeconds: number;
  replicaId: string;
};

/**
 * Reserves the call: from here on it ends in exactly one signed state (there is no release). A
 * nullifier already seen with another request hash is the second share: the account is revoked
 * (before anything is published) and the call refused.
 * @throws {ApiError} `account_revoked`, `ticket_reused` (with the stored state) or `state_pending`.
 */
export async function reserveMetered(deps: MeteredReserveDeps, call: AuthorizedMetered): Promise<void> {
  const got = await deps.store.reserveMetered({ ...call, replica: deps.replicaId }, deps.now());
  if (got.ok) return;
  switch (got.state) {
    case 'revoked':
      throw new ApiError('account_revoked', { param: param('nullifier') });
    case 'seen':
      throw seenCall(got.record, deps.retryAfterSeconds);
    case 'conflict':
      await deps.revoker.revoke({ nullifier: call.nullifier, x1: got.x, y1: got.y, x2: call.x, y2: call.y }, 'metered');
      deps.metrics.credits.inc({ outcome: 'evidence', code: 'account_revoked' });
      throw new ApiError('account_revoked', { param: param('nullifier') });
  }
}
