import { encodeSignedState, type SignedStateWire } from '@zkcredits/core';
import type { ChainView } from '../chain/indexer.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { MeteredRecord, Store } from '../store/index.js';
import { StateSigner, type MeteredTerms } from './signer.js';

/** Why a state was signed (the `outcome` label of `zkc_metered_states_total`). */
export type StateOutcome = 'charged' | 'refunded' | 'penalty' | 'recovered' | 'swept';

/** What a state says beyond the call it closes: refund, penalty, the rule, and the status the client got. */
export type Settlement = { r: number; p: number; reason: string | null; responseStatus: number | null };

export type MeteredCallsDeps = {
  config: Config;
  store: Store;
  chain: ChainView;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
};

/** Unsigned reservations handled per query by recovery and the sweep. */
const PAGE = 100;
/** Between two sweeps for reservations abandoned by any replica. */
const SWEEP_INTERVAL_MS = 30_000;

/** A stored state as the wire shape (JSON member, SSE event, `GET /v2/zkcredits/state/{nf}`). */
export function stateWire(record: MeteredRecord): SignedStateWire {
  const s = record.signed;
  if (!s) throw new Error('the metered call has no state yet');
  return encodeSignedState({ nullifier: record.nullifier, r: s.r, p: s.p, sig: s.sig, ...(s.reason ? { reason: s.reason } : {}) });
}

/**
 * The metered calls of this replica (protocol v2 step 2): the terms they are served on, the one
 * state each reserved call ends with, the state lookup, and the full refunds of calls nobody will
 * finish: at start, this replica's own (before it listens: a crash left them); periodically, any
 * replica's older than the reservation TTL (a replica that never came back).
 */
export class MeteredCalls {
  readonly signer: StateSigner | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private readonly log: Logger;

  constructor(private readonly deps: MeteredCallsDeps) {
    const key = deps.config.metered.stateKey;
    this.signer = key && new StateSigner(key.secret, { chain: deps.chain, metrics: deps.metrics, logger: deps.logger });
    this.log = deps.logger.child({ subsystem: 'metered' });
  }

  /**
   * The terms a metered call is served on now.
   * @throws {ApiError} `metered_unavailable` (no state key, or no metered terms on-chain) or `state_key_mismatch`.
   */
  terms(): MeteredTerms {
    if (!this.signer) throw new ApiError('metered_unavailable', { details: 'this server has no state key (ZKC_STATE_KEY)' });
    return this.signer.terms(Math.floor(this.deps.now() / 1000));
  }

  /** The terms, or null when metered calls cannot be served now (for the public config). */
  termsOrNull(): MeteredTerms | null {
    try {
      return this.terms();
    } catch {
      return null;
    }
  }

  /**
   * Signs and stores the one state of a reserved call, unless one is stored already: then that one
   * (signed first by a racing replica or the sweep) is the call's state. Returns the stored state.
   */
  async settle(call: { nullifier: bigint; cmNew: bigint }, s: Settlement, outcome: StateOutcome, penalty?: { evidenceHash: string }): Promise<SignedStateWire> {
    const signer = this.signer;
    if (!signer) throw new ApiError('metered_unavailable', { details: 'this server has no state key (ZKC_STATE_KEY)' });
    const sig = signer.sign(call.cmNew, s.r, s.p);
    const { won, record } = await this.deps.store.signMetered(call.nullifier, { ...s, sig }, this.deps.now(), penalty);
    if (won) this.deps.metrics.meteredStates.inc({ outcome });
    return stateWire(record);
  }

  /**
   * The state of a metered call for `GET /v2/zkcredits/state/{nullifier}`.
   * @throws {ApiError} `state_pending` (reserved, not signed yet) or `unknown_nullifier`.
   */
  async state(nullifier: bigint): Promise<SignedStateWire> {
    const record = await this.deps.store.meteredRecord(nullifier);
    if (!record) throw new ApiError('unknown_nullifier', { param: 'nullifier' });
    if (!record.signed) throw new ApiError('state_pending', { retryAfter: this.deps.config.limits.retryAfterSeconds });
    return stateWire(record);
  }

  /** At start, before listening: a full refund for every call this replica reserved and never signed (it crashed). */
  async recover(): Promise<number> {
    return this.refundAll({ replica: this.deps.config.metered.replicaId }, 'recovered');
  }

  /** A full refund for every call of any replica reserved longer ago than the reservation TTL. */
  async sweep(): Promise<number> {
    return this.refundAll({ reservedBefore: this.deps.now() - this.deps.config.reservationTtlMs }, 'swept');
  }

  /** Starts the periodic sweep. */
  start(): void {
    if (this.timer || !this.signer) return;
    this.timer = setInterval(() => {
      this.sweeping = this.sweep().catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'metered sweep failed; retrying later'));
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  private async refundAll(filter: { replica?: string; reservedBefore?: number }, outcome: 'recovered' | 'swept'): Promise<number> {
    let n = 0;
    for (;;) {
      const page = await this.deps.store.unsignedMetered(filter, PAGE);
      if (page.length === 0) break;
      if (!this.signer) {
        this.log.error({ calls: page.length }, 'metered calls wait for their state but this server has no state key: set ZKC_STATE_KEY to the secret they were served under');
        break;
      }
      // A full refund (r = the C_max the call pre-paid, no penalty): the client is charged nothing.
      for (const call of page) await this.settle(call, { r: call.cMax, p: 0, reason: null, responseStatus: null }, outcome);
      n += page.length;
    }
    if (n > 0) {
      this.log.warn({ calls: n, replica: filter.replica }, outcome === 'recovered' ? 'signed full refunds for calls this replica held when it stopped' : 'signed full refunds for calls abandoned by a replica');
    }
    return n;
  }
}
