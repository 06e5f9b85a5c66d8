import { BOUND_REQUEST_HEADERS, CHAT_PATH } from '@zkcredits/core';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { AppDeps } from './app.js';
import { readinessProblems } from './readiness.js';
import { ApiError, toApiError } from './errors.js';
import type { MeteredCalls } from './metered/calls.js';
import type { Metrics } from './metrics.js';
import type { RateLimitBackend } from './ratelimit.js';
import { ATTESTATION_PATH, attestationHandler } from './routes/attestation.js';
import { chatHandler, type RawBodyRequest } from './routes/chat.js';
import { COLLATERAL_PATH, collateralHandler } from './routes/collateral.js';
import { publicRoutes } from './routes/public.js';
import { PENALTIES_PATH, STATE_PATH, SPENT_PATH, V2_CONFIG_PATH, v2Routes } from './routes/v2.js';
import type { CollateralMirror } from './tee/collateral-mirror.js';
import type { Revoker } from './tickets/revocation.js';
import type { ModelCapabilityCatalogue } from './upstream/model-capabilities.js';

/** What the routes and the lifecycle share: requests in flight, and whether the server is stopping. */
export type Traffic = { inFlight: number; stopping: boolean };

type AsyncHandler = (req: Request, res: Response) => Promise<void>;
const wrap = (fn: AsyncHandler) => (req: Request, res: Response, next: NextFunction) => fn(req, res).catch(next);

/**
 * The Express app: accounting, security headers, CORS, rate limit, the routes and the one error
 * middleware that turns every error into status + OpenAI-shaped JSON. Listens on nothing.
 */
export function createHttpApp(
  deps: AppDeps & { now: () => number; rateLimit: RateLimitBackend; capabilities: ModelCapabilityCatalogue; collateral: CollateralMirror; revoker: Revoker; metered: MeteredCalls },
  metrics: Metrics,
  traffic: Traffic,
): express.Express {
  const { config, store, chain, logger, rateLimit: rateLimitBackend } = deps;
  const log = logger.child({ subsystem: 'http' });
  const retryAfterSeconds = config.limits.retryAfterSeconds;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', 'weak');

  // Accounting first so every response, errors included, is counted.
  app.use((req, res, next) => {
    traffic.inFlight++;
    const end = metrics.httpDuration.startTimer();
    const started = performance.now();
    res.once('close', () => {
      traffic.inFlight--;
      // Only declared routes become labels: a raw path would let clients grow /metrics without bound.
      const route = typeof req.route?.path === 'string' ? req.route.path : 'unmatched';
      end({ route });
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      // Never the body, the headers or the client address.
      log.debug({ method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request');
    });
    if (traffic.stopping) res.setHeader('connection', 'close');
    next();
  });
  app.use(helmet());
  app.use(
    cors({
      origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins.length ? config.corsOrigins : false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization', ...BOUND_REQUEST_HEADERS],
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
      const problems = await readinessProblems({ store, rateLimit: rateLimitBackend, chain, stopping: () => traffic.stopping });
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

  /** A per-IP limiter; a shared store that does not answer fails closed: 503 not_ready (like a lost database). */
  const perIpLimit = (limit: number, name?: string) => {
    const limiter = rateLimit({
      windowMs: 60_000,
      limit,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      store: rateLimitBackend.createStore(name),
      // Store init failures and misconfiguration warnings; message only (no request data).
      logger: {
        error: (err, msg) => log.warn({ err: err instanceof Error ? err.message : String(err) }, msg ?? 'rate limiter error'),
        warn: (err, msg) => log.warn({ err: err instanceof Error ? err.message : String(err) }, msg ?? 'rate limiter warning'),
      },
      handler: (_req, _res, next, options) => {
        next(new ApiError('rate_limited', { retryAfter: Math.ceil(options.windowMs / 1000) }));
      },
    });
    return (req: Request, res: Response, next: NextFunction) =>
      limiter(req, res, (err?: unknown) =>
        err === undefined || err instanceof ApiError
          ? next(err)
          : next(new ApiError('not_ready', { details: 'rate-limit store unreachable', retryAfter: retryAfterSeconds, cause: err })),
      );
  };

  // DCAP collateral: counted on its own (ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE), not against chat's limit.
  app.get(
    COLLATERAL_PATH,
    perIpLimit(config.limits.collateralRateLimitPerMinute, 'collateral'),
    wrap(collateralHandler({ mirror: deps.collateral, logger, metrics, retryAfterSeconds })),
  );

  app.use(perIpLimit(config.limits.rateLimitPerMinute));

  app.use(publicRoutes({ config, chain, store, capabilities: deps.capabilities }));
  app.use(v2Routes({ config, chain, store, now: deps.now, metered: deps.metered }));
  app.get(ATTESTATION_PATH, wrap(attestationHandler({ config, upstream: deps.upstream, logger, metrics, retryAfterSeconds })));

  const jsonBody = express.json({
    limit: config.limits.maxBodyBytes,
    strict: true,
    type: 'application/json',
    // The bytes as received: a metered call's policy violation logs their SHA-256 (never the bytes).
    verify: (req, _res, buf) => {
      (req as RawBodyRequest).rawBody = buf;
    },
  });
  app.post(
    CHAT_PATH,
    (req, res, next) => {
      if (traffic.stopping) return next(new ApiError('shutting_down', { retryAfter: retryAfterSeconds }));
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
        now: deps.now,
        apiKeyMode: config.apiKeyMode,
        retryAfterSeconds,
        revoker: deps.revoker,
        metered: deps.metered,
      }),
    ),
  );
  app.all([CHAT_PATH, '/v1/models', ATTESTATION_PATH, COLLATERAL_PATH, '/v1/zkcredits/{*rest}', V2_CONFIG_PATH, SPENT_PATH, STATE_PATH, PENALTIES_PATH], (_req, _res, next) => next(new ApiError('method_not_allowed')));
  app.use((_req, _res, next) => next(new ApiError('not_found')));

  // The one error middleware: typed errors → status + OpenAI-shaped JSON.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiErr = toApiError(err, { retryAfterSeconds });
    if (apiErr.code === 'internal_error') {
      log.error({ err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err), route: req.path }, 'unhandled error');
    } else if (apiErr.code === 'proof_backend_unavailable') {
      // The operator must know; the client only learns to retry.
      log.error({ err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'proof backend failed');
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

  return app;
}
