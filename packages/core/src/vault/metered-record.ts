// Protocol v2 metered accounts as a client keeps them (sealed at rest in the vault like flat
// accounts), and the one definition of the lane journal: pure transitions every store applies, so
// the vault, the SDK's memory store and any other store move lanes by the same rules.
//
// A lane is a chain of states. Between calls it holds its last signed state (or its genesis). A call
// is journaled BEFORE its request is sent: `pending` keeps the new commitment's opening (the salt is
// nowhere else), the call's nullifier and its request hash `x`. The server's signed state on that
// commitment then becomes the lane's state. From the moment a proof for position n left the
// process, position n belongs to that one `x`: proving it for another request would publish the
// account secret (two shares of one ticket), so a pending lane is only ever settled (its state from
// the answer or from `GET /v2/zkcredits/state/{nullifier}`) or re-sent for the same `x`.
import { z } from 'zod';
import { ZkCreditsError, VaultError } from '../errors.js';
import { MeteredError } from '../v2/metered-errors.js';
import { METERED_LANE_SHIFT, METERED_MAX_LANES_LOG2 } from '../generated/constants.js';
import { MAX_METERED_AMOUNT, type LaneStateOpening, type MeteredTerms } from '../v2/metered.js';
import type { LaneState } from '../v2/metered-witness.js';
import type { StateSignature } from '../v2/state-key.js';
import { accountRecordHead, accountStatus, type AccountStatus, canMoveAccount } from './account-record.js';

type Hex = `0x${string}`;
const hex = (re: RegExp, message: string) => z.string().regex(re, message).pipe(z.custom<Hex>());
const fieldHex = hex(/^0x[0-9a-f]{64}$/, 'expected 0x + 64 lower-case hex digits');
const address = hex(/^0x[0-9a-fA-F]{40}$/, 'expected an address');
const txHash = hex(/^0x[0-9a-fA-F]{64}$/, 'expected a transaction hash');
const amount = z.number().int().min(0).max(MAX_METERED_AMOUNT);
const laneIndex = z.number().int().min(0).lt(2 ** METERED_MAX_LANES_LOG2);
/** Penalties add up (p_pre + p, each below 2^40): a lane is frozen from S_lane on, so this stays small. */
const penalties = z.number().int().min(0).max(2 * MAX_METERED_AMOUNT);
const position = z.number().int().min(0).max(2 ** METERED_LANE_SHIFT);

/** The opening of a lane state commitment (`LaneStateOpening`), the salt as hex. */
export const laneOpening = z.strictObject({ lane: laneIndex, balance: amount, penalties, n: position, salt: fieldHex });
export type StoredLaneOpening = z.infer<typeof laneOpening>;

/** A lane's state between calls: genesis, or the signed state of its last call (all private: never sent again). */
export const storedLaneState = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('genesis') }),
  z.strictObject({
    kind: z.literal('signed'),
    opening: laneOpening,
    r: amount,
    p: amount,
    sig: z.strictObject({ rx: fieldHex, ry: fieldHex, s: fieldHex }),
    /** The policy rule the server named when p > 0. */
    reason: z.string().regex(/^[a-z0-9_]{1,64}$/).optional(),
  }),
]);
export type StoredLaneState = z.infer<typeof storedLaneState>;

/**
 * The journal entry of a call on its way (written before the request is sent): its nullifier, its
 * request hash `x` (position n is bound to it) and the opening of the commitment it proves
 * (`cm_new`), which the signed state will certify.
 */
export const lanePending = z.strictObject({ nullifier: fieldHex, x: fieldHex, next: laneOpening, sentAt: z.number().int() });
export type LanePending = z.infer<typeof lanePending>;

/** One lane: its state, the call in flight on it if any, and `stale` once recovery found it continued elsewhere. */
export const meteredLane = z.strictObject({
  state: storedLaneState,
  pending: lanePending.optional(),
  /**
   * Its next position was used by another copy of this account (a backup restored elsewhere): this
   * copy's state is behind and the lane is never used from here again (its funds are not lost; the
   * copy that moved on holds its state).
   */
  stale: z.literal(true).optional(),
});
export type MeteredLane = z.infer<typeof meteredLane>;

