// What the sim is: its options, models, enclave keys, attestation PKI, recorded requests and
// receipts, armed faults. Built once by createVeniceSim; routes read it and never hold state of their own.
import { hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { generateKeyPair, keyPairFromSecret, type KeyPair } from '@zkcredits/attest/e2ee';
import { createTestPki, type TestPki } from '@zkcredits/attest/testing';
import { AttestationFaultControl, type AttestationFaults } from './attestation-faults.js';
import { FaultControl } from './faults.js';
import { ReceiptStore } from './receipts.js';
import { DEFAULT_MODELS, type SimModel } from './models.js';
import { SimState } from './state.js';

const hex32 = z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'expected 32 bytes as 64 hex chars');

const optionsSchema = z.object({
  /** The only accepted `Authorization: Bearer <apiKey>`. */
  apiKey: z.string().min(1, 'apiKey is required: the sim checks Authorization: Bearer <apiKey>'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  models: z.array(z.custom<SimModel>((v) => typeof v === 'object' && v !== null && 'id' in v)).optional(),
  /** Fixed secp256k1 enclave keys per TEE model id (hex); random when absent. */
  enclaveSecretKeys: z.record(z.string(), hex32).default({}),
  /** Makes the attestation PKI (root CA, PCK chain, TCB signer) and the QE attestation key deterministic. */
  attestationSeed: z.string().min(1).optional(),
  /** Encoding of the quote in attestation responses (Venice's docs say base64; real gateways send hex). */
  quoteEncoding: z.enum(['hex', 'base64']).default('hex'),
  /** `flat`: Venice's documented fields. `aci/1`: the gateway envelope (`api_version`, `attestation.evidence`). */
  attestationShape: z.enum(['flat', 'aci/1']).default('flat'),
  /** Attestation faults armed at start (see `AttestationFaults`); `sim.attestationFaults` changes them later. */
  attestationFaults: z.custom<AttestationFaults>((v) => typeof v === 'object' && v !== null).default({}),
  /** Report the enclave as a debug TD, as an honest Venice would: DEBUG bit set, `verified: false`, negative `server_verification`. */
  debugEnclave: z.boolean().default(false),
  /** The sim's clock for attestation timestamps and collateral freshness (tests pin it). */
  now: z.custom<() => Date>((v) => typeof v === 'function').optional(),
  /** Completions remembered for `/tee/signature` (oldest forgotten first). */
  maxReceipts: z.number().int().positive().default(1000),
  /** Honour the `x-sim-fault` request header (state faults always work). */
  allowFaultHeader: z.boolean().default(true),
  maxRecordedRequests: z.number().int().positive().default(100),
  maxBodyBytes: z.number().int().positive().default(4 * 1024 * 1024),
  /** Requests per minute advertised in x-ratelimit-* headers. */
  rateLimitRequests: z.number().int().positive().default(500),
  rateLimitTokens: z.number().int().positive().default(1_000_000),
});

export type VeniceSimOptions = z.input<typeof optionsSchema>;

export interface SimContext {
  opts: z.output<typeof optionsSchema>;
  models: Map<string, SimModel>;
  /** secp256k1 key pair of each TEE model's enclave. */
  enclaveKeys: Map<string, KeyPair>;
  /** The test DCAP PKI quotes chain to (its root is `sim.attestationRootCaDer`). */
  pki: TestPki;
  /** P-256 attestation key of the simulated quoting enclave. */
  attestationKey: Uint8Array;
  attestationFaults: AttestationFaultControl;
  /** Completed TEE chats, by completion id, for `/tee/signature`. */
  receipts: ReceiptStore;
  now: () => Date;
  state: SimState;
  faults: FaultControl;
}

export function createContext(options: VeniceSimOptions): SimContext {
  const opts = optionsSchema.parse(options);
  const models = new Map((opts.models ?? DEFAULT_MODELS).map((m) => [m.id, m]));
  const enclaveKeys = new Map<string, KeyPair>();
  for (const m of models.values()) {
    if (!m.tee) continue;
    const fixed = opts.enclaveSecretKeys[m.id];
    enclaveKeys.set(m.id, fixed ? keyPairFromSecret(hexToBytes(fixed.replace(/^0x/, ''))) : generateKeyPair());
  }
  const pki = createTestPki(opts.attestationSeed ? { seed: opts.attestationSeed } : {});
  const initialFaults: AttestationFaults = opts.debugEnclave
    ? { debug: true, serverVerdictFalse: true, negativeServerVerification: true, ...opts.attestationFaults }
    : opts.attestationFaults;
  return {
    opts,
    models,
    enclaveKeys,
    pki,
    attestationKey: pki.deriveSecretKey('attestation-key'),
    attestationFaults: new AttestationFaultControl(initialFaults),
    receipts: new ReceiptStore(opts.maxReceipts),
    now: opts.now ?? (() => new Date()),
    state: new SimState(opts.maxRecordedRequests),
    faults: new FaultControl(),
  };
}

/** Venice's x-ratelimit-* and balance headers (`remaining` = 0 on a simulated 429). */
export function rateLimitHeaders(ctx: SimContext, remaining?: number): Record<string, string> {
  const { opts, state } = ctx;
  const now = Math.floor(Date.now() / 1000);
  const used = state.chatRequestCount % opts.rateLimitRequests;
  return {
    'x-ratelimit-limit-requests': String(opts.rateLimitRequests),
    'x-ratelimit-remaining-requests': String(remaining ?? opts.rateLimitRequests - used),
    'x-ratelimit-reset-requests': String(now - (now % 60) + 60),
    'x-ratelimit-limit-tokens': String(opts.rateLimitTokens),
    'x-ratelimit-remaining-tokens': String(remaining === 0 ? 0 : opts.rateLimitTokens),
    'x-ratelimit-reset-tokens': String(60 - (now % 60)),
    // Venice reports the account's balance on every answer (operator data, never for clients).
    'x-venice-balance-usd': '1234.56',
    'x-venice-balance-diem': '99.5',
  };
}
