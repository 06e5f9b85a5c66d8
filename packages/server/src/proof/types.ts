import type { SpendProof, SpendWitness } from '@zkcredits/core/prover';

/**
 * Verifies spend proofs: `false` for any proof that does not verify (never throws on bad bytes).
 * Throws core's `backend_failed` when the backend itself failed (a bb process died): that says
 * nothing about the proof.
 */
export interface Verifier {
  verify(proof: SpendProof): Promise<boolean>;
}

/** Builds spend proofs (server-side "API key" mode). Throws core's `backend_failed` when the backend failed. */
export interface Prover {
  prove(witness: SpendWitness): Promise<SpendProof>;
}

export type { SpendProof, SpendWitness };