/** One metered account as kept in a client store (the vault seals it). The shape is part of the vault format. */
export const meteredAccountRecord = z
  .object({
    ...accountRecordHead('metered'),
    /** Deposit per lane, in price units. */
    dLane: amount.min(1),
    /** `L = 2^lanesLog2` lanes. */
    lanesLog2: z.number().int().min(0).max(METERED_MAX_LANES_LOG2),
    /** Policy stake per lane, in price units. */
    sLane: amount.min(1),
    /** The deployment's C_max (price units; immutable), so balances in calls need no chain read. */
    cMax: amount.min(1),
    /** The deployment's token base units per price unit (decimal string; immutable), so balances in money need no chain read. */
    priceUnit: z.string().regex(/^[1-9][0-9]{0,38}$/),
    /** The payment token's decimals and symbol, for showing money (read at opening; absent when the token did not say). */
    token: z.strictObject({ decimals: z.number().int().min(0).max(36), symbol: z.string().max(32).optional() }).optional(),
    /** Last UTC day a call can be made, as the contract set it (known once opened). */
    expiryDay: z.number().int().nonnegative().optional(),
    leafIndex: z.number().int().nonnegative().optional(),
    /** First block that could hold the opening (lower bound of an event scan). */
    fromBlock: z.string().regex(/^[0-9]+$/),
    txHash: txHash.optional(),
    /** `lanes[l]` is lane l; exactly `2^lanesLog2` of them. */
    lanes: z.array(meteredLane).min(1).max(2 ** METERED_MAX_LANES_LOG2),
    /**
     * The record came from a backup: its lanes may be behind (calls made elsewhere since). No lane
     * is used until recovery (`recoverMeteredAccounts`) has checked each lane's next nullifier
     * against the server's spent list and marked the ones found there `stale`.
     */
    recoveryNeeded: z.literal(true).optional(),
    createdAt: z.number().int(),
  })
  .superRefine((r, ctx) => {
    if (r.lanes.length !== 2 ** r.lanesLog2) ctx.addIssue({ code: 'custom', path: ['lanes'], message: `exactly 2^lanesLog2 = ${2 ** r.lanesLog2} lanes` });
    r.lanes.forEach((l, i) => {
      if (l.state.kind === 'signed' && l.state.opening.lane !== i) ctx.addIssue({ code: 'custom', path: ['lanes', i, 'state'], message: `a state of lane ${l.state.opening.lane}` });
      if (l.pending && l.pending.next.lane !== i) ctx.addIssue({ code: 'custom', path: ['lanes', i, 'pending'], message: `a call of lane ${l.pending.next.lane}` });
      if (l.pending && l.pending.next.n !== lanePosition(l.state) + 1) ctx.addIssue({ code: 'custom', path: ['lanes', i, 'pending'], message: 'the pending call must be the next position' });
    });
  });
export type MeteredAccountRecord = z.infer<typeof meteredAccountRecord>;

/** Fields of a metered record that may change outside the lane journal (never backwards). */
export type MeteredAccountPatch = Partial<Pick<MeteredAccountRecord, 'status' | 'expiryDay' | 'leafIndex' | 'txHash' | 'fromBlock' | 'token'>> & {
  /** `false` once recovery has checked the lanes. */
  recoveryNeeded?: boolean;
  /** Lanes recovery found continued elsewhere. */
  staleLanes?: readonly number[];
};

/** The position (n) a lane's next call proves: 0 at genesis, else the signed opening's n. */
export function lanePosition(state: StoredLaneState): number {
  return state.kind === 'genesis' ? 0 : state.opening.n;
}

/** The terms the contract wrote into the account's leaf (once opened: `expiryDay` known). */
export function meteredTermsOf(record: MeteredAccountRecord): MeteredTerms {
  if (record.expiryDay === undefined) throw new ZkCreditsError('invalid_request', 'the account is not open yet', { details: `account record ${record.id} has no expiry day` });
  return { dLane: record.dLane, lanesLog2: record.lanesLog2, sLane: record.sLane, expiryDay: record.expiryDay };
}

const toOpening = (o: StoredLaneOpening): LaneStateOpening => ({ lane: o.lane, balance: o.balance, penalties: o.penalties, n: o.n, salt: BigInt(o.salt) });
const fromOpening = (o: LaneStateOpening): StoredLaneOpening => ({ lane: o.lane, balance: o.balance, penalties: o.penalties, n: o.n, salt: hex64(o.salt) });
const hex64 = (v: bigint): Hex => `0x${v.toString(16).padStart(64, '0')}`;

/** Lane `lane`'s state as the witness builder takes it. */
export function laneStateOf(record: MeteredAccountRecord, lane: number): LaneState {
  const stored = laneAt(record, lane).state;
  if (stored.kind === 'genesis') return { kind: 'genesis', lane };
  return { kind: 'signed', opening: toOpening(stored.opening), r: stored.r, p: stored.p, sig: { rx: BigInt(stored.sig.rx), ry: BigInt(stored.sig.ry), s: BigInt(stored.sig.s) } };
}

