import type { TicketProof } from '@zkcredits/core';
import type { SpendProof, SpendWitness } from '@zkcredits/core/prover';

/**
 * Verifies proofs under the pinned keys: v1 spend proofs (`verify`) and v2 flat tickets
 * (`verifyTicket`). `false` for any proof that does not verify (never throws on bad bytes).
 * Throws core's `backend_failed` when the backend itself failed (a bb process died): that says
 * nothing about the proof.
 */
export interface Verifier {
  verify(proof: SpendProof): Promise<boolean>;
  verifyTicket(proof: TicketProof): Promise<boolean>;
}

/** Builds spend proofs (server-side "API key" mode). Throws core's `backend_failed` when the backend failed. */
export interface Prover {
  prove(witness: SpendWitness): Promise<SpendProof>;
}

export type { SpendProof, SpendWitness, TicketProof };
