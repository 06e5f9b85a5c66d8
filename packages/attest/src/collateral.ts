/**
 * DCAP collateral: the Intel-signed data a TDX quote is checked against (PCK CRL and its issuer
 * chain, the root CA CRL, TCB info and QE identity with their signatures and issuer chains).
 *
 * Intel signs every piece (the verifier checks the signatures against the pinned root), so
 * whoever serves it (Intel's PCS, a PCCS, the zkcredits server's mirror) can withhold it or serve
 * an old copy, but cannot forge it. Freshness is the verifier's job, with the real clock:
 * collateral past its `nextUpdate` is refused (`collateral_expired`), never "allowed stale".
 *
 * - `parseCollateral` / `collateralSchema`: shape and size checks of the object `@phala/dcap-qvl`
 *   consumes (CRLs and signatures as lowercase hex).
 * - `collateralNextUpdate`: when it stops being valid.
 * - `fetchPcsCollateral`: assembles it from Intel's PCS v4 API (or a PCCS, or the simulator).
 * - `serverCollateralSource`: a `CollateralSource` over the zkcredits server's
 *   `GET /v1/tee/collateral`, cached until `nextUpdate` (memory, plus an optional persistent cache).
 *
 * Browser and Node: no Node built-ins.
 */
import { AsnParser } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { AttestError } from './errors.js';
import type { Collateral, CollateralSource } from './types.js';

/** Longest PEM issuer chain accepted (Intel's are about 1.9 KB). */
export const MAX_PEM_CHAIN_CHARS = 16 * 1024;
/** Longest TCB info / QE identity JSON accepted (Intel's TDX TCB info is about 3–6 KB). */
export const MAX_IDENTITY_JSON_CHARS = 64 * 1024;
/** Longest CRL accepted, in hex characters (512 KiB of DER; Intel's PCK CRLs are a few KB). */
export const MAX_CRL_HEX_CHARS = 1024 * 1024;
/** Default cap of one PCS response body, in bytes. */
export const DEFAULT_PCS_MAX_BYTES = 512 * 1024;
/** Cap of the zkcredits server's `/v1/tee/collateral` answer, in bytes. */
export const MAX_COLLATERAL_RESPONSE_BYTES = 4 * 1024 * 1024;

/** A platform family: 6 bytes as 12 hex digits (Intel writes it upper case). */
export const FMSPC_RE = /^[0-9a-fA-F]{12}$/;
export type PckCa = 'platform' | 'processor';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

const pemChain = (name: string) =>
  z
    .string({ error: `${name} must be a PEM certificate chain (a string)` })
    .max(MAX_PEM_CHAIN_CHARS, { error: `${name} is longer than ${MAX_PEM_CHAIN_CHARS} characters` })
    .regex(PEM_CERT, { error: `${name} holds no PEM certificate` });

const hexField = (name: string, max: number, exact?: number) =>
  z
    .string({ error: `${name} must be a hex string` })
    .max(max, { error: `${name} is longer than ${max} hex characters` })
    .regex(/^[0-9a-fA-F]+$/, { error: `${name} must be non-empty hex` })
    .refine((v) => v.length % 2 === 0, { error: `${name} must have an even number of hex digits` })
    .refine((v) => exact === undefined || v.length === exact, { error: `${name} must be ${exact} hex characters` })
    .transform((v) => v.toLowerCase());

const signedJson = (name: string) =>
  z
    .string({ error: `${name} must be a JSON string` })
    .max(MAX_IDENTITY_JSON_CHARS, { error: `${name} is longer than ${MAX_IDENTITY_JSON_CHARS} characters` })
    .refine((v) => nextUpdateOf(v) !== undefined, { error: `${name} must be a JSON object with an ISO 8601 nextUpdate` });

