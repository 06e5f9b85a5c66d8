/// <reference lib="webworker" />
/**
 * TEST BUILDS ONLY (ZKC_TEST_WALLET=1, like the test wallet). The prover worker imports this
 * module only inside `process.env.NEXT_PUBLIC_ZKC_TEST_WALLET === '1'`, which a production
 * build compiles to `false` and drops, with this module and `@zkcredits/attest/testing`.
 * test/production-build.test.ts checks that none of it is in a production build.
 *
 * It makes the worker trust a test root CA (the Venice simulator's test PKI) instead of
 * Intel's SGX root, so browser tests verify sim attestations through the same DCAP code.
 */
import { verifyAttestationWithRoot } from '@zkcredits/attest/testing';
import type { Verifier } from './worker-side';

/** Marks this module in built JavaScript (the production-build test looks for it). */
export const TEST_TRUST_MARKER = 'zkcredits-test-build:trusts-a-test-attestation-root';

/** A verifier that accepts quotes chained to `rootCaDerHex` (DER, hex) instead of Intel's root. */
export function testRootVerifier(rootCaDerHex: string): Verifier {
  if (!/^(?:[0-9a-f]{2})+$/i.test(rootCaDerHex)) throw new Error(`${TEST_TRUST_MARKER}: the root must be DER as hex`);
  const der = Uint8Array.from(rootCaDerHex.match(/../g)!, (b) => parseInt(b, 16));
  console.warn(`${TEST_TRUST_MARKER}: attestations are checked against a test root, not Intel's`);
  return (raw, options) => verifyAttestationWithRoot(raw, options, der);
}
