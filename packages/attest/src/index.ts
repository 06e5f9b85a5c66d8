// `@zkcredits/attest`: client-side verification of Venice TEE attestations (Intel TDX, DCAP)
// and the E2EE codec. Browser and Node; no Node built-ins.
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
export * from './e2ee/index.js';