/** A pending call's opening as the witness builder takes it. */
export function pendingOpening(pending: LanePending): LaneStateOpening {
  return toOpening(pending.next);
}

/** A journal entry for a call about to be sent. */
export function lanePendingEntry(call: { nullifier: bigint; x: bigint; next: LaneStateOpening; sentAt: number }): LanePending {
  return { nullifier: hex64(call.nullifier), x: hex64(call.x), next: fromOpening(call.next), sentAt: call.sentAt };
}

/** A new metered record's lanes: every lane at genesis. */
export function genesisLanes(lanesLog2: number): MeteredLane[] {
  return Array.from({ length: 2 ** lanesLog2 }, () => ({ state: { kind: 'genesis' as const } }));
}

function laneAt(record: MeteredAccountRecord, lane: number): MeteredLane {
  const l = record.lanes[lane];
  if (!l) throw new ZkCreditsError('invalid_request', 'lane outside the account', { details: `lane ${lane} of ${record.lanes.length}` });
  return l;
}

/** Parses a metered record; `invalid_account` (where and what, never the value) otherwise. */
export function parseMeteredRecord(value: unknown): MeteredAccountRecord {
  const parsed = meteredAccountRecord.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VaultError('invalid_account', 'That is not a valid metered account record.', {
      details: issue ? `${issue.path.map(String).join('.') || '(value)'}: ${issue.message}` : undefined,
    });
  }
  return parsed.data;
}

/** Applies `patch`, refusing a status change backwards. */
export function patchMeteredAccount(record: MeteredAccountRecord, patch: MeteredAccountPatch): MeteredAccountRecord {
  if (patch.status && !canMoveAccount(record.status, patch.status)) {
    throw new VaultError('invalid_account', `a ${record.status} account cannot become ${patch.status}`, { details: `account record ${record.id}` });
  }
  const { recoveryNeeded, staleLanes, ...fields } = patch;
  const next: MeteredAccountRecord = { ...record, lanes: record.lanes.map((l) => ({ ...l })) };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) (next as Record<string, unknown>)[key] = value;
  for (const lane of staleLanes ?? []) next.lanes[lane] = { ...laneAt(record, lane), stale: true };
  if (recoveryNeeded === true) next.recoveryNeeded = true;
  if (recoveryNeeded === false) delete next.recoveryNeeded;
  return parseMeteredRecord(next);
}

/**
 * Journal step 1, before the request is sent: lane `lane` gets the pending call. The lane must be
 * free (no call pending), or hold a pending call for the same request hash `x` at the same
 * position (a re-send of the same request: the entry is replaced, its nullifier unchanged).
 * Refuses an account that is not open (`account_not_open`), not recovered (`recovery_needed`), or
 * a stale lane.
 */
export function journalLaneIn(record: MeteredAccountRecord, lane: number, pending: LanePending): MeteredAccountRecord {
  if (record.status !== 'open') {
    throw new MeteredError('account_not_open', `This account is ${record.status}; no call can be made from it.`, { details: `account record ${record.id}` });
  }
  if (record.recoveryNeeded) {
    throw new MeteredError('recovery_needed', 'This account came from a backup: recover it before use, or a lane position already used could be used again.', {
      details: `account record ${record.id}`,
    });
  }
  const current = laneAt(record, lane);
  if (current.stale) throw new MeteredError('lane_stale', 'This lane continued in another copy of the account; it is not used from here.', { details: `lane ${lane}` });
  if (current.pending && (current.pending.x !== pending.x || current.pending.nullifier !== pending.nullifier)) {
    throw new MeteredError('lane_busy', 'This lane has a call in flight for another request; its state must come back first.', { details: `lane ${lane}` });
  }
  const lanes = record.lanes.map((l, i) => (i === lane ? { ...l, pending } : l));
  return parseMeteredRecord({ ...record, lanes });
}

/** The server's signed state on a lane's pending commitment (checked by the caller under the on-chain key). */
export type LaneSignedState = { r: number; p: number; sig: StateSignature; reason?: string };

/**
 * Journal step 2, on a verified signed state for the pending call with `nullifier`: the lane's
 * state becomes `{opening: pending.next, r, p, sig}` and the pending entry is cleared. A lane whose
 * pending call is not this one (already committed, or another call) is left as it is and `false`
 * is returned with it.
 */
