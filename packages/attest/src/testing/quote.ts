/**
 * Intel TDX v4 quotes under the test PKI, byte-compatible with what a TDX host's quoting enclave
 * produces (Intel's "TDX DCAP Quoting Library API", quote format v4):
 *
 *   header (48)        version 4 · attestation key type 2 (ECDSA-256 P-256) · TEE type 0x81 ·
 *                      2 reserved u16 · QE vendor id (Intel's) · user data (QE id ‖ 4 zero bytes)
 *   TD report 1.0 (584) TEE_TCB_SVN · MRSEAM · MRSIGNERSEAM · SEAMATTRIBUTES · TDATTRIBUTES · XFAM ·
 *                      MRTD · MRCONFIGID · MROWNER · MROWNERCONFIG · RTMR0..3 · REPORTDATA
 *   u32 auth data size, then auth data:
 *     ECDSA signature (r‖s) over header‖body by the attestation key · attestation public key (x‖y) ·
 *     certification data type 6 (QE report certification data), u32 size, body:
 *       QE report (384, an SGX enclave report; REPORTDATA[0..32] = sha256(attestation key ‖ QE auth data)) ·
 *       QE report signature (r‖s, by the PCK key) · u16 QE auth data size · QE auth data ·
 *       certification data type 5 (PCK certificate chain, PEM: leaf, CA, root), u32 size, body
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { concat } from './der.js';
import { signRaw, type TestPki } from './pki.js';

export const QUOTE_HEADER_LEN = 48;
export const TD_REPORT10_LEN = 584;
/** Offsets into the quote (header included) of the TD report fields clients read. */
export const TD_OFFSETS = {
  teeTcbSvn: 48,
  mrSeam: 64,
  mrSignerSeam: 112,
  seamAttributes: 160,
  tdAttributes: 168,
  xfam: 176,
  mrTd: 184,
  mrConfigId: 232,
  mrOwner: 280,
  mrOwnerConfig: 328,
  rtmr0: 376,
  reportData: 568,
  /** First byte after the signed part (header ‖ body): the auth data size. */
  authDataSize: 632,
  /** The attestation key's signature over header ‖ body (64 bytes, r‖s). */
  quoteSignature: 636,
} as const;

/** Intel's QE vendor id (939A7233-F79C-4CA9-940A-0DB3957F0607). */
const INTEL_QE_VENDOR_ID = Uint8Array.of(0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07);
/** TD attribute bit 28: SEPT_VE_DISABLE (byte 3, 0x10). DEBUG is bit 0 (TUD byte 0). */
const SEPT_VE_DISABLE_BYTE3 = 0x10;

export interface TestQuoteOptions {
  /** The 64-byte REPORTDATA the TD asked to be bound (Venice: address ‖ 12 zeros ‖ nonce). */
  reportData: Uint8Array;
  /** Sets the TD's DEBUG attribute. */
  debug?: boolean;
  /** 48-byte measurements; synthetic defaults otherwise. */
  mrTd?: Uint8Array;
  mrConfigId?: Uint8Array;
  mrOwner?: Uint8Array;
  rtmrs?: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  /** 16 bytes; default the platform's (matches the collateral's top TCB level). */
  teeTcbSvn?: Uint8Array;
  /** P-256 attestation key; fresh when absent. */
  attestationSecretKey?: Uint8Array;
  /** Flip one bit of the attestation key's signature (the quote parses, the signature fails). */
  corruptSignature?: boolean;
}

