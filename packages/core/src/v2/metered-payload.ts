import { base64 } from '@scure/base';
import { z } from 'zod';
import { ZkCreditsError } from '../errors.js';
import { parseField, toFieldHex, type FieldHex } from '../field.js';
import { PROOF_BYTES } from '../prover/settings.js';
import type { StatePublicKey } from './state-key.js';

/**
 * Public inputs of a metered proof, in circuit order: `x` is recomputed by the server; `cMax` and
 * `stateKey` come from the deployment (contract), never from the client.
 */
export type MeteredPublicInputs = {
  root: bigint;
  nullifier: bigint;
  x: bigint;
  y: bigint;
  cMax: number;
  stateKey: StatePublicKey;
  today: number;
  cmNew: bigint;
};

/** A metered proof as produced and verified. */
export type MeteredProof = { proof: Uint8Array; publicInputs: MeteredPublicInputs };

/** The metered `zkcredits` body member (PROTOCOL.md, "Protocol v2, step 2: wire"); x, C_max and the key are never sent. */
export type MeteredPayload = { v: 2; kind: 'metered'; proof: string; root: FieldHex; nullifier: FieldHex; y: FieldHex; today: number; cm_new: FieldHex };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const payloadSchema = z.strictObject({
  v: z.literal(2),
  kind: z.literal('metered'),
  proof: z.string().max(Math.ceil(PROOF_BYTES / 3) * 4).regex(BASE64),
  root: z.string(),
  nullifier: z.string(),
  y: z.string(),
  today: z.number().int().min(0).max(2 ** 32 - 1),
  cm_new: z.string(),
});

/** True when a v2 `zkcredits` member claims the metered kind. */
export function isMeteredPayload(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { v?: unknown }).v === 2 && (value as { kind?: unknown }).kind === 'metered';
}

export function encodeMeteredPayload({ proof, publicInputs: p }: MeteredProof): MeteredPayload {
  return {
    v: 2,
    kind: 'metered',
    proof: base64.encode(proof),
    root: toFieldHex(p.root),
    nullifier: toFieldHex(p.nullifier),
    y: toFieldHex(p.y),
    today: p.today,
    cm_new: toFieldHex(p.cmNew),
  };
}

/** Parses an untrusted metered payload; field elements must be canonical. */
export function decodeMeteredPayload(value: unknown): {
  proof: Uint8Array;
  publicInputs: Pick<MeteredPublicInputs, 'root' | 'nullifier' | 'y' | 'today' | 'cmNew'>;
} {
  const parsed = payloadSchema.safeParse(value);
  if (!parsed.success) {
    throw new ZkCreditsError('invalid_proof', 'malformed zkcredits v2 metered payload', {
      details: 'expected {"v": 2, "kind": "metered", "proof": base64, "root", "nullifier", "y", "cm_new": 0x…64 hex, "today": UTC day number} and nothing else',
    });
  }
  const { data } = parsed;
  let proof: Uint8Array;
  try {
    proof = base64.decode(data.proof);
  } catch (cause) {
    throw new ZkCreditsError('invalid_proof', 'proof is not base64', { details: 'expected RFC 4648 base64 with padding', cause });
  }
  if (proof.length !== PROOF_BYTES) {
    throw new ZkCreditsError('invalid_proof', 'proof has the wrong length', { details: `expected ${PROOF_BYTES} bytes, got ${proof.length}` });
  }
  return {
    proof,
    publicInputs: {
      root: parseField(data.root, 'root'),
      nullifier: parseField(data.nullifier, 'nullifier'),
      y: parseField(data.y, 'y'),
      today: data.today,
      cmNew: parseField(data.cm_new, 'cm_new'),
    },
  };
}
