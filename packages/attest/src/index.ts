// `@zkcredits/attest`: client-side verification of Venice TEE attestations (Intel TDX, DCAP)
// and the E2EE codec. Browser and Node; no Node built-ins. The trust root is Intel's
// production root CA; a test root is settable only through `@zkcredits/attest/testing`.
export { AttestError } from './errors.js';
export type { AttestErrorCode } from './errors.js';
export { DEFAULT_ACCEPTED_TCB } from './types.js';
export type {
  AttestationLevel,
  AttestationReport,
  CheckName,
  CheckResult,
  Collateral,
  CollateralSource,
  PinStore,
  TcbStatus,
  TdMeasurements,
  VerifyOptions,
} from './types.js';
export { verifyAttestation, LEVEL_CHECKS } from './verify.js';
export { assertAttested } from './assert.js';
export { fetchAttestation, MAX_ATTESTATION_BYTES } from './fetch.js';
export type { FetchAttestationParams } from './fetch.js';
export { MemoryPinStore, repinMeasurements, changedMeasurements, measurementChangedError } from './pins.js';
export { parseAttestationResponse, decodeQuote } from './response.js';
export type { ParsedAttestation } from './response.js';
export { parseTdxQuote } from './quote.js';
export type { TdxQuote } from './quote.js';
export * from './e2ee/index.js';
export {
  DEFAULT_PCS_MAX_BYTES,
  FMSPC_RE,
  MAX_COLLATERAL_RESPONSE_BYTES,
  MAX_CRL_HEX_CHARS,
  MAX_IDENTITY_JSON_CHARS,
  MAX_PEM_CHAIN_CHARS,
  collateralCacheKey,
  collateralFmspc,
  collateralNextUpdate,
  collateralSchema,
  fetchPcsCollateral,
  parseCollateral,
  serverCollateralSource,
} from './collateral.js';
export type { CollateralCache, PcsCollateralOptions, PckCa, ServerCollateralSourceOptions } from './collateral.js';
