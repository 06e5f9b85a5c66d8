import { TREE_DEPTH } from '../generated/constants.js';
import { TICKET_CIRCUIT_SIZE, TICKET_VK_BASE64, TICKET_VK_SHA256, ticketCircuit } from '../generated/ticket-circuit.js';
import { ProofError } from '../errors.js';
import { toFieldHex } from '../field.js';
import type { TicketProof, TicketPublicInputs } from '../v2/ticket-payload.js';
import type { BackendKind } from './backend.js';
import { PinnedCircuit, type CreateProverParameters } from './pinned.js';

/** Private and public inputs of one flat ticket (PROTOCOL.md, "Protocol v2: the ticket statement"). */
export type TicketWitness = TicketPublicInputs & {
  k: bigint;
  tickets: number;
  expiryDay: number;
  ticket: number;
  leafIndex: number;
  siblings: readonly bigint[];
};

/** CRS points the ticket circuit needs (padded size + 1). */
export const TICKET_CRS_POINTS = TICKET_CIRCUIT_SIZE + 1;

const TICKET = { name: 'ticket', program: ticketCircuit, size: TICKET_CIRCUIT_SIZE, vkBase64: TICKET_VK_BASE64, vkSha256: TICKET_VK_SHA256 };

/** Proves and verifies v2 flat tickets with UltraHonk against the pinned ticket verification key. */
export class TicketProver {
  private constructor(private readonly circuit: PinnedCircuit) {}

  get kind(): BackendKind {
    return this.circuit.kind;
  }

  static async create(params: CreateProverParameters): Promise<TicketProver> {
    return new TicketProver(await PinnedCircuit.create(TICKET, params));
  }

  /** Executes the circuit (fails fast on inputs that do not satisfy it) and proves. */
  async prove(w: TicketWitness): Promise<TicketProof> {
    if (w.siblings.length !== TREE_DEPTH) {
      throw new ProofError('proof_failed', 'wrong number of siblings', { details: `expected ${TREE_DEPTH}, got ${w.siblings.length}` });
    }
    const { proof, publicInputs } = await this.circuit.prove(
      {
        root: toFieldHex(w.root),
        nullifier: toFieldHex(w.nullifier),
        x: toFieldHex(w.x),
        y: toFieldHex(w.y),
        today: toFieldHex(BigInt(w.today)),
        k: toFieldHex(w.k),
        tickets: toFieldHex(BigInt(w.tickets)),
        expiry: toFieldHex(BigInt(w.expiryDay)),
        i: toFieldHex(BigInt(w.ticket)),
        leaf_index: toFieldHex(BigInt(w.leafIndex)),
        siblings: w.siblings.map((s) => toFieldHex(s)),
      },
      'the account is not in the tree with that root, the ticket is outside the account, the account expired, x is zero, or the nullifier or share is wrong',
    );
    const [root, nullifier, x, y, today] = publicInputs;
    return { proof, publicInputs: { root: root!, nullifier: nullifier!, x: x!, y: y!, today: Number(today!) } };
  }

  /** True iff `proof` verifies for these public inputs under the pinned key; see `CreditProver.verify`. */
  async verify({ proof, publicInputs: p }: TicketProof): Promise<boolean> {
    return this.circuit.verify(proof, [p.root, p.nullifier, p.x, p.y, BigInt(p.today)]);
  }

  async destroy(): Promise<void> {
    await this.circuit.destroy();
  }
}
