/**
 * Reads a TEE attestation response (untrusted JSON) into one normal form. Accepts every shape
 * seen live: the flat Venice fields (`intel_quote`, `signing_key` / `signing_public_key`, …)
 * and the `aci/1` envelope (`attestation.evidence.quote`, root `verified`, `nonce`, …).
 *
 * Only the shape is judged here (types, sizes): a missing key or quote is not malformed, it is a
 * failed check in the report. Malformed input throws `attestation_malformed`.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { AttestError } from './errors.js';
import { MAX_QUOTE_BYTES, TDX_TEE_TYPE } from './quote.js';

/** Longest quote string accepted: 64 KB as hex, plus an optional `0x`. */
const MAX_QUOTE_CHARS = MAX_QUOTE_BYTES * 2 + 2;
const MAX_SHORT = 256;
const MAX_TEXT = 4096;
/** `nvidia_payload` and evidence blobs are not verified, only size-limited. */
const MAX_BLOB = 2 * 1024 * 1024;

const short = z.string().max(MAX_SHORT);
const optShort = short.nullish();
const blob = z.string().max(MAX_BLOB).nullish();

const evidenceSchema = z
  .object({
    quote: z.string().max(MAX_QUOTE_CHARS).nullish(),
    quote_report_data: z.string().max(MAX_TEXT).nullish(),
    app_compose: blob,
  })
  .loose();

const rootSchema = z
  .object({
    api_version: optShort,
    verified: z.boolean().nullish(),
    nonce: short,
    model: short,
    tee_provider: optShort,
    debug: z.boolean().nullish(),
    intel_quote: z.string().max(MAX_QUOTE_CHARS).nullish(),
    signing_key: optShort,
    signing_public_key: optShort,
    signing_address: optShort,
    nvidia_payload: z.union([z.string().max(MAX_BLOB), z.record(z.string(), z.unknown())]).nullish(),
    server_verification: z.record(z.string(), z.unknown()).nullish(),
    attestation: z
      .object({ tee_type: optShort, evidence: evidenceSchema.nullish() })
      .loose()
      .nullish(),
  })
  .loose();

/** A response in normal form. Strings are as received (trimmed of nothing); bytes are decoded. */
export type ParsedAttestation = {
  shape: 'flat' | 'aci/1';
  nonce: string;
  model: string;
  verified: boolean | undefined;
  serverVerification: Record<string, unknown> | undefined;
  teeProvider: string | undefined;
  /** `signing_public_key` first, else `signing_key`; as received. */
  signingKey: string | undefined;
  signingAddress: string | undefined;
  /** The decoded quote, when one was present and decoded. */
  quote: Uint8Array | undefined;
  quoteEncoding: 'hex' | 'base64' | 'none';
  /** Why a present quote could not be decoded. */
  quoteError: string | undefined;
  /** The server's own debug flag (aci/1), for the record only: the quote decides. */
  debugFlag: boolean | undefined;
  hasNvidiaPayload: boolean;
  appCompose: string | undefined;
};

const HEX_RE = /^[0-9a-fA-F]*$/;
const B64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** True when `bytes` start like a DCAP quote: version 3..5 and TEE type SGX (0) or TDX (0x81). */
function plausibleQuote(bytes: Uint8Array): boolean {
  if (bytes.length < 48) return false;
  const version = bytes[0]! | (bytes[1]! << 8);
  const tee = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24);
  return version >= 3 && version <= 5 && (tee === 0 || tee === TDX_TEE_TYPE);
}

function base64ToBytes(s: string): Uint8Array {
  let std = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (std.length % 4 === 1) throw new Error('impossible base64 length');
  std += '='.repeat((4 - (std.length % 4)) % 4);
  const bin = atob(std);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Decodes a quote given as hex (`0x` optional) or base64 / base64url. Sources disagree on the
 * encoding (Venice documents base64, several clients read hex), so: hex when the string is all
 * hex digits of even length and decodes to something that starts like a quote; else base64.
 */
export function decodeQuote(s: string): { bytes: Uint8Array; encoding: 'hex' | 'base64' } {
  const t = s.trim();
  const h = t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t;
  let hexBytes: Uint8Array | undefined;
  if (h.length > 0 && h.length % 2 === 0 && HEX_RE.test(h)) {
    hexBytes = hexToBytes(h.toLowerCase());
    if (plausibleQuote(hexBytes)) return { bytes: hexBytes, encoding: 'hex' };
  }
  if (t.length > 0 && B64_RE.test(t)) {
    try {
      const b = base64ToBytes(t);
      if (plausibleQuote(b) || !hexBytes) return { bytes: b, encoding: 'base64' };
    } catch {
      // fall through
    }
  }
  if (hexBytes) return { bytes: hexBytes, encoding: 'hex' };
  throw new Error('the quote is neither hex nor base64');
}

/** Parses an attestation response. Throws `attestation_malformed` for anything not shaped like one. */
export function parseAttestationResponse(raw: unknown): ParsedAttestation {
  const r = rootSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new AttestError('attestation_malformed', 'The attestation response has an unexpected shape.', { details: issues });
  }
  const d = r.data;
  if (d.api_version != null && d.api_version !== 'aci/1') {
    throw new AttestError('attestation_malformed', 'The attestation response has an unknown api_version.', {
      details: `api_version ${JSON.stringify(d.api_version)}; this verifier reads flat responses and aci/1`,
    });
  }
  if (d.attestation?.tee_type != null && d.attestation.tee_type.toLowerCase() !== 'tdx') {
    throw new AttestError('attestation_malformed', 'The attestation is not for an Intel TDX enclave.', {
      details: `attestation.tee_type ${JSON.stringify(d.attestation.tee_type)}`,
    });
  }
  const evidence = d.attestation?.evidence ?? undefined;
  const quoteText = evidence?.quote || d.intel_quote || undefined;
  let quote: Uint8Array | undefined;
  let quoteEncoding: ParsedAttestation['quoteEncoding'] = 'none';
  let quoteError: string | undefined;
  if (quoteText) {
    try {
      const q = decodeQuote(quoteText);
      if (q.bytes.length > MAX_QUOTE_BYTES) {
        quoteError = `the quote is ${q.bytes.length} bytes, more than ${MAX_QUOTE_BYTES}`;
      } else {
        quote = q.bytes;
        quoteEncoding = q.encoding;
      }
    } catch (e) {
      quoteError = (e as Error).message;
    }
  }
  return {
    shape: d.api_version === 'aci/1' || d.attestation ? 'aci/1' : 'flat',
    nonce: d.nonce,
    model: d.model,
    verified: d.verified ?? undefined,
    serverVerification: d.server_verification ?? undefined,
    teeProvider: d.tee_provider ?? undefined,
    signingKey: d.signing_public_key || d.signing_key || undefined,
    signingAddress: d.signing_address ?? undefined,
    quote,
    quoteEncoding,
    quoteError,
    debugFlag: d.debug ?? undefined,
    hasNvidiaPayload: d.nvidia_payload != null,
    appCompose: evidence?.app_compose ?? undefined,
  };
}
