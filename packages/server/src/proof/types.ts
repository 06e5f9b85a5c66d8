import type { MeteredProof, TicketProof } from '@zkcredits/core';
import type { SpendProof, SpendWitness } from '@zkcredits/core/prover';

/**
 * Verifies proofs under the pinned keys: v1 spend proofs (`verify`), v2 flat tickets
 * (`verifyTicket`) and v2 metered calls (`verifyMetered`). `false` for any proof that does not verify (never throws on bad bytes).
 * Throws core's `backend_failed` when the backend itself failed (a bb process died): that says
 * nothing about the proof.
 */
export interface Verifier {
  verify(proof: SpendProof): Promise<boolean>;
  verifyTicket(proof: TicketProof): Promise<boolean>;
  /** v2 metered calls, against the public inputs the server assembled (C_max and the state key from the chain). */
  verifyMetered(proof: MeteredProof): Promise<boolean>;
}

/** Builds spend proofs (server-side "API key" mode). Throws core's `backend_failed` when the backend failed. */
export interface Prover {
  prove(witness: SpendWitness): Promise<SpendProof>;
}

export type { MeteredProof, SpendProof, SpendWitness, TicketProof };
