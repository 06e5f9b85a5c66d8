// Protocol v2 flat accounts: the hashes of PROTOCOL.md "Protocol v2" (account id and leaf, RLN slope,
// ticket nullifier, share) and the two-share recovery of the account secret.
import { FIELD_MODULUS, MAX_TICKETS, TAG_ACCOUNT_F, TAG_ACCOUNT_KEY, TAG_ID, TAG_NF, TAG_SLOPE } from '../generated/constants.js';
import { ZkCreditsError } from '../errors.js';
import { assertField } from '../field.js';
import { poseidon2Hash } from '../poseidon2.js';

const P = FIELD_MODULUS;
const mod = (x: bigint) => ((x % P) + P) % P;

/** `k_j = H(TAG_ACCOUNT_KEY, master, j)`: the secret of a vault's `j`-th account, so one backup of `master` covers all. */
export function deriveAccountSecret(master: bigint, j: number): bigint {
  if (!Number.isSafeInteger(j) || j < 0) throw new ZkCreditsError('invalid_request', 'account number must be a non-negative integer');
  return poseidon2Hash([TAG_ACCOUNT_KEY, assertField(master, 'master'), BigInt(j)]);
}

/** Public account id `H(TAG_ID, k)`: shown at opening and, after a double use, by the slash. */
export function accountId(k: bigint): bigint {
  return poseidon2Hash([TAG_ID, assertField(k, 'k')]);
}

/** Flat account leaf `H(TAG_ACCOUNT_F, id, tickets, expiryDay)`, as the contract computes it. */
export function flatAccountLeaf(id: bigint, tickets: number, expiryDay: number): bigint {
  return poseidon2Hash([TAG_ACCOUNT_F, id, BigInt(tickets), BigInt(expiryDay)]);
}

function assertTicket(i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_TICKETS) {
    throw new ZkCreditsError('invalid_request', 'ticket index out of range', { details: `0 <= i < ${MAX_TICKETS}, got ${i}` });
  }
}

/** RLN slope of ticket `i`: `a_i = H(TAG_SLOPE, k, i)`. Secret: with a share it reveals `k`. */
export function ticketSlope(k: bigint, i: number): bigint {
  assertTicket(i);
  return poseidon2Hash([TAG_SLOPE, k, BigInt(i)]);
}

/** Public nullifier of ticket `i`: `H(TAG_NF, a_i)`. */
export function ticketNullifier(k: bigint, i: number): bigint {
  return poseidon2Hash([TAG_NF, ticketSlope(k, i)]);
}

/** What spending ticket `i` on the request with hash `x` reveals: the nullifier and the share `y = k + a_i·x`. */
export function ticketShare(k: bigint, i: number, x: bigint): { nullifier: bigint; y: bigint } {
  if (assertField(x, 'x') === 0n) throw new ZkCreditsError('invalid_request', 'request hash is zero', { details: 'at x = 0 the share would be the account secret' });
  const a = ticketSlope(k, i);
  return { nullifier: poseidon2Hash([TAG_NF, a]), y: mod(k + a * x) };
}

function inverse(x: bigint): bigint {
  // Fermat: x^(p-2) mod p, square-and-multiply.
  let result = 1n;
  let base = mod(x);
  for (let e = P - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % P;
    base = (base * base) % P;
  }
  return result;
}

/** Two shares of one ticket on two different requests. */
export type ShareEvidence = { nullifier: bigint; x1: bigint; y1: bigint; x2: bigint; y2: bigint };

/**
 * Recovers the slope and the account secret from two shares of one ticket (`x1 ≠ x2`) and checks
 * them against the nullifier. Returns `undefined` when the evidence does not hold together.
 */
export function recoverAccountSecret({ nullifier, x1, y1, x2, y2 }: ShareEvidence): { a: bigint; k: bigint; id: bigint } | undefined {
  for (const v of [nullifier, x1, y1, x2, y2]) if (v < 0n || v >= P) return undefined;
  if (x1 === x2) return undefined;
  const a = mod((y1 - y2) * inverse(x1 - x2));
  const k = mod(y1 - a * x1);
  if (poseidon2Hash([TAG_NF, a]) !== nullifier) return undefined;
  return { a, k, id: poseidon2Hash([TAG_ID, k]) };
}

/** UTC day number `floor(ms / 86 400 000)`, the `today` of a ticket proof and the contract's `currentDay()`. */
export function utcDay(ms: number): number {
  return Math.floor(ms / 86_400_000);
}
