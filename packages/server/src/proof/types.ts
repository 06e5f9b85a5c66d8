import type { SpendProof, SpendWitness } from '@zkcredits/core/prover';

/** Verifies spend proofs; `false` for any proof that does not verify (never throws on bad bytes). */
export interface Verifier {
  verify(proof: SpendProof): Promise<boolean>;
}

/** Builds spend proofs (server-side "API key" mode). */
export interface Prover {
  prove(witness: SpendWitness): Promise<SpendProof>;
}

export type { SpendProof, SpendWitness };
