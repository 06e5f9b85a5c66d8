import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { ChainView } from './chain/indexer.js';
import type { Config } from './config.js';
import { ApiError, ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { PoolStats } from './proof/pool.js';
import type { Prover, Verifier } from './proof/types.js';
import { memoryRateLimit, type RateLimitBackend } from './ratelimit.js';
import { ATTESTATION_PATH, attestationHandler } from './routes/attestation.js';
import { CHAT_PATH, chatHandler } from './routes/chat.js';
import { publicRoutes } from './routes/public.js';
import type { Store } from './store/index.js';
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
  /** Clock for reservations (tests). */
  now?: () => number;
};

export type App = {
  express: express.Express;
  metrics: Metrics;
  /**
   * Starts the metrics listener (ZKC_METRICS_ADDR, unless off), the API listener, the chain
   * index and the reservation sweeper. `metricsUrl` is where GET /metrics answers (undefined: off).
   */
  start(): Promise<{ url: string; port: number; metricsUrl: string | undefined }>;
  /** Stops accepting, drains in-flight requests (up to the grace period), stops the index and the metrics listener. */
  stop(): Promise<void>;
};

const SWEEP_INTERVAL_MS = 10_000;
/** How long an idle keep-alive connection stays open between two requests. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const E2EE_HEADERS = ['x-venice-tee-client-pub-key', 'x-venice-tee-model-pub-key', 'x-venice-tee-signing-algo'];

type AsyncHandler = (req: Request, res: Response) => Promise<void>;
const wrap = (fn: AsyncHandler) => (req: Request, res: Response, next: NextFunction) => fn(req, res).catch(next);

function poolStatsOf(x: unknown): (() => PoolStats) | undefined {
  const pool = (x as { pool?: { stats?: PoolStats } } | undefined)?.pool;
  return pool && 'stats' in pool ? () => pool.stats! : undefined;
}

/** Builds the HTTP app from injected parts. No side effects until `start()`. */
export function createApp(deps: AppDeps): App {
  const { config, store, chain, logger } = deps;
  const log = logger.child({ subsystem: 'http' });
  const now = deps.now ?? Date.now;
  const rateLimitBackend = deps.rateLimit ?? memoryRateLimit;
  let inFlight = 0;
  let stopping = false;

  const metrics = createMetrics({
    chain,
    verifierPool: poolStatsOf(deps.verifier),
    proverPool: poolStatsOf(deps.prover),
    inFlight: () => inFlight,
    openConnections: () => sockets.size,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', 'weak');

  // Accounting first so every response, errors included, is counted.
  app.use((req, res, next) => {
    inFlight++;
    const end = metrics.httpDuration.startTimer();
    const started = performance.now();
    res.once('close', () => {
      inFlight--;
      // Only declared routes become labels: a raw path would let clients grow /metrics without bound.
      const route = typeof req.route?.path === 'string' ? req.route.path : 'unmatched';
      end({ route });
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      // Never the body, the headers or the client address.
      log.debug({ method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request');
    });
    if (stopping) res.setHeader('connection', 'close');
    next();
  });
  app.use(helmet());
  app.use(
    cors({
      origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins.length ? config.corsOrigins : false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization', ...E2EE_HEADERS],
      exposedHeaders: ['retry-after', 'x-zkcredits-total', 'x-zkcredits-root', 'x-zkcredits-from', 'x-venice-tee-signature'],
      maxAge: 600,
    }),
  );

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get(
    '/ready',
    wrap(async (_req, res) => {
      const problems: string[] = [];
      await Promise.all([
        store.ping().catch(() => problems.push('database unreachable')),
        rateLimitBackend.ping().catch(() => problems.push('rate-limit store (redis) unreachable')),
      ]);
      if (chain.status.halted) problems.push(`chain index halted: ${chain.status.halted}`);
      else if (!chain.isSynced()) problems.push('chain index not caught up');
      if (stopping) problems.push('shutting down');
      const body = {
        status: problems.length ? 'not_ready' : 'ready',
        problems,
        chain: { head: chain.status.head?.toString() ?? null, synced: chain.status.synced?.toString() ?? null, leaves: chain.status.leafCount },
      };
      res.setHeader('cache-control', 'no-store');
      res.status(problems.length ? 503 : 200).json(body);
    }),
  );
  // No /metrics here: spend counters polled by anyone could be timed against on-chain
  // purchases. Metrics have their own listener (ZKC_METRICS_ADDR, loopback by default).

  const limiter = rateLimit({
    windowMs: 60_000,
    limit: config.limits.rateLimitPerMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: rateLimitBackend.createStore(),
    // Store init failures and misconfiguration warnings; message only (no request data).
    logger: {
      error: (err, msg) => log.warn({ err: err instanceof Error ? err.message : String(err) }, msg ?? 'rate limiter error'),
      warn: (err, msg) => log.warn({ err: err instanceof Error ? err.message : String(err) }, msg ?? 'rate limiter warning'),
    },
    handler: (_req, _res, next, options) => {
      next(new ApiError('rate_limited', { retryAfter: Math.ceil(options.windowMs / 1000) }));
    },
  });
  // A shared store that does not answer fails closed: 503 not_ready (like a lost database).
  app.use((req, res, next) =>
    limiter(req, res, (err?: unknown) =>
      err === undefined || err instanceof ApiError
        ? next(err)
        : next(new ApiError('not_ready', { details: 'rate-limit store unreachable', retryAfter: config.limits.retryAfterSeconds, cause: err })),
    ),
  );

  app.use(publicRoutes({ config, chain, store }));
  app.get(
    ATTESTATION_PATH,
    wrap(attestationHandler({ config, upstream: deps.upstream, logger, metrics, retryAfterSeconds: config.limits.retryAfterSeconds })),
  );

  const jsonBody = express.json({ limit: config.limits.maxBodyBytes, strict: true, type: 'application/json' });
  app.post(
    CHAT_PATH,
    (req, res, next) => {
      if (stopping) return next(new ApiError('shutting_down', { retryAfter: config.limits.retryAfterSeconds }));
      if (chain.status.halted) return next(new ApiError('not_ready', { details: 'chain index halted' }));
      next();
    },
    jsonBody,
    wrap(
      chatHandler({
        config,
        store,
        chain,
        verifier: deps.verifier,
        prover: deps.prover,
        upstream: deps.upstream,
        logger,
        metrics,
        now,
        apiKeyMode: config.apiKeyMode,
        retryAfterSeconds: config.limits.retryAfterSeconds,
      }),
    ),
  );
  app.all(['/v1/chat/completions', '/v1/models', ATTESTATION_PATH, '/v1/zkcredits/{*rest}'], (_req, _res, next) => next(new ApiError('method_not_allowed')));
  app.use((_req, _res, next) => next(new ApiError('not_found')));

  // The one error middleware: typed errors → status + OpenAI-shaped JSON.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiErr = toApiError(err);
    if (apiErr.status >= 500 && apiErr.code === 'internal_error') {
      log.error({ err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err), route: req.path }, 'unhandled error');
    }
    if (apiErr.code !== 'rate_limited' && apiErr.code !== 'not_found') {
      if (req.path === CHAT_PATH) metrics.credits.inc({ outcome: 'refused', code: apiErr.code });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (apiErr.retryAfter !== undefined) res.setHeader('retry-after', String(apiErr.retryAfter));
    res.setHeader('cache-control', 'no-store');
    res.status(apiErr.status).json(apiErr.toJSON());
  });

  let server: Server | undefined;
  let metricsServer: Server | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  const sockets = new Set<Socket>();
  // Open connections per client address (IPv6: per /64). Only where the server sees the
  // clients themselves: behind a trusted proxy every connection comes from the proxy,
  // which enforces the per-client cap (docs/DEPLOY.md).
  const perAddressCap = config.trustProxy === false ? config.connections.maxPerIp : undefined;
  const openPerAddress = new Map<string, number>();

  const onConnection = (socket: Socket) => {
    if (perAddressCap !== undefined) {
      const key = addressKey(socket.remoteAddress);
      const open = (openPerAddress.get(key) ?? 0) + 1;
      if (open > perAddressCap) {
        // Refused before a byte is read: it holds no parser, no timers, no request.
        metrics.connectionsRefused.inc({ reason: 'per_address_cap' });
        socket.destroy();
        return;
      }
      openPerAddress.set(key, open);
      socket.once('close', () => {
        const left = (openPerAddress.get(key) ?? 1) - 1;
        if (left > 0) openPerAddress.set(key, left);
        else openPerAddress.delete(key);
      });
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  return {
    express: app,
    metrics,
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
        app,
      );
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      // Before Node's own handler: a refused connection never reaches the HTTP parser.
      server.prependListener('connection', onConnection);
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
      stopping = true;
      if (sweeper) clearInterval(sweeper);
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = Date.now() + config.shutdownGraceMs;
        while (inFlight > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 25));
          server.closeIdleConnections();
        }
        // Past the grace period: abort what is left (their reservations are released or expire).
        for (const s of sockets) s.destroy();
        await closed;
      }
      await chain.stop();
      if (metricsServer) {
        const closed = new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
        metricsServer.closeAllConnections();
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

/** The key a connection counts against: the IPv4 address, or the IPv6 /64 (one host's usual allocation). */
export function addressKey(remote: string | undefined): string {
  if (!remote) return '';
  const a = remote.toLowerCase().replace(/%.*$/, '');
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const [head = '', tail] = a.split('::');
  const groups = (s: string) => (s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${all
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; status?: number } | undefined;
  switch (e?.type) {
    case 'entity.too.large':
      return new ApiError('body_too_large');
    case 'entity.parse.failed':
      return new ApiError('invalid_json');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError('unsupported_media_type');
    case 'request.aborted':
      return new ApiError('invalid_request', { message: 'The request body was cut off.' });
    default:
      if (isDatabaseUnavailable(err)) return new ApiError('not_ready', { cause: err });
      return new ApiError('internal_error', { cause: err });
  }
}

/** Connection-level database failures: the client should retry (nothing was spent). */
function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  // Node socket errors, PostgreSQL class 08 (connection) / 57P (shutdown), SQLite busy/locked.
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|08\d{3}|57P0[1-3]|SQLITE_BUSY|SQLITE_LOCKED)$/.test(code);
}
