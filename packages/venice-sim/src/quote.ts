/**
 * The sim's TDX quotes: full Intel TDX v4 DCAP quotes (`@zkcredits/attest/testing`) under the sim's
 * test PKI, so clients run the real DCAP path with `sim.attestationRootCaDer` as trust anchor.
 *
 * REPORTDATA = signing address (20 B) ‖ zeros (12 B) ‖ client nonce (32 B), as Venice's providers bind
 * it. MRTD is a deterministic stand-in per model; MRCONFIGID is zero; RTMRs are synthetic.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { buildTestQuote, type TestPki } from '@zkcredits/attest/testing';

/** REPORTDATA for an enclave key's Ethereum address (0x + 40 hex) and a 32-byte nonce. */
export function reportDataFor(signingAddress: string, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== 32) throw new RangeError(`nonce must be 32 bytes, got ${nonce.length}`);
  const rd = new Uint8Array(64);
  rd.set(hexToBytes(signingAddress.replace(/^0x/, '').toLowerCase()), 0);
  rd.set(nonce, 32);
  return rd;
}

/** Deterministic stand-in for the TD measurement (MRTD, 48 bytes) of a model's enclave image. */
export function measurementFor(modelId: string): Uint8Array {
  const a = sha256(new TextEncoder().encode(`venice-sim/mrtd/${modelId}`));
  return new Uint8Array([...a, ...sha256(a).subarray(0, 16)]);
}

export interface SimQuoteInput {
  modelId: string;
  reportData: Uint8Array;
  debug: boolean;
  /** The QE's attestation key (stable for the sim's lifetime, like a real QE's until reboot). */
  attestationSecretKey: Uint8Array;
  corruptSignature: boolean;
}

/** A signed TDX v4 quote for a model's enclave. */
export function buildSimQuote(pki: TestPki, input: SimQuoteInput): Uint8Array {
  return buildTestQuote(pki, {
    reportData: input.reportData,
    debug: input.debug,
    mrTd: measurementFor(input.modelId),
    attestationSecretKey: input.attestationSecretKey,
    corruptSignature: input.corruptSignature,
  });
}
