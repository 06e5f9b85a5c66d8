/**
 * The binding checks (level `binding`): each reads the parsed response and returns a named
 * result, never throwing for a failed check. Order and meaning: src/types.ts `CheckName`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { ethereumAddress, parsePublicKey } from './e2ee/codec.js';
import { parseTdxQuote, type TdxQuote } from './quote.js';
import type { ParsedAttestation } from './response.js';
import type { CheckName, CheckResult } from './types.js';

export const pass = (name: CheckName, detail: string): CheckResult => ({ name, status: 'pass', detail });
export const fail = (name: CheckName, detail: string): CheckResult => ({ name, status: 'fail', detail });
export const skipped = (name: CheckName, detail: string): CheckResult => ({ name, status: 'skipped', detail });

const NONCE_RE = /^[0-9a-f]{64}$/;
const strip0x = (s: string) => (s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s).toLowerCase();
/** For details: a value cut to a readable length (responses are untrusted). */
const shown = (s: string, n = 80) => JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s);

export function checkNonceEcho(sent: string, a: ParsedAttestation): CheckResult {
  const want = strip0x(sent);
  if (!NONCE_RE.test(want)) return fail('nonce_echo', 'the nonce sent is not 32 bytes (64 hex): use a fresh random 32-byte nonce');
  if (strip0x(a.nonce) !== want) {
    return fail('nonce_echo', `response nonce ${shown(a.nonce)} is not the nonce sent (${want}): a replayed or mixed-up attestation`);
  }
  return pass('nonce_echo', 'the response echoes the fresh nonce');
}

export function checkModelEcho(model: string, a: ParsedAttestation): CheckResult {
  return a.model === model ? pass('model_echo', `for ${model}`) : fail('model_echo', `response is for ${shown(a.model)}, not ${model}`);
}

/** Keys whose `false` is a negative verdict, anywhere in `server_verification`. */
const NEGATIVE_WHEN_FALSE = new Set(['valid', 'bound', 'signatureValid', 'certificateChainValid', 'attestationKeyMatch']);

function negativeVerdicts(v: unknown, path: string, out: string[], depth: number): void {
  if (depth > 4 || v === null || typeof v !== 'object' || Array.isArray(v)) return;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const p = path ? `${path}.${k}` : k;
    if (NEGATIVE_WHEN_FALSE.has(k) && x === false) out.push(`${p}=false`);
    else if (k === 'error' && x !== null && x !== undefined && x !== '' && x !== false) out.push(`${p}=${shown(String(typeof x === 'string' ? x : JSON.stringify(x)), 60)}`);
    else negativeVerdicts(x, p, out, depth + 1);
  }
}

export function checkServerVerdict(a: ParsedAttestation): CheckResult {
  const negatives: string[] = [];
  negativeVerdicts(a.serverVerification, 'server_verification', negatives, 0);
  if (a.verified !== true) negatives.unshift(`verified=${String(a.verified)}`);
  if (negatives.length) return fail('server_verdict', `the server reports a failed verification: ${negatives.slice(0, 6).join(', ')}`);
  return pass('server_verdict', 'verified=true and no negative server_verification field (necessary, not sufficient)');
}

/** The key check; on success also returns the key (130 hex) and its address (0x + 40 hex). */
export function checkSigningKey(a: ParsedAttestation): { result: CheckResult; keyHex?: string; address?: string } {
  if (!a.signingKey) return { result: fail('signing_key', 'no signing_public_key / signing_key in the response: nothing to encrypt to') };
  let keyHex: string;
  try {
    keyHex = bytesToHex(parsePublicKey(a.signingKey));
  } catch {
    return { result: fail('signing_key', 'the signing key is not an uncompressed secp256k1 point (128 or 130 hex)') };
  }
  const address = ethereumAddress(keyHex);
  if (!a.signingAddress) return { result: fail('signing_key', 'no signing_address in the response'), keyHex, address };
  if (a.signingAddress.toLowerCase() !== address) {
    return {
      result: fail('signing_key', `signing_address ${shown(a.signingAddress)} is not the address of the signing key (${address})`),
      keyHex,
      address,
    };
  }
  return { result: pass('signing_key', `valid secp256k1 key of ${address}`), keyHex, address };
}

/** Parses the quote; on success also returns it. */
export function checkQuoteFormat(a: ParsedAttestation): { result: CheckResult; quote?: TdxQuote } {
  if (!a.quote) {
    return { result: fail('quote_format', a.quoteError ? `the quote does not decode: ${a.quoteError}` : 'no quote in the response (intel_quote / attestation.evidence.quote)') };
  }
  try {
    const quote = parseTdxQuote(a.quote);
    return { result: pass('quote_format', `TDX v${quote.version} quote, ${a.quote.length} bytes (${a.quoteEncoding})`), quote };
  } catch (e) {
    const details = (e as { details?: string }).details ?? (e as Error).message;
    return { result: fail('quote_format', details) };
  }
}

export function checkDebugOff(quote: TdxQuote | undefined): CheckResult {
  if (!quote) return fail('debug_off', 'no TDX quote to read the TD attributes from');
  if (quote.debug) return fail('debug_off', `TDX debug mode detected (tdAttributes ${quote.tdAttributes}): the host can inspect the enclave`);
  return pass('debug_off', `DEBUG clear (tdAttributes ${quote.tdAttributes})`);
}

/** REPORTDATA = address (20) ‖ zeros (12) ‖ nonce (32), the nonce raw or as SHA-256 of its bytes. */
export function checkReportData(
  quote: TdxQuote | undefined,
  address: string | undefined,
  nonce: string,
): { result: CheckResult; method?: 'raw' | 'sha256' } {
  if (!quote) return { result: fail('report_data', 'no TDX quote to read REPORTDATA from') };
  if (!address) return { result: fail('report_data', 'no valid signing key whose address REPORTDATA could bind') };
  const want = strip0x(nonce);
  if (!NONCE_RE.test(want)) return { result: fail('report_data', 'the nonce sent is not 32 bytes') };
  const rd = quote.reportData;
  const problems: string[] = [];
  if (bytesToHex(rd.subarray(0, 20)) !== address.slice(2)) problems.push(`REPORTDATA[0..20] is 0x${bytesToHex(rd.subarray(0, 20))}, not the signing key's address ${address}`);
  if (rd.subarray(20, 32).some((b) => b !== 0)) problems.push('REPORTDATA[20..32] is not zero');
  const tail = bytesToHex(rd.subarray(32, 64));
  const method = tail === want ? 'raw' : tail === bytesToHex(sha256(hexToBytes(want))) ? 'sha256' : undefined;
  if (!method) problems.push('REPORTDATA[32..64] is neither the nonce nor its SHA-256');
  if (problems.length) return { result: fail('report_data', problems.join('; ')) };
  return { result: pass('report_data', `binds the signing address and the nonce (${method})`), method };
}
