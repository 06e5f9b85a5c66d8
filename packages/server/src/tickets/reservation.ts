import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Hold } from '../reservation.js';
import type { Store } from '../store/index.js';
import { refusedTicket, type AuthorizedTicket } from './authorize.js';
import type { Revoker } from './revocation.js';

export type TicketReservationDeps = {
  store: Store;
  revoker: Revoker;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** How long a reservation holds the ticket if its holder never ends it (crash). */
  ttlMs: number;
  /** From this release on the ticket cools down (as v1 credits, PROTOCOL.md "Release cooldown"). */
  releasesBeforeCooldown: number;
  retryAfterSeconds: number;
};

/**
 * One request's hold on a v2 ticket. Unlike a v1 credit, a ticket is never freed: its share
 * `(x, y)` stays in the store from the first request on, and it can only ever be served for that
 * same `x` (PROTOCOL.md, "Protocol v2: retries"). Endings:
 *
 * - `commit`: the answer is about to reach the client: spent (a later request with this x gets
 *   `ticket_reused`, no content);
 * - `release`: no provider work was done for the client: unserved, servable again for the same x
 *   (counted toward the cooldown);
 * - `abandon`: the client left after the provider worked for it: spent.
 *
 * A holder that crashes ends nothing: once its lease runs out the same x may be served.
 */
export class TicketReservation implements Hold {
  readonly mode = 'ticket' as const;
  private ended = false;

  private constructor(
    private readonly deps: TicketReservationDeps,
    private readonly ticket: AuthorizedTicket,
    private readonly token: string,
  ) {}

  /**
   * Claims the ticket for this request. A ticket already seen with another request hash is the
   * second share: the account is revoked (before anything is published) and the request refused.
   * @throws {ApiError} `ticket_reused`, `ticket_in_use`, `credit_cooling_down` or `account_revoked`.
   */
  static async reserve(deps: TicketReservationDeps, ticket: AuthorizedTicket): Promise<TicketReservation> {
    const token = randomUUID();
    const now = deps.now();
    const got = await deps.store.reserveTicket(ticket, token, now, deps.ttlMs);
    if (got.ok) return new TicketReservation(deps, ticket, token);
    if (got.state === 'conflict') {
      await deps.revoker.revoke({ nullifier: ticket.nullifier, x1: got.x, y1: got.y, x2: ticket.x, y2: ticket.y });
      deps.metrics.credits.inc({ outcome: 'evidence', code: 'account_revoked' });
      throw new ApiError('account_revoked', { param: 'zkcredits.nullifier' });
    }
    throw refusedTicket(got, now, deps.retryAfterSeconds);
  }

  get settled(): boolean {
    return this.ended;
  }

  async prepare(): Promise<void> {}

  /** @throws {ApiError} `ticket_in_use` when the lease ran out and another request (same x) took the ticket over. */
  async commit(): Promise<void> {
    this.ended = true;
    if (!(await this.deps.store.commitTicket(this.ticket.nullifier, this.token, this.deps.now()))) {
      throw new ApiError('ticket_in_use', { retryAfter: this.deps.retryAfterSeconds });
    }
    this.deps.metrics.credits.inc({ outcome: 'spent', code: 'ticket' });
  }

  async release(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const ok = await this.deps.store
      .releaseTicket(this.ticket.nullifier, this.token, { now: this.deps.now(), after: this.deps.releasesBeforeCooldown })
      .catch((err: unknown) => {
        this.deps.logger.error({ subsystem: 'reservation', err }, 'could not release a ticket reservation; its lease will run out');
        return false;
      });
    this.deps.metrics.credits.inc({ outcome: 'released', code: reason });
    this.deps.logger.info({ subsystem: 'reservation', mode: this.mode, reason, released: ok }, 'ticket unserved: servable again for the same request only');
  }

  async abandon(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.deps.store.commitTicket(this.ticket.nullifier, this.token, this.deps.now()).catch((err: unknown) => {
      this.deps.logger.error({ subsystem: 'reservation', err }, 'could not mark an abandoned ticket spent; its lease will run out');
    });
    this.deps.metrics.credits.inc({ outcome: 'spent', code: 'client_left' });
  }
}
