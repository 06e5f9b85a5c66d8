// What the sim is: its options, models, enclave and authority keys, recorded requests and
// armed faults. Built once by createVeniceSim; routes read it and never hold state of their own.
import { p256 } from '@noble/curves/nist.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { generateKeyPair, keyPairFromSecret, type KeyPair } from '@zkcredits/attest/e2ee';
import { FaultControl } from './faults.js';
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
  /** Fixed P-256 key of the simulated attestation authority (hex); random when absent. */
  authoritySecretKey: hex32.optional(),
  /** Report the enclave as a debug TD (tests that clients reject it). */
  debugEnclave: z.boolean().default(false),
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
  /** P-256 secret key of the simulated attestation authority. */
  authoritySecret: Uint8Array;
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
  const authoritySecret = opts.authoritySecretKey
    ? hexToBytes(opts.authoritySecretKey.replace(/^0x/, ''))
    : p256.utils.randomSecretKey();
  return { opts, models, enclaveKeys, authoritySecret, state: new SimState(opts.maxRecordedRequests), faults: new FaultControl() };
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
