/**
 * The local proxy behind `zkcredits serve`: an OpenAI-compatible endpoint on the given host
 * (127.0.0.1 unless the user says otherwise) that any OpenAI client can point at with nothing
 * changed but the base URL and the key (the local token). Each chat request is paid by the
 * client with a fresh proof and its own credit; N requests in flight use N distinct credits.
 *
 * Access: `Authorization: Bearer <token>` (constant-time), a `Host` that is the proxy's loopback
 * name and port (DNS rebinding), CORS only for listed origins. Limits: a body limit (413), a
 * header timeout, a graceful stop. The proxy never logs: `onEvent` reports what happened (route,
 * status, model, timing), never a prompt, an answer, a header value or a credential.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AttestationLevel } from '@zkcredits/attest';
import type { ZkCreditsClient } from '@zkcredits/client';
import { CorsPolicy, allowedHosts, bearerCheck, hostAllowed, hostForUrl } from './access.js';
import { DEFAULT_MAX_BODY_BYTES } from './body.js';
import { sendError, statusOf } from './errors.js';
import { route, routeOf, type RouteOutcome } from './routes.js';

export type ProxyOptions = {
  /** Pays the requests (its store's reservations give each request in flight its own credit). */
  client: ZkCreditsClient;
  /** The local bearer token (at least 16 characters). A secret, not a credential: it only gates the proxy. */
  token: string;
  /** The address to bind, exactly (the CLI passes 127.0.0.1 unless told otherwise). */
  host: string;
  /** The port; 0 picks a free one (see `url`). */
  port: number;
  /** Largest request body accepted (default 4 MiB); larger ones get a 413 and spend nothing. */
  maxBodyBytes?: number;
  /** More `Host` header values to answer to: `name` (on the proxy's port) or `name:port`. */
  allowHosts?: readonly string[];
  /** Origins (`http://localhost:3000`) whose browser scripts may call the proxy; none by default. */
  cors?: readonly string[];
  /** What happened, request by request (no prompts, answers or secrets): for the CLI's output. */
  onEvent?: (event: ProxyEvent) => void;
  /** How long `close()` lets requests in flight finish before it aborts them (default 10 s). */
  closeTimeoutMs?: number;
  /** Time allowed to receive a request's headers (default 15 s). */
  headersTimeoutMs?: number;
  /** The attestation level the client verifies enclaves at, for `x-zkcredits-attestation` (default `dcap`). */
  attestation?: AttestationLevel;
};

/** Events of the proxy. `route` is the path without its query. */
export type ProxyEvent =
  | {
      type: 'request';
      method: string;
      route: string;
      status: number;
      /** The OpenAI-shaped error code, if refused (`invalid_api_key`, `host_not_allowed`, `no_credits`, …). */
      error?: string;
      model?: string;
      stream?: boolean;
      /** Whether a credit was spent on it (a 200 chat answer). */
      paid?: boolean;
      /** The caller went away (or the proxy stopped) before the answer was whole. */
      aborted?: boolean;
      ms: number;
    }
  /** Something unexpected (a bug); `message` is the error's first line, never a payload. */
  | { type: 'error'; message: string }
  | { type: 'stopping'; inFlight: number }
  | { type: 'stopped'; aborted: number };

export type RunningProxy = {
  /** The proxy's origin, e.g. `http://127.0.0.1:8787` (a wildcard bind shows as 127.0.0.1). */
  url: string;
  /** The base URL for OpenAI clients: `${url}/v1`. */
  baseUrl: string;
  port: number;
  /**
   * Stops accepting, lets requests in flight finish (aborting those still running after
   * `closeTimeoutMs`: a credit not yet answered stays unspent), then resolves. Idempotent.
   */
  close(): Promise<void>;
};

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]']);

