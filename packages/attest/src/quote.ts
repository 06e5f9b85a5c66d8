/**
 * A small parser for the signed part of an Intel TDX v4 quote: the 48-byte header and the
 * 584-byte TD report body (TDREPORT 1.0). It reads what the binding checks need and nothing
 * else; the signature, the QE report and the PCK chain are DCAP's (src/dcap.ts).
 *
 *   [0, 48)     header: version u16le = 4, attestation key type u16le = 2 (ECDSA P-256),
 *               TEE type u32le = 0x81 (TDX), QE/PCE SVNs, QE vendor id, user data
 *   [48, 632)   TD report body: tdAttributes @+120 (8 B), mrTd @+136, mrConfigId @+184,
 *               rtmr0..3 @+328/376/424/472 (48 B each), reportData @+520 (64 B)
 *   [632, 636)  signature data length u32le, then that many bytes (signature, key, certification data)
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { AttestError } from './errors.js';
import type { TdMeasurements } from './types.js';

export const TDX_TEE_TYPE = 0x81;
const QUOTE_VERSION_4 = 4;
const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
const HEADER_LEN = 48;
const TD_REPORT10_LEN = 584;
/** Offsets inside the TD report body. */
const TD_OFFSETS = {
  tdAttributes: 120,
  mrTd: 136,
  mrConfigId: 184,
  rtmr0: 328,
  rtmr1: 376,
  rtmr2: 424,
  rtmr3: 472,
  reportData: 520,
} as const;
/** Largest quote accepted (real ones are ~5 KB). */
export const MAX_QUOTE_BYTES = 64 * 1024;

export type TdxQuote = {
  version: number;
  teeType: number;
  /** 8 bytes, hex. */
  tdAttributes: string;
  /** TUD.DEBUG: tdAttributes byte 0, bit 0. */
  debug: boolean;
  measurements: TdMeasurements;
  reportData: Uint8Array;
  /** Bytes covered by the quote signature (header ‖ body). */
  signedLength: number;
};

function malformed(details: string): AttestError {
  return new AttestError('attestation_malformed', 'The TDX quote does not parse.', { details });
}

/**
 * Parses a TDX v4 quote's header and TD report body. Throws `attestation_malformed` with the
 * reason (too short or long, not v4, not TDX, not ECDSA P-256, signature data length past the end).
 */
export function parseTdxQuote(quote: Uint8Array): TdxQuote {
  const signedLength = HEADER_LEN + TD_REPORT10_LEN;
  if (quote.length > MAX_QUOTE_BYTES) throw malformed(`quote is ${quote.length} bytes, more than ${MAX_QUOTE_BYTES}`);
  if (quote.length < signedLength + 4) throw malformed(`quote is ${quote.length} bytes, a TDX v4 quote has at least ${signedLength + 4}`);
  const dv = new DataView(quote.buffer, quote.byteOffset, quote.byteLength);
  const version = dv.getUint16(0, true);
  const keyType = dv.getUint16(2, true);
  const teeType = dv.getUint32(4, true);
  if (teeType !== TDX_TEE_TYPE) throw malformed(`TEE type 0x${teeType.toString(16)} is not TDX (0x81)`);
  if (version !== QUOTE_VERSION_4) throw malformed(`quote version ${version} is not 4`);
  if (keyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) throw malformed(`attestation key type ${keyType} is not ECDSA P-256 (2)`);
  const sigLen = dv.getUint32(signedLength, true);
  if (signedLength + 4 + sigLen > quote.length) {
    throw malformed(`signature data length ${sigLen} runs past the ${quote.length - signedLength - 4} bytes after the body`);
  }
  const field = (off: number, len: number) => quote.subarray(HEADER_LEN + off, HEADER_LEN + off + len);
  const hex48 = (off: number) => bytesToHex(field(off, 48));
  const attrs = field(TD_OFFSETS.tdAttributes, 8);
  return {
    version,
    teeType,
    tdAttributes: bytesToHex(attrs),
    debug: (attrs[0]! & 0x01) !== 0,
    measurements: {
      mrTd: hex48(TD_OFFSETS.mrTd),
      mrConfigId: hex48(TD_OFFSETS.mrConfigId),
      rtmr0: hex48(TD_OFFSETS.rtmr0),
      rtmr1: hex48(TD_OFFSETS.rtmr1),
      rtmr2: hex48(TD_OFFSETS.rtmr2),
      rtmr3: hex48(TD_OFFSETS.rtmr3),
    },
    reportData: field(TD_OFFSETS.reportData, 64).slice(),
    signedLength,
  };
}