/** The collateral's shape and size limits (CRLs and signatures normalised to lowercase hex). */
export const collateralSchema = z.object({
  pck_crl_issuer_chain: pemChain('pck_crl_issuer_chain'),
  root_ca_crl: hexField('root_ca_crl', MAX_CRL_HEX_CHARS),
  pck_crl: hexField('pck_crl', MAX_CRL_HEX_CHARS),
  tcb_info_issuer_chain: pemChain('tcb_info_issuer_chain'),
  tcb_info: signedJson('tcb_info'),
  // Intel signs with ECDSA P-256: r ‖ s, 64 bytes.
  tcb_info_signature: hexField('tcb_info_signature', 128, 128),
  qe_identity_issuer_chain: pemChain('qe_identity_issuer_chain'),
  qe_identity: signedJson('qe_identity'),
  qe_identity_signature: hexField('qe_identity_signature', 128, 128),
});

/**
 * Checks an untrusted value (a server's JSON, a cache entry) is collateral within the size
 * limits; returns it with hex normalised, extra members dropped.
 * @throws {AttestError} `collateral_unavailable` saying which field is wrong.
 */
export function parseCollateral(value: unknown): Collateral {
  const parsed = collateralSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.');
    throw new AttestError('collateral_unavailable', 'The DCAP collateral is malformed.', {
      details: where ? `${where}: ${issue.message}` : issue.message,
      param: where || undefined,
    });
  }
  return parsed.data;
}

function nextUpdateOf(json: string): number | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const next = (v as { nextUpdate?: unknown }).nextUpdate;
  if (typeof next !== 'string' || next.length > 64) return undefined;
  const t = Date.parse(next);
  return Number.isFinite(t) ? t : undefined;
}

/** `nextUpdate` of a DER CRL (hex), or undefined when it has none. */
function crlNextUpdate(name: string, hex: string): number | undefined {
  try {
    const crl = AsnParser.parse(hexToBytes(hex), CertificateList);
    return crl.tbsCertList.nextUpdate?.getTime().getTime();
  } catch (cause) {
    throw new AttestError('collateral_unavailable', 'The DCAP collateral is malformed.', { details: `${name} is not a DER CRL`, param: name, cause });
  }
}

/**
 * When the collateral stops being valid: the earliest `nextUpdate` of the TCB info, the QE
 * identity and the two CRLs.
 * @throws {AttestError} `collateral_unavailable` when a date is missing or does not parse.
 */
export function collateralNextUpdate(c: Collateral): Date {
  const tcb = nextUpdateOf(c.tcb_info);
  const qe = nextUpdateOf(c.qe_identity);
  if (tcb === undefined || qe === undefined) {
    throw new AttestError('collateral_unavailable', 'The DCAP collateral is malformed.', {
      details: `${tcb === undefined ? 'tcb_info' : 'qe_identity'} has no valid nextUpdate`,
    });
  }
  const times = [tcb, qe, crlNextUpdate('pck_crl', c.pck_crl), crlNextUpdate('root_ca_crl', c.root_ca_crl)];
  return new Date(Math.min(...times.filter((t): t is number => t !== undefined)));
}

/** The `fmspc` member of the collateral's TCB info, upper case (undefined if absent). */
export function collateralFmspc(c: Collateral): string | undefined {
  try {
    const f = (JSON.parse(c.tcb_info) as { fmspc?: unknown }).fmspc;
    return typeof f === 'string' ? f.toUpperCase() : undefined;
  } catch {
    return undefined;
  }
}

function checkQuery(fmspc: string, ca: string): { fmspc: string; ca: PckCa } {
  if (!FMSPC_RE.test(fmspc)) {
    throw new AttestError('collateral_unavailable', 'Invalid FMSPC.', { details: 'expected 12 hex digits (6 bytes)', param: 'fmspc' });
  }
  if (ca !== 'platform' && ca !== 'processor') {
    throw new AttestError('collateral_unavailable', 'Invalid PCK CA.', { details: 'expected platform or processor', param: 'ca' });
  }
  return { fmspc: fmspc.toUpperCase(), ca };
}

type Fetch = typeof globalThis.fetch;

/** Reads a response body, refusing more than `maxBytes` (declared or actual). */
async function readCapped(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  const tooBig = () =>
    new AttestError('collateral_unavailable', 'A collateral response is too large.', { details: `${what} is over ${maxBytes} bytes` });
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooBig();
  }
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooBig();
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const utf8 = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: false }).decode(b);

