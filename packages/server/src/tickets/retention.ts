import { utcDay } from '@zkcredits/core';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';

const DAY_MS = 86_400_000;

export type RetentionDeps = {
  store: Store;
  /** The contract's TTL_DAYS; null while unknown (tickets are then kept). */
  ttlDays: () => number | null;
  /** Days kept beyond the longest an account can live (ZKC_TICKET_GRACE_DAYS). */
  graceDays: number;
  logger: Logger;
  now: () => number;
  intervalMs: number;
};

/**
 * Forgets what can no longer matter, periodically: a ticket first seen on day t belongs to an
 * account that expires by t + TTL_DAYS, after which no proof for it verifies, so the ticket is
 * deleted once `first_seen + TTL_DAYS + grace` has passed; a revoked account's nullifiers once its
 * expiry + grace has passed. Evidence is kept forever.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly log: Logger;

  constructor(private readonly deps: RetentionDeps) {
    this.log = deps.logger.child({ subsystem: 'retention' });
  }

  start(): void {
    if (this.timer) return;
    const run = () => {
      this.running = this.sweep().catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'retention sweep failed; retrying later'));
    };
    run();
    this.timer = setInterval(run, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sweep at the current time: how many tickets and revoked nullifiers it deleted. */
  async sweep(): Promise<{ tickets: number; revokedNullifiers: number }> {
    const { store, graceDays } = this.deps;
    const today = utcDay(this.deps.now());
    const ttl = this.deps.ttlDays();
    const tickets = ttl === null ? 0 : await store.deleteTicketsSeenBefore((today - ttl - graceDays) * DAY_MS);
    const revokedNullifiers = await store.deleteRevokedNullifiersBefore(today);
    if (tickets > 0 || revokedNullifiers > 0) this.log.info({ tickets, revokedNullifiers }, 'retention: forgot expired tickets');
    return { tickets, revokedNullifiers };
  }
}
