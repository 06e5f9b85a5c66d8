export { createVeniceSim } from './sim.js';
export type { VeniceSim } from './sim.js';
export type { VeniceSimOptions } from './context.js';
export { SimState } from './state.js';
export type { RecordedRequest } from './state.js';
export { FAULT_HEADER, E2EE_HEADERS } from './http.js';
export { FaultControl, parseFault, FaultSyntaxError } from './faults.js';
export type { Fault, FaultRoute } from './faults.js';
export { DEFAULT_MODELS, modelListEntry } from './models.js';
export type { SimModel } from './models.js';
export { simulateCompletion, countTokens, countPromptTokens, conversationDigest } from './completion.js';
export type { PlainMessage, SimCompletion } from './completion.js';
export { VENICE_ERRORS, veniceErrorBody } from './errors-http.js';
export { E2eeError } from './errors.js';
export type { E2eeErrorCode } from './errors.js';
export {
  HKDF_INFO,
  MIN_PACKED_HEX_LEN,
  encryptField,
  decryptField,
  generateKeyPair,
  keyPairFromSecret,
  parsePublicKey,
  looksEncrypted,
  ethereumAddress,
} from '@zkcredits/attest/e2ee';
export type { KeyPair } from '@zkcredits/attest/e2ee';
export { buildSimQuote, reportDataFor, measurementFor } from './quote.js';
export type { SimQuoteInput } from './quote.js';
export { AttestationFaultControl } from './attestation-faults.js';
export type { AttestationFaults } from './attestation-faults.js';
export { ReceiptStore, personalMessageHash, personalSign } from './receipts.js';
export type { Receipt } from './receipts.js';
export { PCS_PATHS } from './routes/pcs.js';
export { nvidiaPayload } from './nvidia.js';
export {
  E2EE_SIGNING_ALGO,
  attestationResponseSchema,
  fetchAttestation,
  verifyAttestation,
  createE2eeSession,
  createE2eeSessionFromAttestation,
} from './e2ee.js';
export type {
  AttestationResponse,
  VerifiedAttestation,
  FetchAttestationParameters,
  VerifyAttestationExpectations,
  ChatMessageLike,
  DecryptedChunk,
  E2eeSession,
  CreateE2eeSessionParameters,
} from './e2ee.js';
