import { TREE_DEPTH } from '../generated/constants.js';
import { METERED_CIRCUIT_SIZE, METERED_VK_BASE64, METERED_VK_SHA256, meteredCircuit } from '../generated/metered-circuit.js';
import { ProofError } from '../errors.js';
import { toFieldHex } from '../field.js';
import type { MeteredProof } from '../v2/metered-payload.js';
import { signatureLimbs } from '../v2/state-key.js';
import type { MeteredWitness } from '../v2/metered-witness.js';
import type { BackendKind } from './backend.js';
import { PinnedCircuit, type CreateProverParameters } from './pinned.js';

/** CRS points the metered circuit needs (padded size + 1). */
export const METERED_CRS_POINTS = METERED_CIRCUIT_SIZE + 1;

const METERED = { name: 'metered', program: meteredCircuit, size: METERED_CIRCUIT_SIZE, vkBase64: METERED_VK_BASE64, vkSha256: METERED_VK_SHA256 };

const f = (v: bigint | number) => toFieldHex(BigInt(v));

/** Public inputs of a metered proof in circuit order. */
export function meteredPublicInputs(p: MeteredProof['publicInputs']): bigint[] {
  return [p.root, p.nullifier, p.x, p.y, BigInt(p.cMax), p.stateKey.x, p.stateKey.y, BigInt(p.today), p.cmNew];
}

/** Proves and verifies v2 metered requests with UltraHonk against the pinned metered verification key. */
export class MeteredProver {
  private constructor(private readonly circuit: PinnedCircuit) {}

  get kind(): BackendKind {
    return this.circuit.kind;
  }

  /** With a shared `backend`, its CRS must hold `METERED_CRS_POINTS` points. */
  static async create(params: CreateProverParameters): Promise<MeteredProver> {
    return new MeteredProver(await PinnedCircuit.create(METERED, params));
  }

  /** Executes the circuit (fails fast on inputs that do not satisfy it) and proves. */
  async prove(w: MeteredWitness): Promise<MeteredProof> {
    if (w.siblings.length !== TREE_DEPTH) {
      throw new ProofError('proof_failed', 'wrong number of siblings', { details: `expected ${TREE_DEPTH}, got ${w.siblings.length}` });
    }
    const { lo, hi } = signatureLimbs(w.sig.s);
    const { proof, publicInputs } = await this.circuit.prove(
      {
        root: f(w.root),
        nullifier: f(w.nullifier),
        x: f(w.x),
        y: f(w.y),
        c_max: f(w.cMax),
        pk_x: f(w.stateKey.x),
        pk_y: f(w.stateKey.y),
        today: f(w.today),
        cm_new: f(w.cmNew),
        k: f(w.k),
        d_lane: f(w.terms.dLane),
        lanes_log2: f(w.terms.lanesLog2),
        s_lane: f(w.terms.sLane),
        expiry: f(w.terms.expiryDay),
        leaf_index: f(w.leafIndex),
        siblings: w.siblings.map((s) => f(s)),
        lane: f(w.lane),
        genesis: w.genesis ? '0x01' : '0x00',
        b_pre: f(w.bPre),
        p_pre: f(w.pPre),
        n: f(w.n),
        salt: f(w.salt),
        r: f(w.r),
        p: f(w.p),
        sig_rx: f(w.sig.rx),
        sig_ry: f(w.sig.ry),
        sig_s_lo: f(lo),
        sig_s_hi: f(hi),
        salt_new: f(w.saltNew),
      },
      'the account is not in the tree with that root, the lane is outside the account, the account expired, the previous state is not signed by this key, the refund exceeds C_max, the lane cannot pay C_max, its penalties reached its stake, x is zero, or the nullifier, share or new commitment is wrong',
    );
    const [root, nullifier, x, y, cMax, pkx, pky, today, cmNew] = publicInputs;
    return {
      proof,
      publicInputs: { root: root!, nullifier: nullifier!, x: x!, y: y!, cMax: Number(cMax!), stateKey: { x: pkx!, y: pky! }, today: Number(today!), cmNew: cmNew! },
    };
  }

  /** True iff `proof` verifies for these public inputs under the pinned key; see `CreditProver.verify`. */
  async verify({ proof, publicInputs }: MeteredProof): Promise<boolean> {
    return this.circuit.verify(proof, meteredPublicInputs(publicInputs));
  }

  async destroy(): Promise<void> {
    await this.circuit.destroy();
  }
}
