import { describe, expect, it } from 'vitest';
import { decodeProofPayload, encodeProofPayload, isZkCreditsError } from '../src/index.js';
import { PROOF_BYTES } from '../src/prover/settings.js';

// A proof-sized byte string covering every byte value.
const proof = Uint8Array.from({ length: PROOF_BYTES }, (_, i) => (i * 131 + 7) % 256);
const publicInputs = { root: 0x1234n, nullifierHash: 0xabcdn, requestHash: 0n };

const invalidProof = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isZkCreditsError(error, 'invalid_proof');
  }
  return false;
};

describe('proof payload (the zkcredits body member)', () => {
  it('writes the proof as standard padded base64, byte for byte what Node writes', () => {
    const payload = encodeProofPayload({ proof, publicInputs });
    expect(payload.proof).toBe(Buffer.from(proof).toString('base64'));
    expect(payload.proof.endsWith('==')).toBe(true); // 14,656 bytes: one byte in the last group
    expect(payload).toEqual({
      proof: payload.proof,
      root: '0x' + '1234'.padStart(64, '0'),
      nullifier_hash: '0x' + 'abcd'.padStart(64, '0'),
    });
  });

  it('reads back the bytes and the public inputs it wrote', () => {
    const decoded = decodeProofPayload(encodeProofPayload({ proof, publicInputs }));
    expect(decoded).toEqual({ proof, root: 0x1234n, nullifierHash: 0xabcdn });
  });

  it('refuses text that is not base64 (a lone trailing character) as invalid_proof, not a platform exception', () => {
    const { root, nullifier_hash } = encodeProofPayload({ proof, publicInputs });
    expect(invalidProof(() => decodeProofPayload({ proof: 'A', root, nullifier_hash }))).toBe(true);
    expect(invalidProof(() => decodeProofPayload({ proof: '!!!', root, nullifier_hash }))).toBe(true);
  });

  it('refuses a proof of the wrong length', () => {
    const { root, nullifier_hash } = encodeProofPayload({ proof, publicInputs });
    const short = Buffer.from(proof.subarray(1)).toString('base64');
    expect(invalidProof(() => decodeProofPayload({ proof: short, root, nullifier_hash }))).toBe(true);
  });
});
