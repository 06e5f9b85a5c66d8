import type express from 'express';
import type { AccountReader } from './chain/accounts.js';
import type { ChainView } from './chain/indexer.js';
import type { Config } from './config.js';
import { ConnectionTracker } from './connections.js';
import { createHttpApp, type Traffic } from './http-app.js';
import { createLifecycle, type Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import { MeteredCalls } from './metered/calls.js';
import { createMetrics, type Metrics } from './metrics.js';
import { readinessProblems } from './readiness.js';
import type { PoolStats } from './proof/pool.js';
import type { Prover, Verifier } from './proof/types.js';
import { memoryRateLimit, type RateLimitBackend } from './ratelimit.js';
import type { Store } from './store/index.js';
import { CollateralMirror } from './tee/collateral-mirror.js';
import { RetentionSweeper } from './tickets/retention.js';
import { Revoker } from './tickets/revocation.js';
import type { Slasher } from './tickets/slasher.js';
import { ModelCapabilityCatalogue } from './upstream/model-capabilities.js';
import type { Upstream } from './upstream/venice.js';

export type AppDeps = {
  config: Config;
  store: Store;
  chain: ChainView;
  verifier: Verifier;
  /** Needed only for API-key mode. */
  prover?: Prover;
  upstream: Upstream;
  logger: Logger;
  /** Where per-IP request counts live; in memory when absent. */
  rateLimit?: RateLimitBackend;
  /** Clock for reservations, ticket days and retention (tests). */
  now?: () => number;
  /** The contract's flat accounts (protocol v2): how many nullifiers a revoked account has. Without it: MAX_TICKETS. */
  accounts?: AccountReader;
  /** Publishes evidence on-chain (protocol v2); started and stopped with the app. Without it evidence stays pending. */
  slasher?: Slasher;
};

export type App = Lifecycle & {
  express: express.Express;
  metrics: Metrics;
  /** Protocol v2 background work: ticket retention, and the slasher when there is one. */
  tickets: { retention: RetentionSweeper; slasher: Slasher | undefined };
  /** Protocol v2 metered calls: their states, the start-up recovery and the sweep. */
  metered: MeteredCalls;
};

/** Between two retention sweeps (tickets, revoked nullifiers). */
const RETENTION_INTERVAL_MS = 3_600_000;

function poolStatsOf(x: unknown): (() => PoolStats) | undefined {
  const pool = (x as { pool?: { stats?: PoolStats } } | undefined)?.pool;
  return pool && 'stats' in pool ? () => pool.stats! : undefined;
}

/**
 * Builds the server from injected parts: the routes (`createHttpApp`) and the lifecycle that
 * listens, drains and closes (`createLifecycle`). No side effects until `start()`.
 */
export function createApp(deps: AppDeps): App {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const traffic: Traffic = { inFlight: 0, stopping: false };
  const rateLimit = deps.rateLimit ?? memoryRateLimit;
  let connections: ConnectionTracker | undefined;
  const metrics = createMetrics({
    chain: deps.chain,
    verifierPool: poolStatsOf(deps.verifier),
    proverPool: poolStatsOf(deps.prover),
    inFlight: () => traffic.inFlight,
    openConnections: () => connections?.size ?? 0,
    ready: async () => (await readinessProblems({ store: deps.store, rateLimit, chain: deps.chain, stopping: () => traffic.stopping })).length === 0,
  });
  // The per-address cap applies only where the server sees the clients themselves.
  connections = new ConnectionTracker(config.trustProxy === false ? config.connections.maxPerIp : undefined, metrics);
  const capabilities = new ModelCapabilityCatalogue({ upstream: deps.upstream, modelIds: config.models.map((m) => m.id), logger: deps.logger });
  const collateral = new CollateralMirror({ pcsUrl: config.tee.pcsUrl, rootCaCrlUrl: config.tee.rootCaCrlUrl, timeoutMs: config.upstream.headersTimeoutMs });
  const ttlDays = () => deps.chain.status.ttlDays;
  const revoker = new Revoker({
    store: deps.store,
    accounts: deps.accounts,
    ttlDays,
    graceDays: config.tickets.graceDays,
    onRevoked: () => deps.slasher?.kick(),
    logger: deps.logger,
    now,
  });
  const retention = new RetentionSweeper({ store: deps.store, ttlDays, graceDays: config.tickets.graceDays, logger: deps.logger, now, intervalMs: RETENTION_INTERVAL_MS });
  const metered = new MeteredCalls({ config, store: deps.store, chain: deps.chain, metrics, logger: deps.logger, now });
  const app = createHttpApp({ ...deps, now, rateLimit, capabilities, collateral, revoker, metered }, metrics, traffic);
  const lifecycle = createLifecycle({ config, app, chain: deps.chain, store: deps.store, logger: deps.logger, metrics, traffic, connections, now });
  return {
    express: app,
    metrics,
    tickets: { retention, slasher: deps.slasher },
    metered,
    async start() {
      // Before listening: every call this replica reserved and never signed (it crashed) gets its
      // full refund, so a client asking for its state is never told to wait for a dead process.
      await metered.recover();
      const started = await lifecycle.start();
      metered.start();
      // In the background: /v1/models never waits for the provider (models are unknown until read).
      capabilities.refreshIfDue();
      retention.start();
      deps.slasher?.start();
      return started;
    },
    async stop() {
      capabilities.stop();
      // After the drain: a request finishing meanwhile may still revoke and hand evidence over.
      await lifecycle.stop();
      await metered.stop();
      await deps.slasher?.stop();
      await retention.stop();
    },
  };
}
