// Asking the server for the signed state of the metered call just made
// (`GET /v2/zkcredits/state/{nullifier}`): after an answer was lost (a network error, a crash), before
// the lane is used again. Only ever for a call of this client's own pending lanes, never to rebuild
// older states (PROTOCOL.md: each such question links the asker to that one call only).
import { toFieldHex } from '../field.js';
import { MeteredError } from './metered-errors.js';

/** A `fetch` as clients route it (their network layer: a SOCKS proxy, Tor). */
export type StateFetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * What the server said about one call: `signed` with the state's wire form (unchecked: decode and
 * verify it), `pending` (reserved, not signed yet: ask again after `retryAfter` seconds), or
 * `unknown` (the server never reserved this nullifier: the request did not reach it, or was refused
 * before its proof was taken).
 */
export type FetchedState = { status: 'signed'; state: unknown } | { status: 'pending'; retryAfter?: number } | { status: 'unknown' };

export type FetchMeteredStateParameters = {
  /** The zkcredits server's origin, e.g. `https://api.example`. */
  server: string;
  fetch: StateFetch;
  nullifier: bigint;
  signal?: AbortSignal;
};

/**
 * `GET /v2/zkcredits/state/{nullifier}`: 200 → `signed`, 409 `state_pending` → `pending`, 404 →
 * `unknown`. Anything else (no answer, another status, a body that is not JSON) throws
 * `MeteredError` (`state_unavailable`).
 */
export async function fetchMeteredState({ server, fetch, nullifier, signal }: FetchMeteredStateParameters): Promise<FetchedState> {
  const path = `/v2/zkcredits/state/${toFieldHex(nullifier)}`;
  let res: Response;
  try {
    res = await fetch(`${server.replace(/\/+$/, '')}${path}`, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new MeteredError('state_unavailable', 'The server could not be asked for the state of the last call on this lane.', { details: `GET ${path.slice(0, 40)}…: ${briefly(cause)}`, cause });
  }
  const body = (await res.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
  if (res.status === 200 && body !== undefined) return { status: 'signed', state: body };
  if (res.status === 409) {
    const retry = Number(res.headers.get('retry-after'));
    return { status: 'pending', ...(retry > 0 ? { retryAfter: retry } : {}) };
  }
  if (res.status === 404 && body?.error?.code === 'unknown_nullifier') return { status: 'unknown' };
  throw new MeteredError('state_unavailable', 'The server did not answer the state question as documented.', {
    details: `GET ${path.slice(0, 40)}… answered ${res.status}${typeof body?.error?.code === 'string' ? ` ${body.error.code.slice(0, 64)}` : ''}`,
  });
}

function briefly(error: unknown): string | undefined {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined;
}
