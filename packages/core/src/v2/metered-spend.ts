// Spending from metered accounts: the one flow every client uses (SDK, CLI, web app).
//
// - A lane scheduler: an account has L = 2^lanesLog2 lanes, each a chain of states, so up to L of
//   its calls are in flight at once, one per lane. A call waits (first come, first served) for a
//   lane that can pay C_max; it waits on promises that the lanes' settlements resolve, never on a
//   timer.
// - A call is proved from the lane's state with a fresh salt and journaled (its nullifier, its request
//   hash and the opening of the new commitment) BEFORE its payload leaves this object.
// - `settle` takes the server's signed state, checks it is this call's and that it verifies under the
//   deployment's on-chain state key (never any other key: a per-user key could tag the user), and
//   makes it the lane's state.
// - A call whose outcome is unknown (no answer, a crash) leaves its lane pending; before the lane is
//   used again its state is asked for with `GET /v2/zkcredits/state/{nullifier}` (that call only).
//
// The refund r, the signature and the old commitment are private inputs of the next proof only: no
// payload this object makes carries anything the server produced before.
//
// One writer per account: one `MeteredSpender` per store in a process (its lanes are held in its
// memory), and across processes the store's lock (the CLI's vault lock, Web Locks in the browser).
import { FIELD_MODULUS } from '../generated/constants.js';
import { isZkCreditsError } from '../errors.js';
import type { MerkleTree } from '../tree.js';
import { randomBytes } from '../vault/crypto.js';
import {
  lanePendingEntry,
  laneStandings,
  laneStateOf,
  meteredTermsOf,
  pendingOpening,
  type LaneStanding,
  type MeteredAccountRecord,
} from '../vault/metered-record.js';
import { stateCommitment, stateMessage, type LaneStateOpening } from './metered.js';
import { MeteredError } from './metered-errors.js';
import { encodeMeteredPayload, type MeteredPayload, type MeteredProof } from './metered-payload.js';
import type { FetchedState } from './metered-state.js';
import type { MeteredAccountStore } from './metered-store.js';
import { buildMeteredWitness, type LaneState, type MeteredWitness } from './metered-witness.js';
import { decodeSignedState, type SignedState } from './signed-state.js';
import { verifyStateSignature, type StatePublicKey } from './state-key.js';

/** Anything that proves a metered call: `MeteredProver` (`@zkcredits/core/prover`, or `createNodeMeteredProver`). */
export interface MeteredProverLike {
  prove(witness: MeteredWitness): Promise<MeteredProof>;
}

/** The deployment's state keys as the contract holds them (`readStateKeys`): the current one, and the previous one during a rotation's grace. */
export type MeteredStateKeys = { current: StatePublicKey; previous?: { key: StatePublicKey; validUntil: number | bigint } };

/** What a metered call needs of the deployment, read from the chain: C_max (price units) and the state keys. */
export type MeteredDeployment = { cMax: number; stateKeys: MeteredStateKeys };

export type MeteredSpenderOptions = {
  store: MeteredAccountStore;
  /** The prover, made on first use by the caller. */
  prover: () => Promise<MeteredProverLike>;
  /**
   * The deployment's C_max and state keys as read from the chain (cached by the caller); `fresh`
   * asks for a new read, made when a signature does not verify under the keys read before (a
   * rotation may have happened).
   */
  deployment: (fresh: boolean) => Promise<MeteredDeployment>;
  /** `GET /v2/zkcredits/state/{nullifier}` (`fetchMeteredState`); without it pending lanes wait for `recover`-less settlement. */
  fetchState?: (nullifier: bigint, signal?: AbortSignal) => Promise<FetchedState>;
  /** Clock (ms since the epoch); default `Date.now`. */
  now?: () => number;
};