function fixed(name: string, value: Uint8Array | undefined, len: number, fallback: () => Uint8Array): Uint8Array {
  const v = value ?? fallback();
  if (v.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${v.length}`);
  return v;
}

const synthetic = (label: string) => sha384(new TextEncoder().encode(`zkcredits test TD/${label}`));

function u16(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >> 8) & 0xff);
}
function u32(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
}

/** The QE's SGX enclave report (384 bytes). */
function qeReport(pki: TestPki, reportData: Uint8Array): Uint8Array {
  const qe = pki.platform.qe;
  const r = new Uint8Array(384);
  const dv = new DataView(r.buffer);
  r.set(pki.platform.cpuSvn, 0);
  dv.setUint32(16, qe.miscSelect, true);
  r.set(qe.attributes, 48);
  r.set(qe.mrEnclave, 64);
  r.set(qe.mrSigner, 128);
  dv.setUint16(256, qe.isvProdId, true);
  dv.setUint16(258, qe.isvSvn, true);
  r.set(reportData, 320);
  return r;
}

/** A complete, signed TDX v4 quote whose PCK chain ends at `pki.rootCaDer`. */
export function buildTestQuote(pki: TestPki, opts: TestQuoteOptions): Uint8Array {
  if (opts.reportData.length !== 64) throw new RangeError(`reportData must be 64 bytes, got ${opts.reportData.length}`);
  const header = new Uint8Array(QUOTE_HEADER_LEN);
  const hv = new DataView(header.buffer);
  hv.setUint16(0, 4, true);
  hv.setUint16(2, 2, true);
  hv.setUint32(4, 0x81, true);
  header.set(INTEL_QE_VENDOR_ID, 12);
  header.set(pki.platform.qeId, 28);

  const body = new Uint8Array(TD_REPORT10_LEN);
  const at = (field: keyof typeof TD_OFFSETS) => TD_OFFSETS[field] - QUOTE_HEADER_LEN;
  body.set(fixed('teeTcbSvn', opts.teeTcbSvn, 16, () => pki.platform.teeTcbSvn), at('teeTcbSvn'));
  body.set(synthetic('mrseam'), at('mrSeam'));
  // MRSIGNERSEAM and SEAMATTRIBUTES stay zero: Intel's own TDX module (TCB info `tdxModule`).
  const tdAttributes = new Uint8Array(8);
  tdAttributes[3] = SEPT_VE_DISABLE_BYTE3;
  if (opts.debug) tdAttributes[0] = 0x01;
  body.set(tdAttributes, at('tdAttributes'));
  body.set(Uint8Array.of(0xe7, 0x02, 0x06, 0, 0, 0, 0, 0), at('xfam')); // x87, SSE, AVX, AVX-512, PK, …
  body.set(fixed('mrTd', opts.mrTd, 48, () => synthetic('mrtd')), at('mrTd'));
  body.set(fixed('mrConfigId', opts.mrConfigId, 48, () => new Uint8Array(48)), at('mrConfigId'));
  body.set(fixed('mrOwner', opts.mrOwner, 48, () => new Uint8Array(48)), at('mrOwner'));
  for (let i = 0; i < 4; i++) {
    body.set(fixed(`rtmrs[${i}]`, opts.rtmrs?.[i], 48, () => synthetic(`rtmr${i}`)), at('rtmr0') + 48 * i);
  }
  body.set(opts.reportData, at('reportData'));

  const attestationSecretKey = opts.attestationSecretKey ?? p256.utils.randomSecretKey(randomBytes(48));
  const attestationKey = p256.getPublicKey(attestationSecretKey, false).subarray(1); // x ‖ y
  const signature = signRaw(concat(header, body), attestationSecretKey);
  if (opts.corruptSignature) signature[10]! ^= 0x01;

  const qeAuthData = Uint8Array.from({ length: 32 }, (_, i) => i);
  const qeReportData = new Uint8Array(64);
  qeReportData.set(sha256(concat(attestationKey, qeAuthData)), 0);
  const report = qeReport(pki, qeReportData);
  const chain = new TextEncoder().encode(pki.pckChainPem);
  const qeCertData = concat(
    report,
    signRaw(report, pki.pck.secretKey),
    u16(qeAuthData.length),
    qeAuthData,
    u16(5),
    u32(chain.length + 1),
    chain,
    Uint8Array.of(0), // real quotes end the PEM chain with a NUL byte
  );
  const authData = concat(signature, attestationKey, u16(6), u32(qeCertData.length), qeCertData);
  return concat(header, body, u32(authData.length), authData);
}
