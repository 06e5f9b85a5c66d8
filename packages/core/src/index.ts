// @zkcredits/core: the zkcredits protocol library (browser and Node).
// Heavy parts live behind their own entry points: `@zkcredits/core/prover` (bb.js
// proving/verifying) and `@zkcredits/core/node` (CRS from disk, native bb, deploy).
export * from './generated/constants.js';
export { creditCircuit, CREDIT_CIRCUIT_GATES, CREDIT_CIRCUIT_SIZE, CREDIT_VK_SHA256 } from './generated/circuit.js';
export { ticketCircuit, TICKET_CIRCUIT_GATES, TICKET_CIRCUIT_SIZE, TICKET_VK_SHA256 } from './generated/ticket-circuit.js';
export { meteredCircuit, METERED_CIRCUIT_GATES, METERED_CIRCUIT_SIZE, METERED_VK_SHA256 } from './generated/metered-circuit.js';
export {
  ZkCreditsError,
  FieldError,
  CredentialError,
  TreeError,
  ProofError,
  TreeCheckError,
  VaultError,
  AccountError,
  isZkCreditsError,
  findErrorByName,
  type ZkCreditsErrorCode,
  type TreeCheckErrorCode,
  type VaultErrorCode,
  type AccountErrorCode,
} from './errors.js';
export { parseField, assertField, toFieldHex, fieldToBytes, fieldFromBytes, bytesToBigInt, type FieldHex } from './field.js';
export { initPoseidon2, poseidon2Hash, poseidon2Permutation } from './poseidon2.js';
export { hashLeaf, hashNode, hashNullifier, zeroHashes } from './hashes.js';
export { MerkleTree, rootFromPath, type MerklePath } from './tree.js';
export {
  generateCredential,
  encodeCredential,
  decodeCredential,
  credentialCommitment,
  credentialNullifierHash,
  CREDENTIAL_PREFIX,
  type Credential,
} from './credential.js';
export { requestHash, requestDigest, CHAT_PATH, PROOF_BODY_FIELD, BOUND_REQUEST_HEADERS, MAX_BODY_DEPTH, type Deployment, type RequestHashParameters } from './request-hash.js';
export { buildSpendWitness } from './spend.js';
export { encodeProofPayload, decodeProofPayload, type ProofPayload } from './proof-payload.js';
export {
  deriveAccountSecret,
  accountId,
  flatAccountLeaf,
  ticketSlope,
  ticketNullifier,
  ticketShare,
  recoverAccountSecret,
  utcDay,
  type ShareEvidence,
} from './v2/tickets.js';
export {
  encodeTicketPayload,
  decodeTicketPayload,
  isTicketPayload,
  type TicketPayload,
  type TicketProof,
  type TicketPublicInputs,
} from './v2/ticket-payload.js';
export { buildTicketWitness, type FlatAccountTerms } from './v2/ticket-witness.js';
export type { AccountStore } from './v2/account-store.js';
export {
  MAX_METERED_AMOUNT,
  assertAmount,
  assertMeteredTerms,
  meteredAccountLeaf,
  meteredTicket,
  meteredShare,
  meteredNullifier,
  stateCommitment,
  stateMessage,
  type MeteredTerms,
  type LaneStateOpening,
} from './v2/metered.js';
export {
  STATE_KEY_ORDER,
  generateStateSecret,
  statePublicKey,
  isStatePublicKey,
  signState,
  verifyStateSignature,
  signatureLimbs,
  type StatePublicKey,
  type StateSignature,
} from './v2/state-key.js';
export { readStateKeys, readMeteredParams, type StateKeys, type MeteredParams } from './v2/state-keys.js';
export {
  encodeMeteredPayload,
  decodeMeteredPayload,
  isMeteredPayload,
  type MeteredPayload,
  type MeteredProof,
  type MeteredPublicInputs,
} from './v2/metered-payload.js';
export { encodeSignedState, decodeSignedState, type SignedState, type SignedStateWire } from './v2/signed-state.js';
export {
  buildMeteredWitness,
  laneStanding,
  type MeteredAccountTerms,
  type LaneState,
  type MeteredWitness,
  type PendingLaneState,
} from './v2/metered-witness.js';
export type { AccountRecord, AccountStatus, AccountPatch, TicketOutcome } from './vault/account-record.js';
export type { MeteredAccountRecord, MeteredAccountPatch, LanePending, LaneStanding } from './vault/metered-record.js';
export { MeteredError, type MeteredErrorCode } from './v2/metered-errors.js';
export type { MeteredAccountStore } from './v2/metered-store.js';
export { fetchMeteredState, type FetchedState, type FetchMeteredStateParameters, type StateFetch } from './v2/metered-state.js';
export { recoverMeteredAccounts, type RecoverMeteredAccountsParameters, type RecoveredMeteredAccount } from './v2/metered-recover.js';
export {
  MeteredSpender,
  meteredBalance,
  type MeteredProverLike,
  type MeteredStateKeys,
  type MeteredDeployment,
  type MeteredSpenderOptions,
  type MeteredCall,
  type MeteredSettlement,
  type LaneRecovery,
  type SpendMeteredParameters,
  type MeteredBalance,
} from './v2/metered-spend.js';
export {
  TicketSpender,
  type TicketProverLike,
  type TicketRequest,
  type TicketSpend,
  type SpendTicketParameters,
} from './v2/spend.js';
export {
  openAccounts,
  sendAccountOpening,
  readAccount,
  type OpenStep,
  type OpenAccountsParameters,
  type SendAccountOpeningParameters,
  type SendAccountOpeningResult,
  sendMeteredOpening,
  openMeteredAccount,
  openMeteredAccounts,
  type MeteredOpeningTerms,
  type SendMeteredOpeningParameters,
  type OpenMeteredAccountParameters,
  type OpenMeteredAccountsParameters,
} from './v2/open.js';
export {
  recoverAccounts,
  downloadSpentNullifiers,
  SPENT_PREFIXES,
  type RecoverAccountsParameters,
  type RecoveredAccount,
  type DownloadSpentParameters,
  type SpentFetch,
} from './v2/recover.js';
export { creditPoolAbi, testTokenAbi } from './generated/abis.js';
export { decodePurchases, fetchPurchases, applyPurchases, type Purchase, type OpenedMeteredAccount, type FetchPurchasesParameters } from './purchases.js';
export {
  sendPurchase,
  buyCredits,
  toContractError,
  type BuyStep,
  type SendPurchaseParameters,
  type SendPurchaseResult,
  type BuyCreditsParameters,
  type BuyCreditsResult,
} from './buy.js';
export { verifyTreeOnChain, type ChainTreeReader, type TreeSnapshot, type VerifiedTreeSizes } from './tree-check.js';
export { waitForReceipt, type WaitForReceiptParameters } from './receipt.js';
export { permitDomain, signPermit, PERMIT_TYPES, type SignPermitParameters } from './permit.js';
export {
  parseDeploymentManifest,
  serializeDeploymentManifest,
  manifestFileName,
  ManifestError,
  type DeploymentManifest,
} from './manifest.js';
export { CHAIN_PRESETS, LOCAL_CHAIN_ID, defaultConfirmations, type ChainPresetName } from './chains.js';
