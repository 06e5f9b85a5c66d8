/**
 * The public contract of the verifier (src/verify.ts) and the collateral module
 * (src/collateral.ts). PROTOCOL.md, "End-to-end encryption and attestation", is normative.
 */

/** How much a report must establish. `binding` < `dcap` (default) < `measured`. */
export type AttestationLevel = 'binding' | 'dcap' | 'measured';

/** Intel's TCB statuses (TCB info v3). `Revoked` is never accepted. */
export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

/** Accepted by default; anything else must be listed in `tcbPolicy` on purpose. */
export const DEFAULT_ACCEPTED_TCB: readonly TcbStatus[] = ['UpToDate', 'SWHardeningNeeded'];

/** Every check the verifier runs, in order. Each appears once in a report. */
export type CheckName =
  /** The response echoes the 32-byte nonce we sent. */
  | 'nonce_echo'
  /** The response is for the model we asked about. */
  | 'model_echo'
  /** `verified === true` and no negative `server_verification` field (necessary, never sufficient). */
  | 'server_verdict'
  /** A valid uncompressed secp256k1 key whose address equals `signing_address`. */
  | 'signing_key'
  /** A TDX v4 quote (TEE type 0x81) that parses. */
  | 'quote_format'
  /** The TD's DEBUG attribute is clear. */
  | 'debug_off'
  /** REPORTDATA = signing address ‖ 12 zero bytes ‖ nonce (raw, or SHA-256 of it: recorded). */
  | 'report_data'
  /** DCAP: quote signature, QE report, PCK chain to the trusted root, TCB info and QE identity signatures and freshness. */
  | 'dcap_signature'
  /** Every CRL parses, is signed by its issuer (chained to the root) and is fresh; no certificate in use is revoked. */
  | 'dcap_crl'
  /** The platform's TCB status is accepted by the policy. */
  | 'tcb_status'
  /** mrTd, RTMR0–3 and mrConfigId equal the pinned values (pinned on first use). */
  | 'measurement'
  /** NVIDIA GPU evidence: not verified (only nonce-bound even when it is); reported as skipped. */
  | 'gpu';

export type CheckResult = {
  name: CheckName;
  /** `skipped`: not required at this level (or not implemented, for `gpu`). */
  status: 'pass' | 'fail' | 'skipped';
  /** What was found, for people: never secrets. */
  detail: string;
};

export type TdMeasurements = {
  mrTd: string;
  mrConfigId: string;
  rtmr0: string;
  rtmr1: string;
  rtmr2: string;
  rtmr3: string;
};

export type AttestationReport = {
  /** True when every check required by `level` passed. */
  ok: boolean;
  /** The level asked for. */
  level: AttestationLevel;
  /** The highest level whose checks all passed. */
  achieved: 'none' | AttestationLevel;
  model: string;
  nonce: string;
  checks: CheckResult[];
  /** The enclave key to encrypt to (uncompressed hex, 130 chars), when it parsed. */
  modelPublicKeyHex?: string;
  signingAddress?: string;
  /** How the nonce sits in REPORTDATA[32..64]. */
  reportDataNonce?: 'raw' | 'sha256';
  debug?: boolean;
  tcbStatus?: TcbStatus;
  advisoryIds: string[];
  measurements?: TdMeasurements;
  /** When the `measurement` check failed on a changed pin: which fields changed. */
  measurementChanged?: string[];
  /** Platform family and issuing CA of the PCK certificate (which collateral applies). */
  fmspc?: string;
  ca?: 'platform' | 'processor';
  /** When the collateral used stops being valid (ISO 8601). */
  collateralNextUpdate?: string;
  /** Which response shape was read. */
  shape: 'flat' | 'aci/1';
  tee: { provider?: string; quoteEncoding: 'hex' | 'base64' | 'none' };
};

/** The DCAP collateral `@phala/dcap-qvl` consumes; CRLs and signatures as lowercase hex. */
export type Collateral = {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
};

/** Looks up the collateral for a platform (fmspc, CA); throws `collateral_unavailable` / `collateral_expired`. */
export type CollateralSource = (q: { fmspc: string; ca: 'platform' | 'processor' }) => Promise<Collateral>;

/** Measurement pins, trust on first use. A change is an error until the user re-pins on purpose. */
export interface PinStore {
  get(model: string): Promise<TdMeasurements | undefined>;
  set(model: string, pin: TdMeasurements): Promise<void>;
}

export type VerifyOptions = {
  /** The 32-byte nonce (64 hex) sent with the attestation request. */
  nonce: string;
  model: string;
  /** Default `dcap`. */
  level?: AttestationLevel;
  /** Default the real clock. Tests pin it. */
  now?: Date;
  /** Required for `dcap` and `measured`. */
  collateral?: CollateralSource;
  /** Accepted TCB statuses; default `DEFAULT_ACCEPTED_TCB`. `Revoked` is refused whatever this says. */
  acceptTcb?: readonly TcbStatus[];
  /** Required for `measured`. */
  pins?: PinStore;
};
