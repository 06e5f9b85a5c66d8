/**
 * Who may use the proxy: the local bearer token (compared in constant time), the `Host` header
 * (DNS rebinding: a web page on a hostile name that resolves to 127.0.0.1 must not reach the
 * proxy), and CORS (none unless origins are listed).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Names the proxy always answers to on its port: the loopback names. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
/** Bind addresses that are not names a request can carry. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** `host` as it appears in a URL or `Host` header (IPv6 in brackets), lower case. */
export function hostForUrl(host: string): string {
  const h = host.toLowerCase();
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/**
 * The `Host` header values the proxy accepts: the loopback names and the bound host (unless a
 * wildcard) on its port, and `allowHosts` (`name` means `name:<port>`; `name:port` is taken as
 * is). On port 80 a name without a port is accepted too (clients leave the default port out).
 */
export function allowedHosts(bindHost: string, port: number, allowHosts: readonly string[] = []): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  const bound = hostForUrl(bindHost);
  if (!WILDCARDS.has(bound)) names.add(bound);
  const allowed = new Set<string>();
  const add = (name: string) => {
    allowed.add(`${name}:${port}`);
    if (port === 80) allowed.add(name);
  };
  for (const name of names) add(name);
  for (const entry of allowHosts) {
    const e = entry.trim().toLowerCase();
    if (!e) continue;
    if (/^\[.*\]:\d+$/.test(e) || /^[^:[\]]+:\d+$/.test(e)) allowed.add(e);
    else add(hostForUrl(e));
  }
  return allowed;
}

/** Whether the request's `Host` header is one the proxy answers to. */
export function hostAllowed(headers: IncomingHttpHeaders, allowed: ReadonlySet<string>): boolean {
  const host = headers.host;
  return typeof host === 'string' && allowed.has(host.trim().toLowerCase());
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** A checker for `Authorization: Bearer <token>`: hashes both sides, so lengths leak nothing either. */
export function bearerCheck(token: string): (headers: IncomingHttpHeaders) => boolean {
  if (token.length < 16) throw new TypeError('the proxy token must be at least 16 characters');
  const expected = digest(token);
  return (headers) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
}

/** Headers a browser script may read from the proxy's answers. */
const EXPOSED = ['retry-after', 'x-should-retry', 'x-request-id', 'x-zkcredits-credits-left', 'x-zkcredits-calls-left', 'x-zkcredits-attestation', 'x-zkcredits-client-error', 'x-zkcredits-proxy-error'];

/** CORS for the listed origins only (exact `scheme://host[:port]` matches); none by default. */
export class CorsPolicy {
  readonly #origins: Set<string>;

  constructor(origins: readonly string[] = []) {
    this.#origins = new Set(origins.map((o) => o.trim().replace(/\/+$/, '').toLowerCase()).filter(Boolean));
  }

  /** The listed origin this request comes from, if any. */
  originOf(headers: IncomingHttpHeaders): string | undefined {
    const origin = headers.origin;
    return typeof origin === 'string' && this.#origins.has(origin.toLowerCase()) ? origin : undefined;
  }

  /** Whether `headers` make a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`). */
  static isPreflight(method: string | undefined, headers: IncomingHttpHeaders): boolean {
    return method === 'OPTIONS' && typeof headers.origin === 'string' && typeof headers['access-control-request-method'] === 'string';
  }

  /** Headers for an answer to a request from a listed origin (none otherwise). */
  headers(headers: IncomingHttpHeaders): Record<string, string> {
    const origin = this.originOf(headers);
    if (!origin) return {};
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED.join(', '), vary: 'origin' };
  }

  /** Headers for a preflight from a listed origin; `undefined` when the origin is not listed. */
  preflight(headers: IncomingHttpHeaders): Record<string, string> | undefined {
    const origin = this.originOf(headers);
    if (!origin) return undefined;
    const requested = headers['access-control-request-headers'];
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': typeof requested === 'string' && /^[\w\-, ]*$/.test(requested) ? requested : 'authorization, content-type',
      'access-control-max-age': '600',
      vary: 'origin, access-control-request-headers',
    };
  }
}
