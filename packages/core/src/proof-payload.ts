import { base64 } from '@scure/base';
import { z } from 'zod';
import { ZkCreditsError } from './errors.js';
import { parseField, toFieldHex, type FieldHex } from './field.js';
import { PROOF_BYTES, type SpendProof } from './prover/settings.js';

/**
 * The proof as it travels in a request body (`zkcredits` member, see PROTOCOL.md).
 * `request_hash` is not sent: the server recomputes it from the request it received.
 */
export type ProofPayload = { proof: string; root: FieldHex; nullifier_hash: FieldHex };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const payloadSchema = z.strictObject({
  proof: z.string().max(Math.ceil(PROOF_BYTES / 3) * 4).regex(BASE64),
  root: z.string(),
  nullifier_hash: z.string(),
});

export function encodeProofPayload({ proof, publicInputs }: SpendProof): ProofPayload {
  return { proof: base64.encode(proof), root: toFieldHex(publicInputs.root), nullifier_hash: toFieldHex(publicInputs.nullifierHash) };
}

/** Parses an untrusted payload; field elements must be canonical. */
export function decodeProofPayload(value: unknown): { proof: Uint8Array; root: bigint; nullifierHash: bigint } {
  const parsed = payloadSchema.safeParse(value);
  if (!parsed.success) {
    throw new ZkCreditsError('invalid_proof', 'malformed zkcredits proof payload', {
      details: 'expected {"proof": base64, "root": 0x…64 hex, "nullifier_hash": 0x…64 hex} and nothing else',
    });
  }
  const root = parseField(parsed.data.root, 'root');
  const nullifierHash = parseField(parsed.data.nullifier_hash, 'nullifier_hash');
  let proof: Uint8Array;
  try {
    proof = base64.decode(parsed.data.proof);
  } catch (cause) {
    throw new ZkCreditsError('invalid_proof', 'proof is not base64', {
      details: 'expected RFC 4648 base64 with padding, as btoa or Buffer#toString("base64") write it',
      cause,
    });
  }
  if (proof.length !== PROOF_BYTES) {
    throw new ZkCreditsError('invalid_proof', 'proof has the wrong length', {
      details: `expected ${PROOF_BYTES} bytes, got ${proof.length}`,
    });
  }
  return { proof, root, nullifierHash };
}
