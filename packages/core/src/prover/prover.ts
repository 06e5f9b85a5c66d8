import { TREE_DEPTH } from '../generated/constants.js';
import { CREDIT_CIRCUIT_SIZE, CREDIT_VK_BASE64, CREDIT_VK_SHA256, creditCircuit } from '../generated/circuit.js';
import { ProofError } from '../errors.js';
import { toFieldHex } from '../field.js';
import type { BackendKind } from './backend.js';
import { PinnedCircuit, type CreateProverParameters } from './pinned.js';
import { PROOF_BYTES, type PublicInputs, type SpendProof } from './settings.js';

/** Private and public inputs of one spend. */
export type SpendWitness = PublicInputs & {
  nullifier: bigint;
  secret: bigint;
  leafIndex: number;
  siblings: readonly bigint[];
};

/** CRS points the credit circuit needs (padded size + 1). */
export const CREDIT_CRS_POINTS = CREDIT_CIRCUIT_SIZE + 1;
export { PROOF_BYTES };
export type { CreateProverParameters };

const CREDIT = { name: 'credit', program: creditCircuit, size: CREDIT_CIRCUIT_SIZE, vkBase64: CREDIT_VK_BASE64, vkSha256: CREDIT_VK_SHA256 };

/**
 * Proves and verifies credit spends with UltraHonk against the pinned verification key.
 * One instance owns one Barretenberg backend (unless given one to share); calls on it are serialised by bb.
 */
export class CreditProver {
  private constructor(private readonly circuit: PinnedCircuit) {}

  get kind(): BackendKind {
    return this.circuit.kind;
  }

  static async create(params: CreateProverParameters): Promise<CreditProver> {
    return new CreditProver(await PinnedCircuit.create(CREDIT, params));
  }

  /** Executes the circuit (fails fast on inputs that do not satisfy it) and proves. */
  async prove(witness: SpendWitness): Promise<SpendProof> {
    if (witness.siblings.length !== TREE_DEPTH) {
      throw new ProofError('proof_failed', 'wrong number of siblings', {
        details: `expected ${TREE_DEPTH}, got ${witness.siblings.length}`,
      });
    }
    const { proof, publicInputs } = await this.circuit.prove(
      {
        root: toFieldHex(witness.root),
        nullifier_hash: toFieldHex(witness.nullifierHash),
        request_hash: toFieldHex(witness.requestHash),
        nullifier: toFieldHex(witness.nullifier),
        secret: toFieldHex(witness.secret),
        leaf_index: toFieldHex(BigInt(witness.leafIndex)),
        siblings: witness.siblings.map((s) => toFieldHex(s)),
      },
      'the credential is not in the tree with that root, or the nullifier hash is wrong',
    );
    const [root, nullifierHash, requestHash] = publicInputs;
    return { proof, publicInputs: { root: root!, nullifierHash: nullifierHash!, requestHash: requestHash! } };
  }

  /**
   * True iff `proof` is a valid proof for these public inputs under the pinned key. Never throws on
   * bad bytes (bb refusing them is `false`).
   * @throws {ZkCreditsError} `backend_failed` when the backend itself fails (its process died, its
   * socket closed): that says nothing about the proof, so it is not `false`.
   */
  async verify({ proof, publicInputs }: SpendProof): Promise<boolean> {
    return this.circuit.verify(proof, [publicInputs.root, publicInputs.nullifierHash, publicInputs.requestHash]);
  }

  async destroy(): Promise<void> {
    await this.circuit.destroy();
  }
}
