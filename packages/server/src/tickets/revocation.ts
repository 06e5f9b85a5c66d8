import { MAX_TICKETS, MAX_TTL_DAYS, METERED_MAX_LANES_LOG2, meteredNullifier, recoverAccountSecret, ticketNullifier, utcDay } from '@zkcredits/core';
import type { AccountReader, OnChainAccount } from '../chain/accounts.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { hex32, type Evidence, type Store } from '../store/index.js';

export type RevokerDeps = {
  store: Store;
  /** The contract's accounts (ticket count and expiry); without it every account counts MAX_TICKETS tickets. */
  accounts: AccountReader | undefined;
  /** The contract's TTL_DAYS, when read. */
  ttlDays: () => number | null;
  /** Days revoked nullifiers are kept after the account's expiry. */
  graceDays: number;
  /** Asked to publish the evidence once the account is revoked (never before). */
  onRevoked?: () => void;
  logger: Logger;
  now: () => number;
  /** Longest wait for the contract's `accounts(id)` before falling back to MAX_TICKETS. */
  accountReadTimeoutMs?: number;
};

/** Nullifiers hashed between two yields to the event loop (two Poseidon2 hashes each). */
const HASHES_PER_YIELD = 256;

/**
 * Positions refused on each lane of a revoked metered account past the last one seen there. A
 * lane's positions are used in order (each proof needs the state signed for the one before), so
 * whoever learns `k` from the published evidence, without the lane states, can only start a lane at
 * its genesis, position 0, which is always refused; only the holder could go further, and only
 * this far (PROTOCOL.md, "metered: revocation").
 */
export const METERED_REVOKED_MARGIN = 1024;
/** Lane positions hashed and looked up per step while finding the last one seen. */
const LANE_WALK_STEP = 64;

/** What kind of account two shares came from (the request that revealed them says). */
export type AccountKind = 'flat' | 'metered';

/**
 * Revokes the account behind two shares of one ticket. Order (PROTOCOL.md, "Protocol v2"): recover
 * `k`, refuse every nullifier the account can have (`nf_i` for `i < N`, N from the contract, else
 * MAX_TICKETS), keep the evidence, and only then let the slash be published: once `k` is in
 * calldata anyone can prove for the account. `k` never leaves this function.
 */
export class Revoker {
  private readonly inFlight = new Map<bigint, Promise<void>>();
  private readonly log: Logger;

  constructor(private readonly deps: RevokerDeps) {
    this.log = deps.logger.child({ subsystem: 'revocation' });
  }

  /**
   * Revokes the account of `evidence` (two shares, both from verified proofs) and records the
   * evidence. Resolves once every nullifier of the account is refused in the store.
   */
  async revoke(evidence: Evidence, kind: AccountKind = 'flat'): Promise<void> {
    const recovered = recoverAccountSecret(evidence);
    if (!recovered) {
      // Both shares come from verified proofs, so they always pair: the stored row was altered.
      this.log.error('two shares of one ticket do not recover an account; the stored ticket row is not what a verified proof left');
      throw new ApiError('internal_error');
    }
    const { k, id } = recovered;
    // One revocation per account at a time in this process: N hashes are computed once.
    for (let prior = this.inFlight.get(id); prior; prior = this.inFlight.get(id)) await prior.catch(() => {});
    const work = this.revokeAccount(id, k, evidence, kind);
    this.inFlight.set(id, work);
    try {
      await work;
    } finally {
      if (this.inFlight.get(id) === work) this.inFlight.delete(id);
    }
    this.deps.onRevoked?.();
  }

  private async revokeAccount(id: bigint, k: bigint, evidence: Evidence, kind: AccountKind): Promise<void> {
    const { store, now } = this.deps;
    const known = await store.isAccountRevoked(id);
    const account = known ? undefined : await this.readAccount(id);
    const metered = kind === 'metered' || account?.kind === 'metered';
    const tickets = account && account.status !== 'none' && account.tickets > 0 ? account.tickets : MAX_TICKETS;
    const expiryDay = account && account.status !== 'none' ? account.expiryDay : null;
    // Unknown expiry: at most today + TTL_DAYS (an account opened today), or the largest TTL.
    const lastDay = expiryDay ?? utcDay(now()) + (this.deps.ttlDays() ?? MAX_TTL_DAYS);
    const nullifiers = known ? [] : metered ? await meteredAccountNullifiers(store, k) : await accountNullifiers(k, tickets);
    const revoked = await store.revokeAccount({
      accountId: id,
      tickets: metered ? nullifiers.length : tickets,
      expiryDay,
      keepUntilDay: lastDay + this.deps.graceDays,
      nullifiers,
      evidence,
      now: now(),
    });
    // The account id is public (opening event, and the slash); k and the shares never reach a log.
    this.log.warn(
      { account: hex32(id), kind: metered ? 'metered' : 'flat', tickets: revoked ? (metered ? nullifiers.length : tickets) : undefined, firstEvidence: revoked, ticketsFromContract: account ? account.status !== 'none' : undefined },
      'one ticket used for two different requests: account revoked, evidence kept for the slash',
    );
  }

  private async readAccount(id: bigint): Promise<OnChainAccount | undefined> {
    const reader = this.deps.accounts;
    if (!reader) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.deps.accountReadTimeoutMs ?? 5000)));
    try {
      return await Promise.race([
        reader.readAccount(id).catch((err: unknown) => {
          this.log.warn({ err: err instanceof Error ? err.name : 'error' }, 'could not read the account from the contract; revoking MAX_TICKETS nullifiers');
          return undefined;
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `nf_i` for every `i < tickets`, yielding to the event loop between chunks (65,535 take seconds). */
async function accountNullifiers(k: bigint, tickets: number): Promise<bigint[]> {
  const out: bigint[] = new Array<bigint>(tickets);
  for (let i = 0; i < tickets; i++) {
    out[i] = ticketNullifier(k, i);
    if (i % HASHES_PER_YIELD === HASHES_PER_YIELD - 1) await new Promise((r) => setImmediate(r));
  }
  return out;
}

/**
 * The nullifiers to refuse for a metered account: on every lane it can have, each position up to
 * the last one seen (found by walking the lane) and `METERED_REVOKED_MARGIN` beyond; a lane never
 * used only its first positions (its genesis, position 0, cannot be proved by anyone then).
 */
async function meteredAccountNullifiers(store: Store, k: bigint): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let lane = 0; lane < 2 ** METERED_MAX_LANES_LOG2; lane++) {
    const nfs: bigint[] = [];
    let last = -1;
    for (let from = 0; ; from += LANE_WALK_STEP) {
      const step = Array.from({ length: LANE_WALK_STEP }, (_, i) => meteredNullifier(k, lane, from + i));
      nfs.push(...step);
      const seen = await store.seenAmong(step);
      if (seen.size === 0) break;
      step.forEach((nf, i) => seen.has(nf) && (last = from + i));
    }
    for (let n = nfs.length; last >= 0 && n <= last + METERED_REVOKED_MARGIN; n++) {
      nfs.push(meteredNullifier(k, lane, n));
      if (n % HASHES_PER_YIELD === 0) await new Promise((r) => setImmediate(r));
    }
    out.push(...nfs);
  }
  return out;
}