/** Starts the proxy; rejects if the address cannot be bound. */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const { client } = options;
  const authorised = bearerCheck(options.token);
  const cors = new CorsPolicy(options.cors);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const emit = (event: ProxyEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure is not the request's.
    }
  };
  const inFlight = new Set<AbortController>();
  let hosts = new Set<string>();
  let stopping = false;

  const headersTimeout = options.headersTimeoutMs ?? 15_000;
  const server = createServer({
    headersTimeout,
    requestTimeout: 120_000,
    keepAliveTimeout: 5_000,
    // How often Node enforces the two timeouts above (default 30 s, which would stretch them).
    connectionsCheckingInterval: Math.min(1_000, headersTimeout),
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<RouteOutcome> {
    const corsHeaders = cors.headers(req.headers);
    if (!hostAllowed(req.headers, hosts)) {
      const shown = JSON.stringify(String(req.headers.host ?? '').slice(0, 100));
      sendError(res, 'host_not_allowed', `This proxy does not answer to the Host ${shown} (DNS rebinding protection). Use ${proxy.baseUrl}, or start it with --allow-host for another name.`);
      return { status: statusOf('host_not_allowed'), error: 'host_not_allowed' };
    }
    if (CorsPolicy.isPreflight(req.method, req.headers)) {
      const allowed = cors.preflight(req.headers);
      if (!allowed) {
        sendError(res, 'origin_not_allowed', 'This origin may not call the proxy from a browser (start it with --cors <origin> to allow one).');
        return { status: statusOf('origin_not_allowed'), error: 'origin_not_allowed' };
      }
      res.writeHead(204, allowed).end();
      return { status: 204 };
    }
    if (!authorised(req.headers)) {
      sendError(res, 'invalid_api_key', 'Missing or wrong local token: send "Authorization: Bearer <token>" (the API key of your OpenAI client) with the token `zkcredits serve` printed.', {
        headers: { ...corsHeaders, 'www-authenticate': 'Bearer' },
      });
      return { status: 401, error: 'invalid_api_key' };
    }
    if (stopping) {
      sendError(res, 'shutting_down', 'The proxy is stopping. Nothing was sent and no credit was used.', { headers: corsHeaders, close: true });
      return { status: 503, error: 'shutting_down' };
    }
    const controller = new AbortController();
    inFlight.add(controller);
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.on('close', onClose);
    try {
      return await route(req, res, { client, maxBodyBytes, attestation: options.attestation ?? 'dcap', headers: corsHeaders, signal: controller.signal });
    } finally {
      res.off('close', onClose);
      inFlight.delete(controller);
      if (stopping) server.closeIdleConnections();
    }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = routeOf(req.url);
    // The caller went away (or was cut off) before the whole answer was written.
    let left = false;
    res.on('close', () => {
      if (!res.writableFinished) left = true;
    });
    if (stopping) res.setHeader('connection', 'close');
    handle(req, res)
      .catch((error: unknown): RouteOutcome => {
        const aborted = res.destroyed || (error instanceof Error && error.name === 'AbortError');
        if (!aborted) {
          emit({ type: 'error', message: error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : 'unknown error' });
          sendError(res, 'internal_error', 'The proxy failed unexpectedly. No credit was used unless an answer had begun.');
          return { status: 500, error: 'internal_error' };
        }
        if (!res.destroyed) res.destroy();
        return { status: res.headersSent ? res.statusCode : 499 };
      })
      .then((outcome) => {
        const aborted = left || !res.writableEnded;
        emit({ type: 'request', method, route: path, ...outcome, ...(aborted ? { aborted } : {}), ms: Math.round(performance.now() - started) });
      });
  });
  // A bad request line or headers, or a header timeout: an answer if the socket still takes one.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const line = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${line}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(options.host, port, options.allowHosts);
  const shownHost = WILDCARD_BINDS.has(options.host) ? '127.0.0.1' : hostForUrl(options.host);
  const url = `http://${shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  const proxy: RunningProxy = {
    url,
    baseUrl: `${url}/v1`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        stopping = true;
        emit({ type: 'stopping', inFlight: inFlight.size });
        let aborted = 0;
        const timer = setTimeout(() => {
          aborted = inFlight.size;
          for (const c of inFlight) c.abort();
          server.closeAllConnections();
        }, closeTimeoutMs);
        server.close(() => {
          clearTimeout(timer);
          emit({ type: 'stopped', aborted });
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
  return proxy;
}