/** A CRL body as lowercase hex: DER as served by Intel, or hex (PCCS) or PEM, normalised. */
function crlHex(body: Uint8Array, what: string): string {
  const text = utf8(body).trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) return text.toLowerCase();
  const pem = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/.exec(text);
  if (pem) {
    try {
      const bin = atob(pem[1]!.replace(/\s+/g, ''));
      return bytesToHex(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
    } catch {
      // fall through: reported below
    }
  }
  if (body.length > 0 && body[0] === 0x30) return bytesToHex(body);
  throw new AttestError('collateral_unavailable', 'A CRL from the PCS is not DER, hex or PEM.', { details: what });
}

/** The issuer chain header (URL-encoded PEM, as Intel sends it), decoded. */
function issuerChain(res: Response, names: readonly string[], what: string): string {
  for (const name of names) {
    const raw = res.headers.get(name);
    if (!raw) continue;
    if (raw.length > 3 * MAX_PEM_CHAIN_CHARS) break;
    try {
      return decodeURIComponent(raw);
    } catch {
      break;
    }
  }
  throw new AttestError('collateral_unavailable', 'The PCS answer lacks its issuer chain.', { details: `${what}: no valid ${names.join(' / ')} header` });
}

/**
 * The raw JSON text of `member` in a PCS answer `{"<member>":{…},"signature":"…"}`: Intel signs
 * those exact bytes, so they are kept as served when the answer has that layout (re-serialising is
 * the fallback, as `@phala/dcap-qvl` does).
 */
function signedMember(text: string, member: 'tcbInfo' | 'enclaveIdentity', what: string): { json: string; signature: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new AttestError('collateral_unavailable', 'A PCS answer is not JSON.', { details: what, cause });
  }
  const obj = parsed as Record<string, unknown> | null;
  const inner = obj?.[member];
  const signature = obj?.signature;
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner) || typeof signature !== 'string') {
    throw new AttestError('collateral_unavailable', 'A PCS answer has an unexpected shape.', { details: `${what}: expected {"${member}": {…}, "signature": "<hex>"}` });
  }
  const exact = new RegExp(`^\\s*\\{\\s*"${member}"\\s*:\\s*([\\s\\S]*\\})\\s*,\\s*"signature"\\s*:\\s*"[0-9a-fA-F]*"\\s*\\}\\s*$`).exec(text);
  let json = JSON.stringify(inner);
  if (exact) {
    try {
      JSON.parse(exact[1]!);
      json = exact[1]!;
    } catch {
      // keep the re-serialised form
    }
  }
  return { json, signature };
}

export type PcsCollateralOptions = {
  /** PCS (or PCCS) base, e.g. `https://api.trustedservices.intel.com` (a trailing `/sgx|tdx/certification/v4` is accepted). */
  pcsUrl: string;
  /** Intel SGX root CA CRL (DER, or hex from a PCCS), e.g. `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`. */
  rootCaCrlUrl: string;
  /** 12 hex digits. */
  fmspc: string;
  ca: PckCa;
  fetch?: Fetch;
  signal?: AbortSignal;
  /** Cap of each response body (default `DEFAULT_PCS_MAX_BYTES`). */
  maxBytes?: number;
};

/**
 * Fetches the four resources of Intel's PCS v4 API for a TDX platform and assembles the collateral:
 * `GET /sgx/certification/v4/pckcrl?ca=&encoding=der` (header `SGX-PCK-CRL-Issuer-Chain`),
 * `GET /tdx/certification/v4/tcb?fmspc=` (`TCB-Info-Issuer-Chain`),
 * `GET /tdx/certification/v4/qe/identity` (`SGX-Enclave-Identity-Issuer-Chain`) and the root CA CRL.
 * Checks the result with `parseCollateral` and that the TCB info is for `fmspc`.
 * @throws {AttestError} `collateral_unavailable` (network, status, size, shape). A PCS 404 for the
 *   TCB info (an FMSPC it does not know) has `param: 'fmspc'`.
 */