/** One call on its way: the `zkcredits` member to send and what `settle`/`release` need. Nothing in it may be logged but `account` and `lane`. */
export type MeteredCall = {
  /** The account record id. */
  account: string;
  lane: number;
  nullifier: bigint;
  /** The request hash the call's position is bound to. */
  x: bigint;
  /** The opening of `cm_new` (private). */
  next: LaneStateOpening;
  /** C_max this call pre-paid (price units). */
  cMax: number;
  /** The v2 `zkcredits` body member. */
  payload: MeteredPayload;
  /** True when the lane's pending call for this same request (unknown to the server) is sent again at its position. */
  retry: boolean;
};

/** A signed state made a lane's state. */
export type MeteredSettlement = {
  record: MeteredAccountRecord;
  lane: number;
  /** Refund and penalty (price units) the server signed; the call cost `cMax − r`. */
  r: number;
  p: number;
  cost: number;
  reason?: string;
};

/** What `recover` did for one pending lane. */
export type LaneRecovery = {
  account: string;
  lane: number;
  /** `committed`: its state came back and is the lane's now; `pending`: the server has not signed it yet; `unknown`: the server never reserved it; `failed`: no answer or a state refused. */
  outcome: 'committed' | 'pending' | 'unknown' | 'failed';
  retryAfter?: number;
  error?: unknown;
};

export type SpendMeteredParameters = {
  /** An open metered account of the store (read again from the store before use). */
  account: MeteredAccountRecord;
  /** The tree mirror holding the account's leaf, checked against the chain by the caller. */
  tree: MerkleTree;
  /** The request hash (`requestHash` for this deployment) of the request the call pays for. */
  x: bigint;
  /** UTC day number (`utcDay(Date.now())`). */
  today: number;
  /** Stops waiting for a lane. */
  signal?: AbortSignal;
};

type AccountLanes = {
  busy: Set<number>;
  /** The account's FIFO of callers choosing a lane, one at a time. */
  queue: Promise<unknown>;
  /** Wakes the caller at the head of the queue when a lane is freed. */
  freed: (() => void)[];
  /** Callers queued behind the head. */
  queued: number;
  /** The head found no free lane and waits for one. */
  blocked: boolean;
};

/**
 * Spends from the metered accounts of one store: the lane scheduler, the journal, signed-state
 * checks and recovery.
 *
 * Each `spend` must end with exactly one of:
 * - `settle(call, state)`: the server's signed state for it arrived (in the answer, the error body or
 *   from `GET /v2/zkcredits/state`);
 * - `release(call)`: no state known (no answer, a crash of the answer): the lane stays pending and
 *   is recovered before its next use.
 *
 * @example
 * const call = await spender.spend({ account, tree, x: requestHash({ ...deployment, method: 'POST', path: CHAT_PATH, body }), today: utcDay(Date.now()) });
 * const res = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, zkcredits: call.payload }) }).catch((e) => (spender.release(call), Promise.reject(e)));
 * const { zkcredits, ...answer } = await res.json();
 * await spender.settle(call, zkcredits);
 */
export class MeteredSpender {
  readonly #lanes = new Map<string, AccountLanes>();
  /** Per nullifier, the last `unknown` answer of this process: not asked again before the next explicit `recover`. */
  readonly #unknown = new Set<bigint>();
  /** Per nullifier, when a `pending` answer may be asked again (ms). */
  readonly #pendingUntil = new Map<bigint, number>();
  readonly #now: () => number;

