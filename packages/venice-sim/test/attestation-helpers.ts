// Helpers of the attestation tests: fetch an attestation, read its quote, verify it with
// dcap-qvl or @zkcredits/attest against collateral from the sim's PCS routes.
import { createRequire } from 'node:module';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { expect } from 'vitest';
import { fetchPcsCollateral } from '@zkcredits/attest';
import type { VeniceSim } from '../src/index.js';

export const MODEL = 'e2ee-qwen3-5-122b-a10b';

const require = createRequire(import.meta.url);
export const dcap = {
  ...(require('@phala/dcap-qvl') as typeof import('@phala/dcap-qvl')),
  // Not re-exported by the package index in 0.3.9.
  ...(require('@phala/dcap-qvl/src/collateral.js') as {
    getCollateralForFmspc(url: string, fmspc: string, ca: string, forSgx: boolean): Promise<unknown>;
  }),
};

export async function attest(sim: VeniceSim, nonce = bytesToHex(randomBytes(32)), model = MODEL) {
  const res = await fetch(`${sim.apiBaseUrl}/tee/attestation?model=${model}&nonce=${nonce}`);
  expect(res.status).toBe(200);
  return { nonce, body: (await res.json()) as Record<string, unknown> & { nonce: string; signing_address: string } };
}

export function quoteOf(body: Record<string, unknown>): Uint8Array {
  const aci = body.attestation as { evidence?: { quote?: string } } | undefined;
  const q = (aci?.evidence?.quote ?? body.intel_quote) as string;
  return /^[0-9a-f]+$/.test(q) ? hexToBytes(q) : new Uint8Array(Buffer.from(q, 'base64'));
}

/** dcap-qvl's own PCS client against the sim's routes (a fidelity check of their shapes). */
export async function dcapVerify(sim: VeniceSim, quote: Uint8Array) {
  const collateral = await dcap.getCollateralForFmspc(sim.pcsUrl, sim.fmspc, 'platform', false);
  return dcap.QuoteVerifier.newWithRootCa(Buffer.from(sim.attestationRootCaDer)).verify(quote, collateral as never, Math.floor(Date.now() / 1000));
}

export const collateralFrom = (sim: VeniceSim) => (q: { fmspc: string; ca: 'platform' | 'processor' }) =>
  fetchPcsCollateral({ pcsUrl: sim.pcsUrl, rootCaCrlUrl: sim.rootCaCrlUrl, fmspc: q.fmspc, ca: q.ca });

