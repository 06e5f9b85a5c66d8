// A client's view of the sim's attestation: fetch with a fresh nonce, verify with @zkcredits/attest
// at level dcap trusting the sim's test root (never Intel's), collateral from the sim's PCS routes.
import { fetchAttestation, fetchPcsCollateral, type AttestationReport, type CollateralSource } from '@zkcredits/attest';
import { verifyAttestationWithRoot } from '@zkcredits/attest/testing';
import type { VeniceSim } from '../src/index.js';

export const SIM_E2EE_MODEL = 'e2ee-qwen3-5-122b-a10b';

/** Collateral from the sim's Intel-PCS-shaped routes. */
export const simCollateral =
  (sim: VeniceSim): CollateralSource =>
  (q) =>
    fetchPcsCollateral({ pcsUrl: sim.pcsUrl, rootCaCrlUrl: sim.rootCaCrlUrl, ...q });

/** Fetches and verifies the sim's attestation of `model`. */
export async function attestSim(sim: VeniceSim, model = SIM_E2EE_MODEL): Promise<AttestationReport> {
  const { response, nonce } = await fetchAttestation({ baseUrl: sim.apiBaseUrl, model });
  return verifyAttestationWithRoot(response, { nonce, model, collateral: simCollateral(sim) }, sim.attestationRootCaDer);
}