export function commitLaneIn(record: MeteredAccountRecord, lane: number, nullifier: bigint, signed: LaneSignedState): { record: MeteredAccountRecord; committed: boolean } {
  const current = laneAt(record, lane);
  if (!current.pending || BigInt(current.pending.nullifier) !== nullifier) return { record, committed: false };
  const state: StoredLaneState = {
    kind: 'signed',
    opening: current.pending.next,
    r: signed.r,
    p: signed.p,
    sig: { rx: hex64(signed.sig.rx), ry: hex64(signed.sig.ry), s: hex64(signed.sig.s) },
    ...(signed.reason ? { reason: signed.reason } : {}),
  };
  const lanes = record.lanes.map((l, i) => (i === lane ? { state, ...(l.stale ? { stale: true as const } : {}) } : l));
  return { record: parseMeteredRecord({ ...record, lanes }), committed: true };
}

/** Where one lane stands, for balances and the scheduler. */
export type LaneStanding = {
  lane: number;
  /** Position of the next call. */
  n: number;
  /** Price units the lane holds for its next call; for a pending call the worst case (its C_max taken, nothing refunded yet). */
  balance: number;
  penalties: number;
  pending: boolean;
  /** Penalties reached the stake: no call can be made on it. */
  frozen: boolean;
  stale: boolean;
};

/** Every lane's standing (balance after its pending call's worst case, penalties, flags). */
export function laneStandings(record: MeteredAccountRecord): LaneStanding[] {
  return record.lanes.map((l, lane) => {
    const s = l.state;
    const settled = s.kind === 'genesis' ? { n: 0, balance: record.dLane, penalties: 0 } : { n: s.opening.n, balance: s.opening.balance + s.r, penalties: s.opening.penalties + s.p };
    const now = l.pending ? { n: l.pending.next.n, balance: l.pending.next.balance, penalties: l.pending.next.penalties } : settled;
    return { lane, ...now, pending: l.pending !== undefined, frozen: now.penalties >= record.sLane, stale: l.stale === true };
  });
}

/**
 * A metered account as it arrives from a backup: marked `recoveryNeeded` unless the caller has just
 * recovered it (its lanes may have moved on elsewhere). Pending calls are kept: their states are
 * still asked for (`GET /v2/zkcredits/state/{nullifier}`, the call just made) once recovered.
 */
export function meteredFromBackup(record: MeteredAccountRecord, recovered = false): MeteredAccountRecord {
  if (recovered || record.recoveryNeeded) return record;
  return parseMeteredRecord({ ...record, recoveryNeeded: true });
}

const rank: Record<AccountStatus, number> = { abandoned: 0, pending: 1, open: 2, revoked: 3 };

/** Orders two copies of one lane: the further position wins; at the same one a settled state beats a pending call, else `mine`. */
function laterLane(mine: MeteredLane, other: MeteredLane): MeteredLane {
  const pos = (l: MeteredLane) => (l.pending ? l.pending.next.n : lanePosition(l.state));
  if (pos(other) > pos(mine)) return other;
  if (pos(other) === pos(mine) && mine.pending && !other.pending) return other;
  return mine;
}

/**
 * Combines two copies of one metered account (same `accountId`), e.g. this store's and a backup's:
 * the most advanced status wins, known facts are kept, each lane keeps the copy further along its
 * chain (`stale` is kept from either copy), and a copy not recovered that is ahead of this one on
 * some lane leaves the account `recoveryNeeded`.
 */
export function mergeMeteredRecords(mine: MeteredAccountRecord, other: MeteredAccountRecord): MeteredAccountRecord {
  const hi = rank[other.status] > rank[mine.status] ? other : mine;
  const lo = hi === mine ? other : mine;
  const pos = (l: MeteredLane) => (l.pending ? l.pending.next.n : lanePosition(l.state));
  let ahead = false;
  const lanes = mine.lanes.map((l, i) => {
    const o = other.lanes[i];
    if (!o) return l;
    if (pos(o) > pos(l)) ahead = true;
    return { ...laterLane(l, o), ...(l.stale || o.stale ? { stale: true as const } : {}) };
  });
  const recoveryNeeded = mine.recoveryNeeded || (other.recoveryNeeded && ahead);
  const { recoveryNeeded: _hi, ...hiFields } = hi;
  const { recoveryNeeded: _lo, ...loFields } = lo;
  return parseMeteredRecord({
    ...loFields,
    ...hiFields,
    ...(recoveryNeeded ? { recoveryNeeded: true } : {}),
    id: mine.id,
    expiryDay: hi.expiryDay ?? lo.expiryDay,
    leafIndex: hi.leafIndex ?? lo.leafIndex,
    txHash: hi.txHash ?? lo.txHash,
    lanes,
    createdAt: Math.min(mine.createdAt, other.createdAt),
  });
}
