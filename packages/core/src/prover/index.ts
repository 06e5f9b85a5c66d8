export { CreditProver, CREDIT_CRS_POINTS, PROOF_BYTES, type SpendWitness, type CreateProverParameters } from './prover.js';
export { TicketProver, TICKET_CRS_POINTS, type TicketWitness } from './ticket-prover.js';
export { createBackend, type BackendKind, type CrsBytes } from './backend.js';
export { PROOF_SETTINGS, type PublicInputs, type SpendProof } from './settings.js';
export { MeteredProver, METERED_CRS_POINTS, meteredPublicInputs } from './metered-prover.js';
