// Protocol v2 metered accounts: the hashes of PROTOCOL.md "Protocol v2, step 2" (leaf, ticket of a
// lane position, hiding state commitment, signed state message) and the lane state arithmetic.
import { ZkCreditsError } from '../errors.js';
import { assertField } from '../field.js';
import {
  FIELD_MODULUS,
  METERED_AMOUNT_BITS,
  METERED_LANE_SHIFT,
  METERED_MAX_LANES_LOG2,
  TAG_ACCOUNT_M,
  TAG_NF,
  TAG_PRE,
  TAG_SLOPE,
  TAG_STATE,
} from '../generated/constants.js';
import { poseidon2Hash } from '../poseidon2.js';

const P = FIELD_MODULUS;
const mod = (x: bigint) => ((x % P) + P) % P;

/** Largest metered amount (price units): `D_lane`, `S_lane`, `C_max`, `r` and `p` are below 2^40. */
export const MAX_METERED_AMOUNT = 2 ** METERED_AMOUNT_BITS - 1;

/** What the contract writes into a metered account's leaf. Amounts are integer price units. */
export type MeteredTerms = { dLane: number; lanesLog2: number; sLane: number; expiryDay: number };

/** Throws unless `value` is an integer amount of price units in [min, 2^40). */
export function assertAmount(value: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min || value > MAX_METERED_AMOUNT) {
    throw new ZkCreditsError('invalid_request', `${what} out of range`, { details: `an integer count of price units in [${min}, 2^${METERED_AMOUNT_BITS}), got ${value}` });
  }
}

/** Throws unless the terms are ones `openMetered` accepts. */
export function assertMeteredTerms(t: Omit<MeteredTerms, 'expiryDay'>): void {
  assertAmount(t.dLane, 'deposit per lane (dLane)', 1);
  assertAmount(t.sLane, 'stake per lane (sLane)', 1);
  if (!Number.isInteger(t.lanesLog2) || t.lanesLog2 < 0 || t.lanesLog2 > METERED_MAX_LANES_LOG2) {
    throw new ZkCreditsError('invalid_request', 'lanesLog2 out of range', { details: `0..${METERED_MAX_LANES_LOG2}, got ${t.lanesLog2}` });
  }
}

/** Metered account leaf `H(TAG_ACCOUNT_M, id, dLane, lanesLog2, sLane, expiryDay)`, as the contract computes it. */
export function meteredAccountLeaf(id: bigint, t: MeteredTerms): bigint {
  return poseidon2Hash([TAG_ACCOUNT_M, id, BigInt(t.dLane), BigInt(t.lanesLog2), BigInt(t.sLane), BigInt(t.expiryDay)]);
}

/** Ticket of position `n` on lane `lane`: `lane·2^32 + n` (injective: n < 2^32, lane < 8). */
export function meteredTicket(lane: number, n: number): bigint {
  if (!Number.isInteger(lane) || lane < 0 || lane >= 2 ** METERED_MAX_LANES_LOG2) {
    throw new ZkCreditsError('invalid_request', 'lane out of range', { details: `0 <= lane < ${2 ** METERED_MAX_LANES_LOG2}, got ${lane}` });
  }
  if (!Number.isSafeInteger(n) || n < 0 || n >= 2 ** METERED_LANE_SHIFT) {
    throw new ZkCreditsError('invalid_request', 'lane position out of range', { details: `0 <= n < 2^${METERED_LANE_SHIFT}, got ${n}` });
  }
  return (BigInt(lane) << BigInt(METERED_LANE_SHIFT)) + BigInt(n);
}

/** The nullifier and share of position `n` of `lane` on the request with hash `x` (the RLN of step 1). */
export function meteredShare(k: bigint, lane: number, n: number, x: bigint): { nullifier: bigint; y: bigint } {
  if (assertField(x, 'x') === 0n) throw new ZkCreditsError('invalid_request', 'request hash is zero', { details: 'at x = 0 the share would be the account secret' });
  const a = poseidon2Hash([TAG_SLOPE, assertField(k, 'k'), meteredTicket(lane, n)]);
  return { nullifier: poseidon2Hash([TAG_NF, a]), y: mod(k + a * x) };
}

/** The nullifier alone of position `n` of `lane`. */
export function meteredNullifier(k: bigint, lane: number, n: number): bigint {
  return poseidon2Hash([TAG_NF, poseidon2Hash([TAG_SLOPE, assertField(k, 'k'), meteredTicket(lane, n)])]);
}

/**
 * The opening of a lane's hiding state commitment `H(TAG_PRE, k, lane, balance, penalties, n, salt)`:
 * `balance` is what the lane holds once the pending call's C_max is taken, `n` the next position.
 */
export type LaneStateOpening = { lane: number; balance: number; penalties: number; n: number; salt: bigint };

export function stateCommitment(k: bigint, o: LaneStateOpening): bigint {
  return poseidon2Hash([TAG_PRE, assertField(k, 'k'), BigInt(o.lane), BigInt(o.balance), BigInt(o.penalties), BigInt(o.n), assertField(o.salt, 'salt')]);
}

/** The field element the server signs: `H(TAG_STATE, cm, r + p·2^40)`. */
export function stateMessage(cm: bigint, r: number, p: number): bigint {
  assertAmount(r, 'refund r');
  assertAmount(p, 'penalty p');
  return poseidon2Hash([TAG_STATE, assertField(cm, 'cm'), BigInt(r) + (BigInt(p) << BigInt(METERED_AMOUNT_BITS))]);
}
