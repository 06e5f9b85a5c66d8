/**
 * The proxy's own refusals, as OpenAI-shaped answers (`{"error": {message, type, code, param}}`),
 * so every OpenAI client shows them the way it shows a server's. Refusals from the client or the
 * zkcredits server are already in this shape and pass through unchanged.
 */
import type { ServerResponse } from 'node:http';

/** Codes the proxy itself answers with. Stable: never renamed or reused. */
export type ProxyErrorCode =
  /** No `Authorization: Bearer <token>`, or not the proxy's token. */
  | 'invalid_api_key'
  /** The `Host` header is not a name this proxy answers to (DNS rebinding protection). */
  | 'host_not_allowed'
  /** A CORS preflight from an origin the proxy was not told to allow. */
  | 'origin_not_allowed'
  /** A route zkcredits does not have (e.g. `/v1/responses`). */
  | 'route_not_supported'
  /** A supported route with another method. */
  | 'method_not_allowed'
  /** The request body is larger than the proxy's limit. */
  | 'request_too_large'
  /** The request body could not be read. */
  | 'invalid_request'
  /** The model is not on the server's list (`GET /v1/models/{id}`). */
  | 'model_not_found'
  /** The proxy is stopping and takes no new requests. */
  | 'shutting_down'
  /** Unexpected: a bug. */
  | 'internal_error';

type Spec = { status: number; type: string };

const SPECS: Record<ProxyErrorCode, Spec> = {
  invalid_api_key: { status: 401, type: 'invalid_request_error' },
  host_not_allowed: { status: 403, type: 'invalid_request_error' },
  origin_not_allowed: { status: 403, type: 'invalid_request_error' },
  route_not_supported: { status: 404, type: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'not_found_error' },
  shutting_down: { status: 503, type: 'server_error' },
  internal_error: { status: 500, type: 'server_error' },
};

/** The HTTP status the proxy answers `code` with. */
export function statusOf(code: ProxyErrorCode): number {
  return SPECS[code].status;
}

/**
 * Answers `res` with an OpenAI-shaped error. `x-should-retry: false` (except while stopping) keeps
 * the OpenAI SDK from retrying what cannot succeed. `close` asks the client to drop the
 * connection (used when the request body was left unread).
 */
export function sendError(res: ServerResponse, code: ProxyErrorCode, message: string, options: { param?: string; headers?: Record<string, string>; close?: boolean } = {}): void {
  if (res.headersSent) return void res.destroy();
  const spec = SPECS[code];
  const body = JSON.stringify({ error: { message, type: spec.type, code, param: options.param ?? null } });
  res.writeHead(spec.status, {
    ...options.headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-should-retry': String(code === 'shutting_down'),
    'x-zkcredits-proxy-error': code,
    ...(options.close ? { connection: 'close' } : {}),
  });
  res.end(body);
}