export async function fetchPcsCollateral(options: PcsCollateralOptions): Promise<Collateral> {
  const { fmspc, ca } = checkQuery(options.fmspc, options.ca);
  const fetchFn = options.fetch ?? globalThis.fetch;
  const maxBytes = options.maxBytes ?? DEFAULT_PCS_MAX_BYTES;
  const base = options.pcsUrl.replace(/\/+$/, '').replace(/\/(sgx|tdx)\/certification\/v4$/, '');

  const get = async (what: string, url: string, param?: string): Promise<{ res: Response; body: Uint8Array }> => {
    let res: Response;
    try {
      res = await fetchFn(url, { headers: { accept: '*/*' }, signal: options.signal, redirect: 'follow' });
    } catch (cause) {
      const timedOut = options.signal?.aborted === true;
      throw new AttestError('collateral_unavailable', timedOut ? 'The PCS did not answer in time.' : 'The PCS could not be reached.', {
        details: `${what}: ${new URL(url).origin}`,
        cause,
      });
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new AttestError('collateral_unavailable', 'The PCS refused a collateral request.', {
        details: `${what}: status ${res.status}`,
        param: res.status === 404 ? param : undefined,
      });
    }
    try {
      return { res, body: await readCapped(res, maxBytes, what) };
    } catch (cause) {
      if (cause instanceof AttestError) throw cause;
      throw new AttestError('collateral_unavailable', 'The PCS connection broke or timed out.', { details: what, cause });
    }
  };

  const [pck, tcb, qe, root] = await Promise.all([
    get('PCK CRL', `${base}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`),
    get('TCB info', `${base}/tdx/certification/v4/tcb?fmspc=${fmspc}`, 'fmspc'),
    get('QE identity', `${base}/tdx/certification/v4/qe/identity`),
    get('root CA CRL', options.rootCaCrlUrl),
  ]);
  const tcbInfo = signedMember(utf8(tcb.body), 'tcbInfo', 'TCB info');
  const qeIdentity = signedMember(utf8(qe.body), 'enclaveIdentity', 'QE identity');
  const collateral = parseCollateral({
    pck_crl_issuer_chain: issuerChain(pck.res, ['SGX-PCK-CRL-Issuer-Chain'], 'PCK CRL'),
    root_ca_crl: crlHex(root.body, 'root CA CRL'),
    pck_crl: crlHex(pck.body, 'PCK CRL'),
    tcb_info_issuer_chain: issuerChain(tcb.res, ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'], 'TCB info'),
    tcb_info: tcbInfo.json,
    tcb_info_signature: tcbInfo.signature,
    qe_identity_issuer_chain: issuerChain(qe.res, ['SGX-Enclave-Identity-Issuer-Chain'], 'QE identity'),
    qe_identity: qeIdentity.json,
    qe_identity_signature: qeIdentity.signature,
  });
  const got = collateralFmspc(collateral);
  if (got !== fmspc) {
    throw new AttestError('collateral_unavailable', 'The PCS answered with TCB info for another platform.', { details: `asked ${fmspc}, got ${got ?? 'none'}` });
  }
  return collateral;
}

/**
 * Where a client keeps collateral between runs (the web app's IndexedDB, the CLI's file).
 * Values read back are untrusted: they are checked again and ignored when malformed or expired.
 */
export interface CollateralCache {
  get(key: string): Promise<unknown>;
  set(key: string, value: Collateral): Promise<void>;
}

export type ServerCollateralSourceOptions = {
  /** The zkcredits server, e.g. `https://api.example` (the route is `/v1/tee/collateral`). */
  baseUrl: string;
  fetch?: Fetch;
  /** Default the real clock. */
  now?: () => Date;
  /** Optional persistent cache, consulted after memory and before the server. */
  cache?: CollateralCache;
};

/** The cache key of a platform: `<FMSPC upper case>:<ca>`. */
export const collateralCacheKey = (fmspc: string, ca: PckCa): string => `${fmspc.toUpperCase()}:${ca}`;

/**
 * A `CollateralSource` over the zkcredits server's `GET /v1/tee/collateral?fmspc=&ca=` (a mirror
 * of Intel's PCS: the user tells no third party which enclaves they check). Answers are checked,
 * then cached per (fmspc, ca) until their `nextUpdate`, in memory and in `cache`; concurrent
 * lookups of one platform share one request. Fails closed: collateral that is past its
 * `nextUpdate` even when fetched fresh is `collateral_expired`, never used.
 */
export function serverCollateralSource(options: ServerCollateralSourceOptions): CollateralSource {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const now = options.now ?? (() => new Date());
  const base = options.baseUrl.replace(/\/+$/, '');
  const memory = new Map<string, { collateral: Collateral; nextUpdate: number }>();
  const inFlight = new Map<string, Promise<Collateral>>();

  const fresh = (value: unknown, fmspc: string): { collateral: Collateral; nextUpdate: number } | undefined => {
    try {
      const collateral = parseCollateral(value);
      const nextUpdate = collateralNextUpdate(collateral).getTime();
      if (collateralFmspc(collateral) !== fmspc || nextUpdate <= now().getTime()) return undefined;
      return { collateral, nextUpdate };
    } catch {
      return undefined;
    }
  };

  async function fromServer(fmspc: string, ca: PckCa, key: string): Promise<Collateral> {
    const url = `${base}/v1/tee/collateral?${new URLSearchParams({ fmspc, ca })}`;
    let res: Response;
    try {
      res = await fetchFn(url, { headers: { accept: 'application/json' } });
    } catch (cause) {
      throw new AttestError('collateral_unavailable', 'The zkcredits server could not be reached for DCAP collateral.', { details: base, cause });
    }
    let body: Uint8Array;
    try {
      body = await readCapped(res, MAX_COLLATERAL_RESPONSE_BYTES, 'collateral answer');
    } catch (cause) {
      if (cause instanceof AttestError) throw cause;
      throw new AttestError('collateral_unavailable', 'The connection to the zkcredits server broke.', { details: base, cause });
    }
    let json: unknown;
    try {
      json = JSON.parse(utf8(body));
    } catch {
      json = undefined;
    }
    if (res.status !== 200) {
      const err = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const said = typeof err?.message === 'string' ? `: ${err.message.slice(0, 300)}` : '';
      throw new AttestError('collateral_unavailable', 'The zkcredits server has no DCAP collateral for this platform.', {
        details: `status ${res.status}${typeof err?.code === 'string' ? ` ${err.code.slice(0, 64)}` : ''}${said}`,
      });
    }
    const collateral = parseCollateral(json);
    const got = collateralFmspc(collateral);
    if (got !== fmspc) {
      throw new AttestError('collateral_unavailable', 'The server answered with collateral for another platform.', { details: `asked ${fmspc}, got ${got ?? 'none'}` });
    }
    const nextUpdate = collateralNextUpdate(collateral);
    if (nextUpdate.getTime() <= now().getTime()) {
      throw new AttestError('collateral_expired', 'The newest DCAP collateral available is past its nextUpdate, so the enclave cannot be checked.', {
        details:
          `collateral for FMSPC ${fmspc} (${ca} CA) expired at ${nextUpdate.toISOString()}. Check this device's clock; otherwise the server's ` +
          'mirror or Intel has not published newer collateral yet: retry later (the server refetches from Intel once its copy is past nextUpdate)',
      });
    }
    memory.set(key, { collateral, nextUpdate: nextUpdate.getTime() });
    if (options.cache) await options.cache.set(key, collateral).catch(() => {});
    return collateral;
  }

  return async (q) => {
    const { fmspc, ca } = checkQuery(q.fmspc, q.ca);
    const key = collateralCacheKey(fmspc, ca);
    const hit = memory.get(key);
    if (hit && hit.nextUpdate > now().getTime()) return hit.collateral;
    if (hit) memory.delete(key);
    const running = inFlight.get(key);
    if (running) return running;
    const p = (async () => {
      if (options.cache) {
        const stored = fresh(await options.cache.get(key).catch(() => undefined), fmspc);
        if (stored) {
          memory.set(key, stored);
          return stored.collateral;
        }
      }
      return fromServer(fmspc, ca, key);
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  };
}
