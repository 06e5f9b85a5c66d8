import { base64 } from '@scure/base';
import { z } from 'zod';
import { ZkCreditsError } from '../errors.js';
import { parseField, toFieldHex, type FieldHex } from '../field.js';
import { PROOF_BYTES } from '../prover/settings.js';

/** Public inputs of a flat ticket proof, in circuit order (`x` is the request hash, recomputed by the server). */
export type TicketPublicInputs = { root: bigint; nullifier: bigint; x: bigint; y: bigint; today: number };

/** A ticket proof as produced and verified. */
export type TicketProof = { proof: Uint8Array; publicInputs: TicketPublicInputs };

/** The v2 `zkcredits` body member (PROTOCOL.md, "Protocol v2: wire format"); `x` is never sent. */
export type TicketPayload = { v: 2; kind: 'flat'; proof: string; root: FieldHex; nullifier: FieldHex; y: FieldHex; today: number };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const payloadSchema = z.strictObject({
  v: z.literal(2),
  kind: z.literal('flat'),
  proof: z.string().max(Math.ceil(PROOF_BYTES / 3) * 4).regex(BASE64),
  root: z.string(),
  nullifier: z.string(),
  y: z.string(),
  today: z.number().int().min(0).max(2 ** 32 - 1),
});

/** True when a `zkcredits` member claims protocol v2 (`v: 2`); v1 payloads have no `v`. */
export function isTicketPayload(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { v?: unknown }).v === 2;
}

export function encodeTicketPayload({ proof, publicInputs }: TicketProof): TicketPayload {
  return {
    v: 2,
    kind: 'flat',
    proof: base64.encode(proof),
    root: toFieldHex(publicInputs.root),
    nullifier: toFieldHex(publicInputs.nullifier),
    y: toFieldHex(publicInputs.y),
    today: publicInputs.today,
  };
}

/** Parses an untrusted v2 payload; field elements must be canonical. */
export function decodeTicketPayload(value: unknown): Omit<TicketProof, 'publicInputs'> & { publicInputs: Omit<TicketPublicInputs, 'x'> } {
  const parsed = payloadSchema.safeParse(value);
  if (!parsed.success) {
    throw new ZkCreditsError('invalid_proof', 'malformed zkcredits v2 ticket payload', {
      details: 'expected {"v": 2, "kind": "flat", "proof": base64, "root", "nullifier", "y": 0x…64 hex, "today": UTC day number} and nothing else',
    });
  }
  const { data } = parsed;
  const root = parseField(data.root, 'root');
  const nullifier = parseField(data.nullifier, 'nullifier');
  const y = parseField(data.y, 'y');
  let proof: Uint8Array;
  try {
    proof = base64.decode(data.proof);
  } catch (cause) {
    throw new ZkCreditsError('invalid_proof', 'proof is not base64', {
      details: 'expected RFC 4648 base64 with padding',
      cause,
    });
  }
  if (proof.length !== PROOF_BYTES) {
    throw new ZkCreditsError('invalid_proof', 'proof has the wrong length', { details: `expected ${PROOF_BYTES} bytes, got ${proof.length}` });
  }
  return { proof, publicInputs: { root, nullifier, y, today: data.today } };
}
