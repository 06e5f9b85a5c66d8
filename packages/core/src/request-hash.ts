import { sha256 } from '@noble/hashes/sha2.js';
import canonicalizeModule from 'canonicalize';
import { TAG_REQUEST } from './generated/constants.js';
import { ZkCreditsError } from './errors.js';
import { bytesToBigInt } from './field.js';
import { poseidon2Hash } from './poseidon2.js';

/** Top-level body member that carries the proof; excluded from the request hash. */
export const PROOF_BODY_FIELD = 'zkcredits';

/** The chat completion route: the path a spend's request hash is computed over (PROTOCOL.md, "Request binding"). */
export const CHAT_PATH = '/v1/chat/completions';

/** Where a proof may be spent: the chain and the credit contract. */
export type Deployment = { chainId: number | bigint; contract: `0x${string}` };

/**
 * Request headers bound into the request hash when present: Venice's end-to-end encryption
 * headers (the client's and the enclave's keys, the signing algorithm). Servers forward
 * exactly these, so a captured proof cannot be replayed with another client key.
 */
export const BOUND_REQUEST_HEADERS = [
  'x-venice-tee-client-pub-key',
  'x-venice-tee-model-pub-key',
  'x-venice-tee-signing-algo',
] as const;

/** Deepest JSON nesting a request body may have (deeper bodies are refused, not hashed). */
export const MAX_BODY_DEPTH = 64;

export type RequestHashParameters = Deployment & {
  method: string;
  /** Route without host or query, e.g. `/v1/chat/completions`. */
  path: string;
  /** Request headers; only `BOUND_REQUEST_HEADERS` (case-insensitive) count, the rest are ignored. */
  headers?: Record<string, string | undefined>;
  /** The parsed JSON body. A top-level `zkcredits` member is ignored. */
  body: unknown;
};

// RFC 8785 (JCS). The package is CommonJS (`module.exports = fn`); its typings declare
// an ES default export, so give the import its real type.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const encoder = new TextEncoder();

function depthExceeds(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  for (const child of Object.values(value)) if (depthExceeds(child, limit - 1)) return true;
  return false;
}

/** The bound header lines, `name:value\n` in `BOUND_REQUEST_HEADERS` order, for those present. */
function headerLines(headers: Record<string, string | undefined> = {}): string {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  let out = '';
  for (const name of BOUND_REQUEST_HEADERS) {
    const value = lower.get(name);
    if (value === undefined) continue;
    if (/[\r\n]/.test(value)) throw new ZkCreditsError('invalid_request', `header ${name} contains a line break`);
    out += `${name}:${value}\n`;
  }
  return out;
}

/**
 * SHA-256 over `METHOD SP PATH LF ‖ bound header lines ‖ JCS(body without zkcredits)`
 * (PROTOCOL.md, "Request binding").
 */
export function requestDigest({ method, path, headers, body }: Omit<RequestHashParameters, keyof Deployment>): Uint8Array {
  if (!/^[A-Z]+$/.test(method) || !path.startsWith('/') || /[?#\s]/.test(path)) {
    throw new ZkCreditsError('invalid_request', 'method or path is not in canonical form', {
      details: `expected e.g. "POST" and "/v1/chat/completions", got ${JSON.stringify(method)} ${JSON.stringify(path)}`,
    });
  }
  let stripped = body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && PROOF_BODY_FIELD in body) {
    const { [PROOF_BODY_FIELD]: _proof, ...rest } = body as Record<string, unknown>;
    stripped = rest;
  }
  if (depthExceeds(stripped, MAX_BODY_DEPTH)) {
    throw new ZkCreditsError('invalid_request', 'request body is nested too deeply', {
      details: `at most ${MAX_BODY_DEPTH} levels of arrays and objects`,
    });
  }
  let canonical: string | undefined;
  try {
    canonical = canonicalize(stripped);
  } catch (cause) {
    // JCS has no form for NaN or ±Infinity (e.g. a body number like 1e400 parses to Infinity).
    throw new ZkCreditsError('invalid_request', 'request body holds a value JSON cannot represent', {
      details: 'numbers must be finite (1e400 overflows to Infinity)',
      cause,
    });
  }
  if (canonical === undefined) {
    throw new ZkCreditsError('invalid_request', 'request body is not JSON-serialisable');
  }
  const head = encoder.encode(`${method} ${path}\n${headerLines(headers)}`);
  const json = encoder.encode(canonical);
  const message = new Uint8Array(head.length + json.length);
  message.set(head);
  message.set(json, head.length);
  return sha256(message);
}

/**
 * The `request_hash` public input binding a proof to one request at one deployment:
 * `H(TAG_REQUEST, chainId, contract, digest_hi, digest_lo)`.
 */
export function requestHash(params: RequestHashParameters): bigint {
  if (!ADDRESS.test(params.contract)) {
    throw new ZkCreditsError('invalid_request', 'contract is not a 20-byte hex address', {
      details: `got ${JSON.stringify(params.contract)}`,
    });
  }
  const chainId = BigInt(params.chainId);
  if (chainId <= 0n || chainId >= 1n << 64n) {
    throw new ZkCreditsError('invalid_request', 'chain id out of range');
  }
  const digest = requestDigest(params);
  return poseidon2Hash([
    TAG_REQUEST,
    chainId,
    BigInt(params.contract),
    bytesToBigInt(digest.subarray(0, 16)),
    bytesToBigInt(digest.subarray(16, 32)),
  ]);
}
