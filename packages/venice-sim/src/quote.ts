/**
 * Simulated TDX attestation quote.
 *
 * Layout follows the Intel TDX v4 quote closely enough for the client-side
 * binding checks Venice documents (teeType, TD attributes debug bit, REPORTDATA):
 *
 *   [0, 48)     header: version u16le = 4, att. key type u16le = 2 (ECDSA P-256), teeType u32le = 0x81
 *   [48, 632)   TD report body: tdAttributes @ +120 (8 B), mrTd @ +136 (48 B), reportData @ +520 (64 B)
 *   [632, 636)  signature data length u32le = 128
 *   [636, 700)  ECDSA P-256 signature (r||s) over sha256(header || body)
 *   [700, 764)  attestation public key (P-256, x||y)
 *
 * REPORTDATA = signing address (20 B) || zeros (12 B) || client nonce (32 B).
 * The real quote is signed by a key certified by Intel (PCK chain); here the
 * attestation key is the simulator's "hardware authority" key, which a client pins.
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

export const TDX_TEE_TYPE = 0x81;
export const HEADER_LEN = 48;
export const BODY_LEN = 584;
export const TD_ATTRIBUTES_OFFSET = HEADER_LEN + 120;
export const MR_TD_OFFSET = HEADER_LEN + 136;
export const REPORT_DATA_OFFSET = HEADER_LEN + 520;
export const SIGNED_LEN = HEADER_LEN + BODY_LEN;
export const QUOTE_LEN = SIGNED_LEN + 4 + 64 + 64;

export interface QuoteInput {
  signingAddress: string; // 0x + 40 hex
  nonce: Uint8Array; // 32 bytes
  measurement: Uint8Array; // 48 bytes (mrTd)
  debug: boolean;
  authoritySecretKey: Uint8Array; // P-256
}

export function buildQuote(input: QuoteInput): Uint8Array {
  const q = new Uint8Array(QUOTE_LEN);
  const dv = new DataView(q.buffer);
  dv.setUint16(0, 4, true);
  dv.setUint16(2, 2, true);
  dv.setUint32(4, TDX_TEE_TYPE, true);
  if (input.debug) q[TD_ATTRIBUTES_OFFSET] = 0x01;
  q.set(input.measurement.subarray(0, 48), MR_TD_OFFSET);
  q.set(hexToBytes(input.signingAddress.slice(2)), REPORT_DATA_OFFSET);
  q.set(input.nonce, REPORT_DATA_OFFSET + 32);
  dv.setUint32(SIGNED_LEN, 128, true);
  const sig = p256.sign(q.subarray(0, SIGNED_LEN), input.authoritySecretKey); // sha256 prehash
  q.set(sig, SIGNED_LEN + 4);
  q.set(p256.getPublicKey(input.authoritySecretKey, false).subarray(1), SIGNED_LEN + 4 + 64);
  return q;
}

export interface ParsedQuote {
  teeType: number;
  debug: boolean;
  measurementHex: string;
  reportData: Uint8Array;
  signatureValid: boolean;
  /** Attestation key embedded in the quote, uncompressed P-256 hex (04||x||y). */
  attestationKeyHex: string;
}

/** Parses and checks the quote's own signature. Throws on malformed input. */
export function parseQuote(quote: Uint8Array): ParsedQuote {
  if (quote.length < QUOTE_LEN) throw new Error(`quote too short: ${quote.length} bytes, expected >= ${QUOTE_LEN}`);
  const dv = new DataView(quote.buffer, quote.byteOffset, quote.byteLength);
  const teeType = dv.getUint32(4, true);
  const sigLen = dv.getUint32(SIGNED_LEN, true);
  if (sigLen !== 128) throw new Error(`unexpected signature data length ${sigLen}, expected 128`);
  const sig = quote.subarray(SIGNED_LEN + 4, SIGNED_LEN + 68);
  const attKey = new Uint8Array(65);
  attKey[0] = 0x04;
  attKey.set(quote.subarray(SIGNED_LEN + 68, SIGNED_LEN + 132), 1);
  let signatureValid = false;
  try {
    signatureValid = p256.verify(sig, quote.subarray(0, SIGNED_LEN), attKey);
  } catch {
    signatureValid = false;
  }
  return {
    teeType,
    debug: ((quote[TD_ATTRIBUTES_OFFSET] ?? 0) & 0x01) !== 0,
    measurementHex: bytesToHex(quote.subarray(MR_TD_OFFSET, MR_TD_OFFSET + 48)),
    reportData: quote.slice(REPORT_DATA_OFFSET, REPORT_DATA_OFFSET + 64),
    signatureValid,
    attestationKeyHex: bytesToHex(attKey),
  };
}

/** Deterministic stand-in for the TD measurement of a model's enclave image. */
export function measurementFor(modelId: string): Uint8Array {
  const a = sha256(new TextEncoder().encode(`venice-sim/mrtd/${modelId}`));
  return new Uint8Array([...a, ...sha256(a).subarray(0, 16)]);
}
