import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChainView } from './chain/indexer.js';
import type { PoolStats } from './proof/pool.js';

/** Prometheus metrics of one app instance (own registry: several apps can share a process). */
export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(sources: {
  chain: ChainView;
  verifierPool?: () => PoolStats;
  proverPool?: () => PoolStats;
  inFlight: () => number;
  /** Open connections to the API listener. */
  openConnections?: () => number;
  /** Whether this replica should take traffic (the `GET /ready` check), asked at each scrape. */
  ready?: () => Promise<boolean>;
}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'zkc_' });
  const httpRequests = new Counter({
    name: 'zkc_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'zkc_http_request_duration_seconds',
    help: 'HTTP request duration (streaming: until the last byte)',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const verifySeconds = new Histogram({
    name: 'zkc_proof_verify_seconds',
    help: 'Proof verification time, queueing included',
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const proveSeconds = new Histogram({
    name: 'zkc_proof_prove_seconds',
    help: 'Server-side proving time (API-key mode), queueing included',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [registry],
  });
  const credits = new Counter({
    name: 'zkc_credits_total',
    help: 'Credit and ticket outcomes: spent (served; code "ticket" for v2 tickets), released (upstream failed, credit kept), refused (by error code), evidence (a v2 ticket came back with another request: account revoked)',
    labelNames: ['outcome', 'code'] as const,
    registers: [registry],
  });
  const meteredStates = new Counter({
    name: 'zkc_metered_states_total',
    help: 'Signed states of metered calls by outcome: charged (cost from usage), refunded (full refund: the provider failed, the client left before any output, or usage was missing), penalty (policy violation), recovered (full refund at start for a call this replica held when it stopped), swept (full refund of a call abandoned by any replica)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const stateSignSeconds = new Histogram({
    name: 'zkc_state_sign_seconds',
    help: 'Time to sign one metered state (Grumpkin Schnorr)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'zkc_upstream_errors_total',
    help: 'Upstream failures by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'zkc_chain_head_block',
    help: 'Latest block reported by the RPC node',
    registers: [registry],
    collect() {
      const v = sources.chain.status.head;
      if (v !== null) this.set(Number(v));
    },
  });
  new Gauge({
    name: 'zkc_chain_synced_block',
    help: 'Last block whose purchases are indexed',
    registers: [registry],
    collect() {
      const v = sources.chain.status.synced;
      if (v !== null) this.set(Number(v));
    },
  });
  new Gauge({
    name: 'zkc_tree_leaves',
    help: 'Leaves in the indexed credit tree',
    registers: [registry],
    collect() {
      this.set(sources.chain.status.leafCount);
    },
  });
  new Gauge({
    name: 'zkc_chain_reorgs',
    help: 'Reorganisations rolled back since start',
    registers: [registry],
    collect() {
      this.set(sources.chain.status.reorgs);
    },
  });
  new Gauge({
    name: 'zkc_chain_halted',
    help: '1 when the index stopped on an inconsistency that needs an operator',
    registers: [registry],
    collect() {
      this.set(sources.chain.status.halted ? 1 : 0);
    },
  });
  new Gauge({
    name: 'zkc_ready',
    help: '1 when this replica should take traffic (database and rate-limit store answer, index caught up, not draining), as GET /ready',
    registers: [registry],
    async collect() {
      this.set(sources.ready && (await sources.ready()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'zkc_http_in_flight',
    help: 'Requests being served',
    registers: [registry],
    collect() {
      this.set(sources.inFlight());
    },
  });
  new Gauge({
    name: 'zkc_http_connections',
    help: 'Open client connections to the API listener',
    registers: [registry],
    collect() {
      this.set(sources.openConnections?.() ?? 0);
    },
  });
  const connectionsRefused = new Counter({
    name: 'zkc_http_connections_refused_total',
    help: 'Connections closed on accept, by reason (per_address_cap: ZKC_MAX_CONNECTIONS_PER_IP)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const pool = new Gauge({
    name: 'zkc_proof_pool',
    help: 'Proof worker pools: size, busy and queued',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    collect() {
      for (const [name, get] of [
        ['verifier', sources.verifierPool],
        ['prover', sources.proverPool],
      ] as const) {
        const s = get?.();
        if (!s) continue;
        pool.set({ pool: name, state: 'size' }, s.size);
        pool.set({ pool: name, state: 'busy' }, s.busy);
        pool.set({ pool: name, state: 'queued' }, s.queued);
      }
    },
  });
  return { registry, httpRequests, httpDuration, verifySeconds, proveSeconds, credits, meteredStates, stateSignSeconds, upstreamErrors, connectionsRefused };
}
