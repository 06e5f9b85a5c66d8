import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { ChainView } from './chain/indexer.js';
import type { Config } from './config.js';
import type { ConnectionTracker } from './connections.js';
import { ApiError, ConfigError } from './errors.js';
import type { Traffic } from './http-app.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Store } from './store/index.js';

const SWEEP_INTERVAL_MS = 10_000;
/** How long an idle keep-alive connection stays open between two requests. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often the drain checks whether in-flight requests finished. */
const DRAIN_POLL_MS = 25;

export type LifecycleDeps = {
  config: Config;
  app: express.Express;
  chain: ChainView;
  store: Store;
  logger: Logger;
  metrics: Metrics;
  traffic: Traffic;
  connections: ConnectionTracker;
  now: () => number;
};

export type Lifecycle = {
  /**
   * Starts the metrics listener (ZKC_METRICS_ADDR, unless off), the API listener, the chain
   * index and the reservation sweeper. `metricsUrl` is where GET /metrics answers (undefined: off).
   */
  start(): Promise<{ url: string; port: number; metricsUrl: string | undefined }>;
  /** Stops accepting, drains in-flight requests (up to the grace period), stops the index and the metrics listener. */
  stop(): Promise<void>;
};

/** Listeners, the chain index and the sweeper: what `start()` brings up and `stop()` drains and closes. */
export function createLifecycle(deps: LifecycleDeps): Lifecycle {
  const { config, chain, store, metrics, traffic, connections, now } = deps;
  const log = deps.logger.child({ subsystem: 'http' });
  let server: Server | undefined;
  let metricsServer: Server | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  return {
    async start() {
      const { headersTimeoutMs } = config.connections;
      let metricsUrl: string | undefined;
      if (config.metrics) {
        metricsServer = createServer(
          { headersTimeout: headersTimeoutMs, requestTimeout: headersTimeoutMs, connectionsCheckingInterval: checkingInterval(headersTimeoutMs) },
          metricsHandler(metrics),
        );
        metricsServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
        const { port } = await listen(metricsServer, config.metrics.port, config.metrics.host, 'ZKC_METRICS_ADDR');
        metricsUrl = `http://${hostForUrl(config.metrics.host)}:${port}`;
      }
      // Proofs travel in the body; keep header limits at Node's default (16 KiB). Headers must
      // arrive within headersTimeoutMs (slow clients cannot hold connections open); the body
      // within requestTimeout. Timeouts are checked every checkingInterval.
      server = createServer(
        {
          headersTimeout: headersTimeoutMs,
          requestTimeout: Math.max(config.upstream.totalTimeoutMs + 30_000, headersTimeoutMs),
          connectionsCheckingInterval: checkingInterval(headersTimeoutMs),
        },
        deps.app,
      );
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      // Before Node's own handler: a refused connection never reaches the HTTP parser.
      server.prependListener('connection', connections.onConnection);
      let port: number;
      try {
        ({ port } = await listen(server, config.port, config.host, 'ZKC_PORT'));
      } catch (err) {
        metricsServer?.close();
        throw err;
      }
      chain.start();
      sweeper = setInterval(() => {
        store
          .releaseExpired(now())
          .then((n) => n > 0 && log.warn({ released: n }, 'released reservations abandoned by a crashed request'))
          .catch(() => {});
      }, SWEEP_INTERVAL_MS);
      sweeper.unref();
      log.info({ port, metrics: metricsUrl ?? 'off' }, 'listening');
      return { url: `http://${hostForUrl(config.host)}:${port}`, port, metricsUrl };
    },
    async stop() {
      traffic.stopping = true;
      if (sweeper) clearInterval(sweeper);
      if (server) {
        const api = server;
        const closed = new Promise<void>((resolve) => api.close(() => resolve()));
        api.closeIdleConnections();
        const deadline = Date.now() + config.shutdownGraceMs;
        while (traffic.inFlight > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
          api.closeIdleConnections();
        }
        // Past the grace period: abort what is left (their reservations are released or expire).
        connections.destroyAll();
        await closed;
      }
      await chain.stop();
      if (metricsServer) {
        const m = metricsServer;
        const closed = new Promise<void>((resolve) => m.close(() => resolve()));
        m.closeAllConnections();
        await closed;
      }
      log.info('stopped');
    },
  };
}

/** The Prometheus listener: GET /metrics and nothing else. */
function metricsHandler(metrics: Metrics) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const send = (err: ApiError) => {
      res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(err.toJSON()));
    };
    if ((req.url ?? '').split('?')[0] !== '/metrics') return send(new ApiError('not_found'));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(new ApiError('method_not_allowed'));
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => send(new ApiError('internal_error')),
    );
  };
}

/** Listens; an address already in use is a configuration problem (names the variable). */
async function listen(server: Server, port: number, host: string, variable: string): Promise<AddressInfo> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new ConfigError([`${variable}: cannot listen on ${hostForUrl(host)}:${port} (${String(code)}); pick another address or port`]);
    }
    throw err;
  }
  return server.address() as AddressInfo;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** How often Node checks header/request timeouts: a tenth of the header timeout, 50 ms to 1 s. */
function checkingInterval(headersTimeoutMs: number): number {
  return Math.min(1000, Math.max(50, Math.floor(headersTimeoutMs / 10)));
}
