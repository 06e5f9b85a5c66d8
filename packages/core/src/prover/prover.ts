import type { Barretenberg } from '@aztec/bb.js';
import { Noir } from '@noir-lang/noir_js';
import { base64 } from '@scure/base';
import { TREE_DEPTH } from '../generated/constants.js';
import { CREDIT_CIRCUIT_SIZE, CREDIT_VK_BASE64, CREDIT_VK_SHA256, creditCircuit } from '../generated/circuit.js';
import { ProofError, ZkCreditsError, findErrorByName } from '../errors.js';
import { fieldToBytes, fieldFromBytes, toFieldHex } from '../field.js';
import { createBackend, type BackendKind, type CrsBytes } from './backend.js';
import { PROOF_BYTES, PROOF_SETTINGS, type PublicInputs, type SpendProof } from './settings.js';

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

export type CreateProverParameters = {
  kind: BackendKind;
  crs?: CrsBytes;
  threads?: number;
  bbPath?: string;
};

async function gunzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Proves and verifies credit spends with UltraHonk against the pinned verification key.
 * One instance owns one Barretenberg backend; calls on it are serialised by bb.
 */
export class CreditProver {
  private noir: Noir | undefined;

  private constructor(
    private readonly api: Barretenberg,
    private readonly bytecode: Uint8Array,
    private readonly vk: Uint8Array,
    readonly kind: BackendKind,
  ) {}

  static async create(params: CreateProverParameters): Promise<CreditProver> {
    const vk = base64.decode(CREDIT_VK_BASE64);
    if ((await sha256Hex(vk)) !== CREDIT_VK_SHA256) {
      throw new ZkCreditsError('vk_mismatch', 'verification key does not match its pinned hash');
    }
    const bytecode = await gunzip(base64.decode(creditCircuit.bytecode));
    const api = await createBackend({ ...params, numPoints: CREDIT_CRS_POINTS });
    return new CreditProver(api, bytecode, vk, params.kind);
  }

  /** Executes the circuit (fails fast on inputs that do not satisfy it) and proves. */
  async prove(witness: SpendWitness): Promise<SpendProof> {
    if (witness.siblings.length !== TREE_DEPTH) {
      throw new ProofError('proof_failed', 'wrong number of siblings', {
        details: `expected ${TREE_DEPTH}, got ${witness.siblings.length}`,
      });
    }
    this.noir ??= new Noir(creditCircuit as never);
    let compressed: Uint8Array;
    try {
      ({ witness: compressed } = await this.noir.execute({
        root: toFieldHex(witness.root),
        nullifier_hash: toFieldHex(witness.nullifierHash),
        request_hash: toFieldHex(witness.requestHash),
        nullifier: toFieldHex(witness.nullifier),
        secret: toFieldHex(witness.secret),
        leaf_index: toFieldHex(BigInt(witness.leafIndex)),
        siblings: witness.siblings.map((s) => toFieldHex(s)),
      }));
    } catch (cause) {
      throw new ProofError('proof_failed', 'inputs do not satisfy the credit circuit', {
        details: 'the credential is not in the tree with that root, or the nullifier hash is wrong',
        cause,
      });
    }
    let proved: Awaited<ReturnType<Barretenberg['circuitProve']>>;
    try {
      proved = await this.api.circuitProve({
        witness: await gunzip(compressed),
        circuit: { name: 'credit', bytecode: this.bytecode, verificationKey: this.vk },
        settings: PROOF_SETTINGS,
      });
    } catch (cause) {
      throw backendError(cause, 'prove');
    }
    const { proof, publicInputs } = proved;
    const flat = new Uint8Array(proof.length * 32);
    proof.forEach((fr, i) => flat.set(fr, i * 32));
    const [root, nullifierHash, requestHash] = publicInputs.map((x) => fieldFromBytes(x));
    return { proof: flat, publicInputs: { root: root!, nullifierHash: nullifierHash!, requestHash: requestHash! } };
  }

  /**
   * True iff `proof` is a valid proof for these public inputs under the pinned key. Never throws on
   * bad bytes (bb refusing them is `false`).
   * @throws {ZkCreditsError} `backend_failed` when the backend itself fails (its process died, its
   * socket closed): that says nothing about the proof, so it is not `false`.
   */
  async verify({ proof, publicInputs }: SpendProof): Promise<boolean> {
    if (!(proof instanceof Uint8Array) || proof.length !== PROOF_BYTES) {
      return false;
    }
    const fields: Uint8Array[] = [];
    for (let i = 0; i < proof.length; i += 32) fields.push(proof.subarray(i, i + 32));
    try {
      const { verified } = await this.api.circuitVerify({
        verificationKey: this.vk,
        publicInputs: [publicInputs.root, publicInputs.nullifierHash, publicInputs.requestHash].map((x) => fieldToBytes(x)),
        proof: fields,
        settings: PROOF_SETTINGS,
      });
      return verified;
    } catch (cause) {
      const error = backendError(cause, 'verify');
      if (error.code === 'proof_failed') return false;
      throw error;
    }
  }

  async destroy(): Promise<void> {
    await this.api.destroy();
  }
}

/**
 * bb answering with an error (`BBApiException`, matched by name: bb.js may be another copy) refused
 * the input: `proof_failed`. Anything else (the process exited, the socket closed) is the backend
 * failing: `backend_failed`.
 */
function backendError(cause: unknown, what: 'prove' | 'verify'): ProofError {
  if (findErrorByName(cause, 'BBApiException')) {
    return new ProofError('proof_failed', `bb refused to ${what} these inputs`, { cause });
  }
  return new ProofError('backend_failed', `the ${what === 'prove' ? 'prover' : 'verifier'} backend failed`, {
    details: cause instanceof Error ? cause.message : String(cause),
    cause,
  });
}
