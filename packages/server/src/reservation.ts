import { randomUUID } from 'node:crypto';
import { unavailableCredit, type AuthorizedCredit } from './credit.js';
import { ApiError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Store } from './store/index.js';

export type ReservationDeps = {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** How long a reservation holds the credit if its holder never ends it (crash). */
  ttlMs: number;
  /** From this release on the credit cools down (PROTOCOL.md, "Release cooldown"). */
  releasesBeforeCooldown: number;
  retryAfterSeconds: number;
};

/**
 * One request's hold on what pays for it (a v1 credit or a v2 ticket), from its reservation to
 * exactly one ending: `commit` (the answer is about to reach the client), `release` (no provider
 * work was done for the client) or `abandon` (the client left after the provider worked).
 */
export interface Hold {
  readonly mode: 'proof' | 'api_key' | 'ticket';
  /** True once committed, released or abandoned. */
  readonly settled: boolean;
  /** Work to do once reserved, before the provider is called (API-key mode proves here). */
  prepare(): Promise<void>;
  /** @throws {ApiError} when the reservation was lost (its lease ran out and another request took it over). */
  commit(): Promise<void>;
  /** Never throws. */
  release(reason: string): Promise<void>;
  /** Never throws. */
  abandon(): Promise<void>;
}

/**
 * One request's hold on a credit: `reserve` claims the nullifier (exactly one concurrent request
 * wins), then exactly one of three endings, whichever comes first:
 *
 * - `commit`: the answer is about to reach the client, so the credit is spent;
 * - `release`: no provider work was done for the client (the provider failed, timed out or refused
 *   before answering, or the server failed first), so the credit is free again, and the release
 *   counts toward its cooldown;
 * - `abandon`: the client left after its request reached the provider, which worked (and billed
 *   the operator) for it, so the credit is spent although no answer was delivered.
 *
 * Later endings are no-ops. A holder that crashes ends nothing: the reservation expires after
 * `ttlMs` and the credit becomes reservable again.
 */
export class Reservation implements Hold {
  private ended = false;
  private readonly log: Logger;

  private constructor(
    private readonly deps: ReservationDeps,
    readonly credit: AuthorizedCredit,
    private readonly token: string,
  ) {
    this.log = deps.logger.child({ subsystem: 'reservation' });
  }

  /**
   * Claims `credit` for this request.
   * @throws {ApiError} `credit_spent`, `credit_in_use` or `credit_cooling_down` when it cannot be claimed now.
   */
  static async reserve(deps: ReservationDeps, credit: AuthorizedCredit): Promise<Reservation> {
    const token = randomUUID();
    const reserved = await deps.store.reserve(credit.nullifierHash, token, deps.now(), deps.ttlMs);
    if (!reserved.ok) throw await unavailableCredit(deps, credit.nullifierHash, reserved.state);
    return new Reservation(deps, credit, token);
  }

  /** True once the reservation was committed, released or abandoned. */
  get settled(): boolean {
    return this.ended;
  }

  get mode(): 'proof' | 'api_key' {
    return this.credit.mode;
  }

  async prepare(): Promise<void> {
    await this.credit.proveAfterReserve?.();
  }

  /**
   * Reserved → spent, just before the first byte of the answer goes to the client.
   * @throws {ApiError} `credit_in_use` when this reservation expired and another request took the
   * credit over: that request serves, this one must not.
   */
  async commit(): Promise<void> {
    this.ended = true;
    if (!(await this.deps.store.markSpent(this.credit.nullifierHash, this.token, this.deps.now()))) {
      throw new ApiError('credit_in_use', { retryAfter: this.deps.retryAfterSeconds });
    }
    this.deps.metrics.credits.inc({ outcome: 'spent', code: '' });
  }

  /** Reserved → free (counted toward the cooldown): no provider work was done for the client. Never throws. */
  async release(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const cooldown = { now: this.deps.now(), after: this.deps.releasesBeforeCooldown };
    const ok = await this.deps.store.release(this.credit.nullifierHash, this.token, cooldown).catch((err: unknown) => {
      this.log.error({ err }, 'could not release a reservation; it will expire');
      return false;
    });
    this.deps.metrics.credits.inc({ outcome: 'released', code: reason });
    this.log.info({ mode: this.credit.mode, reason, released: ok }, 'credit kept: no answer reached the client');
  }

  /**
   * Reserved → spent without an answer: the client left after its request reached the provider.
   * Otherwise one credit could buy unlimited provider work by disconnecting before the answer.
   * Never throws.
   */
  async abandon(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.deps.store.markSpent(this.credit.nullifierHash, this.token, this.deps.now()).catch((err: unknown) => {
      this.log.error({ err }, 'could not mark an abandoned request spent; the reservation will expire');
    });
    this.deps.metrics.credits.inc({ outcome: 'spent', code: 'client_left' });
  }
}