  constructor(private readonly options: MeteredSpenderOptions) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * A call on a lane of `account` that can pay C_max, for the request with hash `x`: waits (FIFO) while
   * every usable lane is in flight. Pending lanes are first asked for their state. Errors:
   * `MeteredError` (`account_not_open`, `account_expired`, `recovery_needed`, `insufficient_balance`,
   * `lane_frozen`, `state_pending`, `no_usable_lane`, `state_signature_invalid`), the store's, the
   * prover's (nothing was journaled then: the lane is as it was).
   */
  async spend({ account, tree, x, today, signal }: SpendMeteredParameters): Promise<MeteredCall> {
    const id = account.id;
    const deployment = await this.options.deployment(false);
    if (deployment.cMax !== account.cMax) {
      throw new MeteredError('state_mismatch', "This account was priced with another C_max than the deployment's.", { details: `record ${account.cMax}, chain ${deployment.cMax}` });
    }
    const { lane, retry } = await this.#acquire(id, x, today, deployment.cMax, signal);
    try {
      const record = await this.options.store.meteredAccount(id);
      const state = laneStateOf(record, lane);
      const stateKey = await this.#provingKey(record, state);
      const pending = record.lanes[lane]!.pending;
      // A re-send of the same request at the same position keeps its salt: the same cm_new.
      const saltNew = retry && pending ? BigInt(pending.next.salt) : freshSalt();
      const { witness, next } = buildMeteredWitness({ k: BigInt(record.secret), terms: meteredTermsOf(record) }, tree, state, {
        x,
        today,
        cMax: deployment.cMax,
        stateKey,
        saltNew,
      });
      const proof = await (await this.options.prover()).prove(witness);
      const payload = encodeMeteredPayload(proof);
      // The journal, before the payload leaves this object.
      await this.options.store.journalLane(id, lane, lanePendingEntry({ nullifier: witness.nullifier, x, next, sentAt: this.#now() }));
      this.#unknown.delete(witness.nullifier);
      return { account: id, lane, nullifier: witness.nullifier, x, next, cMax: deployment.cMax, payload, retry };
    } catch (error) {
      this.#free(id, lane);
      throw error;
    }
  }

  /**
   * The server's signed state (wire form) for `call`: checked (this call's nullifier, r ≤ C_max, a
   * signature under the on-chain key) and made the lane's state; the lane is free again. A state that
   * fails a check is refused (`MeteredError` `state_mismatch` or `state_signature_invalid`) and the
   * lane stays pending.
   */
  async settle(call: MeteredCall, wire: unknown): Promise<MeteredSettlement> {
    try {
      return await this.#commit(call.account, call.lane, call.nullifier, call.next, call.cMax, wire);
    } finally {
      this.#free(call.account, call.lane);
    }
  }

  /** No state known for `call`: its lane stays pending (journaled) and is free for recovery; its state is asked for before the lane's next use. */
  release(call: MeteredCall): void {
    this.#free(call.account, call.lane);
  }

  /**
   * Asks the server for the state of every pending call of `account` (or of every account of the
   * store) that no call of this process holds: `GET /v2/zkcredits/state/{nullifier}` for exactly those
   * nullifiers. Signed states are checked and committed.
   */
  async recover(options: { account?: string; signal?: AbortSignal } = {}): Promise<LaneRecovery[]> {
    const records = options.account ? [await this.options.store.meteredAccount(options.account)] : await this.options.store.listMeteredAccounts();
    const out: LaneRecovery[] = [];
    for (const record of records) {
      for (const [lane, l] of record.lanes.entries()) {
        if (!l.pending || l.stale || this.#busy(record.id).has(lane)) continue;
        this.#busy(record.id).add(lane);
        try {
          out.push(await this.#recoverLane(record, lane, options.signal));
        } finally {
          this.#free(record.id, lane);
        }
      }
    }
    return out;
  }

  /** Lanes of `account` held by calls of this process (for balances and tests). */
  busyLanes(account: string): number[] {
    return [...(this.#lanes.get(account)?.busy ?? [])].sort((a, b) => a - b);
  }

  /**
   * Calls on `account` waiting for a lane: 0 unless the first caller in line found every usable lane
   * held and waits for one to be freed; then it and everyone queued behind it.
   */
  waiting(account: string): number {
    const lanes = this.#lanes.get(account);
    return lanes?.blocked ? 1 + lanes.queued : 0;
  }

  // ---------------------------------------------------------------- the scheduler

  #account(id: string): AccountLanes {
    let lanes = this.#lanes.get(id);
    if (!lanes) this.#lanes.set(id, (lanes = { busy: new Set(), queue: Promise.resolve(), freed: [], queued: 0, blocked: false }));
    return lanes;
  }

  #busy(id: string): Set<number> {
    return this.#account(id).busy;
  }

  #free(id: string, lane: number): void {
    const lanes = this.#account(id);
    if (!lanes.busy.delete(lane)) return;
    for (const wake of lanes.freed.splice(0)) wake();
  }

  /**
   * Takes a lane for `x`, first come first served: one caller at a time chooses (the account's queue),
   * and while no lane is free it waits for the next lane a settlement or release frees.
   */
  #acquire(id: string, x: bigint, today: number, cMax: number, signal?: AbortSignal): Promise<{ lane: number; retry: boolean }> {
    const lanes = this.#account(id);
    lanes.queued++;
    const turn = lanes.queue.then(async () => {
      lanes.queued--;
      for (;;) {
        if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
        // Registered before looking, so a lane freed meanwhile still wakes this caller.
        const freed = new Promise<void>((resolve) => lanes.freed.push(resolve));
        const choice = await this.#choose(id, x, today, cMax, signal);
        if ('lane' in choice) {
          lanes.busy.add(choice.lane);
          return choice;
        }
        if (lanes.busy.size === 0) throw choice.error;
        lanes.blocked = true;
        try {
          await abortable(freed, signal);
        } finally {
          lanes.blocked = false;
        }
      }
    });
    lanes.queue = turn.catch(() => undefined);
    return turn;
  }

  /** A free lane for `x` now, or why there is none. Pending lanes are asked for their state first. */
  async #choose(id: string, x: bigint, today: number, cMax: number, signal?: AbortSignal): Promise<{ lane: number; retry: boolean } | { error: MeteredError }> {
    const busy = this.#busy(id);
    let record = await this.options.store.meteredAccount(id);
    if (record.status !== 'open' || record.expiryDay === undefined) {
      return { error: new MeteredError('account_not_open', `This account is ${record.status}; no call can be made from it.`, { details: `account record ${id}` }) };
    }
    if (today > record.expiryDay) return { error: new MeteredError('account_expired', 'This account has expired.', { details: `it expired after day ${record.expiryDay}; today is ${today}` }) };
    if (record.recoveryNeeded) {
      return { error: new MeteredError('recovery_needed', 'This account came from a backup: recover it before use, or a lane position already used could be used again.', { details: `account record ${id}` }) };
    }
    const stuck: LaneRecovery[] = [];
    for (const [lane, l] of record.lanes.entries()) {
      if (!l.pending || l.stale || busy.has(lane)) continue;
      const nf = BigInt(l.pending.nullifier);
      const asked = this.#unknown.has(nf) || (this.#pendingUntil.get(nf) ?? 0) > this.#now();
      if (!asked && this.options.fetchState) {
        busy.add(lane);
        try {
          const outcome = await this.#recoverLane(record, lane, signal);
          if (outcome.outcome !== 'committed') stuck.push(outcome);
        } finally {
          busy.delete(lane); // no wake-up: whoever waits is behind this caller in the queue
        }
      } else stuck.push({ account: id, lane, outcome: this.#unknown.has(nf) ? 'unknown' : 'pending' });
    }
    record = await this.options.store.meteredAccount(id);
    // The same request's own pending call, unknown to the server: sent again at its position.
    const retry = record.lanes.findIndex((l, lane) => l.pending && !l.stale && !busy.has(lane) && BigInt(l.pending.x) === x && this.#unknown.has(BigInt(l.pending.nullifier)));
    if (retry >= 0) return { lane: retry, retry: true };
    const standings = laneStandings(record);
    const usable = (s: LaneStanding) => !s.pending && !s.stale && !s.frozen && s.balance >= cMax;
    const free = standings.filter((s) => usable(s) && !busy.has(s.lane)).sort((a, b) => b.balance - a.balance || a.lane - b.lane)[0];
    if (free) return { lane: free.lane, retry: false };
    return { error: noLane(standings, stuck, cMax) };
  }

  // ---------------------------------------------------------------- states

  /** Asks for lane `lane`'s pending state and commits it when signed. */
  async #recoverLane(record: MeteredAccountRecord, lane: number, signal?: AbortSignal): Promise<LaneRecovery> {
    const pending = record.lanes[lane]!.pending!;
    const nf = BigInt(pending.nullifier);
    const base = { account: record.id, lane };
    if (!this.options.fetchState) return { ...base, outcome: 'pending' };
    let fetched: FetchedState;
    try {
      fetched = await this.options.fetchState(nf, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      return { ...base, outcome: 'failed', error };
    }
    if (fetched.status === 'unknown') {
      this.#unknown.add(nf);
      return { ...base, outcome: 'unknown' };
    }
    this.#unknown.delete(nf);
    if (fetched.status === 'pending') {
      this.#pendingUntil.set(nf, this.#now() + 1000 * (fetched.retryAfter ?? 1));
      return { ...base, outcome: 'pending', ...(fetched.retryAfter ? { retryAfter: fetched.retryAfter } : {}) };
    }
    this.#pendingUntil.delete(nf);
    try {
      // The C_max the call pre-paid: the deployment's (immutable), kept in the record.
      await this.#commit(record.id, lane, nf, pendingOpening(pending), record.cMax, fetched.state);
      return { ...base, outcome: 'committed' };
    } catch (error) {
      if (isZkCreditsError(error) && error.name === 'MeteredError') return { ...base, outcome: 'failed', error };
      throw error;
    }
  }

  async #commit(id: string, lane: number, nullifier: bigint, next: LaneStateOpening, cMax: number, wire: unknown): Promise<MeteredSettlement> {
    let state: SignedState;
    try {
      state = decodeSignedState(wire);
    } catch (cause) {
      throw new MeteredError('state_mismatch', 'The server sent a malformed signed state.', { details: 'expected {"v": 2, "kind": "metered_state", …}', cause });
    }
    if (state.nullifier !== nullifier) throw new MeteredError('state_mismatch', 'The server sent the signed state of another call.', { details: `lane ${lane}` });
    if (state.r > cMax) throw new MeteredError('state_mismatch', 'The server signed a refund above the pre-paid maximum.', { details: `r ${state.r} > C_max ${cMax}` });
    const record = await this.options.store.meteredAccount(id);
    const message = stateMessage(stateCommitment(BigInt(record.secret), next), state.r, state.p);
    // During a rotation's grace the server signs under the current key: never accept any other.
    let { stateKeys } = await this.options.deployment(false);
    if (!verifyStateSignature(stateKeys.current, message, state.sig)) {
      ({ stateKeys } = await this.options.deployment(true));
      if (!verifyStateSignature(stateKeys.current, message, state.sig)) {
        throw new MeteredError('state_signature_invalid', "The server's signed state does not verify under the deployment's on-chain state key. It was refused.", {
          details: 'a state signed under any other key could tag you; the lane keeps waiting for a valid state',
        });
      }
    }
    const { record: stored } = await this.options.store.commitLane(id, lane, nullifier, { r: state.r, p: state.p, sig: state.sig, ...(state.reason ? { reason: state.reason } : {}) });
    return { record: stored, lane, r: state.r, p: state.p, cost: cMax - state.r, ...(state.reason ? { reason: state.reason } : {}) };
  }

  /**
   * The key a lane's next proof names: the current on-chain key, or the previous one while its grace
   * lasts for a state signed before the rotation. Refuses a state signed under neither.
   */
  async #provingKey(record: MeteredAccountRecord, state: LaneState): Promise<StatePublicKey> {
    for (const fresh of [false, true]) {
      const { stateKeys } = await this.options.deployment(fresh);
      if (state.kind === 'genesis') return stateKeys.current;
      const message = stateMessage(stateCommitment(BigInt(record.secret), state.opening), state.r, state.p);
      if (verifyStateSignature(stateKeys.current, message, state.sig)) return stateKeys.current;
      const previous = stateKeys.previous;
      if (previous && this.#now() / 1000 < Number(previous.validUntil) && verifyStateSignature(previous.key, message, state.sig)) return previous.key;
    }
    throw new MeteredError('state_signature_invalid', "This lane's state does not verify under the deployment's current state key (or the previous one within its grace).", {
      details: 'the key was rotated and its grace is over: the lane can only be closed (protocol v2 step 3)',
    });
  }
}

/** A fresh salt for a new commitment: 32 random bytes reduced into the field. */
function freshSalt(): bigint {
  let v = 0n;
  for (const b of randomBytes(32)) v = (v << 8n) | BigInt(b);
  return v % FIELD_MODULUS || 1n;
}

function abortable(promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => (signal.removeEventListener('abort', onAbort), resolve()),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

/** Why no lane can take a call now (nothing of this process is in flight on the account). */
function noLane(standings: LaneStanding[], stuck: LaneRecovery[], cMax: number): MeteredError {
  const waiting = stuck.filter((s) => s.outcome === 'pending');
  if (waiting.length > 0) {
    const retryAfter = Math.max(1, ...waiting.map((s) => s.retryAfter ?? 1));
    return new MeteredError('state_pending', 'The server has not signed the state of the last call on the lanes that could pay yet. Try again shortly.', {
      details: `lanes ${waiting.map((s) => s.lane).join(', ')}; retry after about ${retryAfter} s`,
    });
  }
  if (standings.some((s) => !s.pending && !s.stale && s.balance >= cMax && s.frozen)) {
    return new MeteredError('lane_frozen', "Every lane that could pay is frozen: its penalties reached its stake.", { details: `${standings.filter((s) => s.frozen).length} frozen lanes` });
  }
  if (stuck.length > 0) {
    return new MeteredError('no_usable_lane', 'No lane can take a call now: the last call on the others has no known state.', {
      details: `lanes ${stuck.map((s) => `${s.lane} (${s.outcome})`).join(', ')}; their states are asked for again by recover()`,
    });
  }
  return new MeteredError('insufficient_balance', 'No lane of this account holds the most a call can cost (C_max).', {
    details: `balances ${standings.map((s) => s.balance).join(', ')} price units; C_max ${cMax}`,
  });
}

/** A metered account's balance: price units, the same in token base units, and the calls it still covers at C_max. */
export type MeteredBalance = {
  /** Σ over lanes (not stale) of the balance; a pending call counts as its worst case (C_max) until its state returns. */
  priceUnits: number;
  /** `priceUnits · priceUnit`, token base units. */
  money: bigint;
  /** Σ over lanes (not stale, not frozen) of ⌊balance / C_max⌋. */
  callsAtCmax: number;
  /** Calls whose state has not come back yet (their refunds are not counted). */
  pending: number;
  /** Σ of penalties signed on the lanes (price units). */
  penalties: number;
  lanes: LaneStanding[];
};

/**
 * The balance of a metered account: per lane B (price units; a pending call's C_max taken, its
 * refund not yet known), in money (`× priceUnit`, token base units) and in calls at C_max.
 *
 * @example
 * const { money, callsAtCmax } = meteredBalance(record); // the record's C_max and price unit (the deployment's)
 */
export function meteredBalance(record: MeteredAccountRecord, params: { cMax: number; priceUnit: bigint } = { cMax: record.cMax, priceUnit: BigInt(record.priceUnit) }): MeteredBalance {
  const lanes = laneStandings(record);
  const live = lanes.filter((l) => !l.stale);
  const priceUnits = live.reduce((sum, l) => sum + l.balance, 0);
  const callsAtCmax = live.filter((l) => !l.frozen).reduce((sum, l) => sum + Math.floor(l.balance / params.cMax), 0);
  return {
    priceUnits,
    money: BigInt(priceUnits) * params.priceUnit,
    callsAtCmax,
    pending: lanes.filter((l) => l.pending).length,
    penalties: live.reduce((sum, l) => sum + l.penalties, 0),
    lanes,
  };
}
