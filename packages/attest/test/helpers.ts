// Shared test inputs: the real Intel sample (quote + collateral) and attestation responses built
// around quotes of the test PKI (`@zkcredits/attest/testing`), shaped like Venice's.
import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { ethereumAddress, generateKeyPair, type KeyPair } from '../src/e2ee/index.js';
import { buildTestCollateral, buildTestQuote, type TestCollateralOptions, type TestPki, type TestQuoteOptions } from '../src/testing/index.js';
import type { Collateral, CollateralSource } from '../src/types.js';

const fixtures = new URL('./fixtures/', import.meta.url);

/** The real TDX v4 quote and its collateral (dcap-qvl sample); valid 2025-06-19 .. 2025-07-19. */
export function realFixture(): { quote: Uint8Array; collateral: Collateral } {
  const quote = new Uint8Array(readFileSync(new URL('tdx_quote', fixtures)));
  const raw = JSON.parse(readFileSync(new URL('tdx_quote_collateral.json', fixtures), 'utf8')) as Record<string, unknown>;
  const hex = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : bytesToHex(Uint8Array.from(v as number[])));
  const collateral: Collateral = {
    pck_crl_issuer_chain: raw.pck_crl_issuer_chain as string,
    root_ca_crl: hex(raw.root_ca_crl),
    pck_crl: hex(raw.pck_crl),
    tcb_info_issuer_chain: raw.tcb_info_issuer_chain as string,
    tcb_info: raw.tcb_info as string,
    tcb_info_signature: hex(raw.tcb_info_signature),
    qe_identity_issuer_chain: raw.qe_identity_issuer_chain as string,
    qe_identity: raw.qe_identity as string,
    qe_identity_signature: hex(raw.qe_identity_signature),
  };
  return { quote, collateral };
}

/** A time inside the real fixture's collateral window. */
export const FIXTURE_NOW = new Date('2025-06-25T00:00:00Z');

export const fixedSource =
  (c: Collateral): CollateralSource =>
  async () =>
    c;

export const freshNonce = () => bytesToHex(randomBytes(32));

export const toBase64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** address (20) ‖ zeros (12) ‖ nonce or sha256(nonce) (32). */
function veniceReportData(address: string, nonce: string, mode: 'raw' | 'sha256' = 'raw'): Uint8Array {
  const rd = new Uint8Array(64);
  rd.set(hexToBytes(address.slice(2)), 0);
  const n = hexToBytes(nonce);
  rd.set(mode === 'raw' ? n : sha256(n), 32);
  return rd;
}

export type ResponseOptions = {
  nonce: string;
  model: string;
  key?: KeyPair;
  shape?: 'flat' | 'aci/1';
  encoding?: 'hex' | 'base64';
  nonceMode?: 'raw' | 'sha256';
  /** Replaces REPORTDATA entirely. */
  reportData?: Uint8Array;
  quote?: Partial<TestQuoteOptions>;
  /** Replaces the quote bytes. */
  quoteBytes?: Uint8Array;
  /** Merged into the response root (after the defaults). */
  override?: Record<string, unknown>;
};

/** A Venice-shaped attestation response around a fresh test-PKI quote. */
export function testResponse(pki: TestPki, o: ResponseOptions): { response: Record<string, unknown>; key: KeyPair; quote: Uint8Array } {
  const key = o.key ?? generateKeyPair();
  const address = ethereumAddress(key.publicKeyHex);
  const reportData = o.reportData ?? veniceReportData(address, o.nonce, o.nonceMode);
  const quote = o.quoteBytes ?? buildTestQuote(pki, { reportData, ...o.quote });
  const encoded = o.encoding === 'hex' ? bytesToHex(quote) : toBase64(quote);
  const serverVerification = {
    tdx: { valid: true, error: null, signatureValid: true, certificateChainValid: true, attestationKeyMatch: true },
    nvidia: null,
    signingAddressBinding: { bound: true, reportDataAddress: address },
    nonceBinding: { bound: true, method: o.nonceMode ?? 'raw' },
    verifiedAt: new Date().toISOString(),
    verificationDurationMs: 12,
  };
  const common = {
    verified: true,
    nonce: o.nonce,
    model: o.model,
    tee_provider: 'test',
    signing_address: address,
    nvidia_payload: null,
  };
  const response =
    o.shape === 'aci/1'
      ? {
          api_version: 'aci/1',
          ...common,
          debug: false,
          signing_public_key: key.publicKeyHex,
          attestation: { tee_type: 'tdx', evidence: { quote: encoded, quote_report_data: bytesToHex(reportData) } },
          ...o.override,
        }
      : {
          ...common,
          intel_quote: encoded,
          signing_key: key.publicKeyHex,
          signing_algo: 'ecdsa',
          server_verification: serverVerification,
          ...o.override,
        };
  return { response, key, quote };
}

export function testCollateral(pki: TestPki, o: TestCollateralOptions): CollateralSource {
  const c = buildTestCollateral(pki, o);
  return async () => c;
}
