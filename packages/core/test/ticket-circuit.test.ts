// The v2 flat ticket circuit with real UltraHonk proofs: what it accepts, what it refuses, and that
// protocol/v2-vectors.json (hashes, nullifiers, shares) is exactly what the Noir circuit proves.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIELD_MODULUS,
  MerkleTree,
  ProofError,
  TAG_NF,
  TAG_SLOPE,
  poseidon2Hash,
  TICKET_CIRCUIT_GATES,
  TICKET_CIRCUIT_SIZE,
  accountId,
  buildSpendWitness,
  buildTicketWitness,
  decodeTicketPayload,
  encodeTicketPayload,
  flatAccountLeaf,
  generateCredential,
  credentialCommitment,
  hashNode,
  recoverAccountSecret,
  ticketNullifier,
  ticketShare,
  zeroHashes,
  type FlatAccountTerms,
  type TicketProof,
} from '../src/index.js';
import { PROOF_BYTES, type TicketProver, type TicketWitness } from '../src/prover/index.js';
import { createNodeProvers, createNodeTicketProver } from '../src/node/index.js';

const vectors = JSON.parse(readFileSync(new URL('../../../protocol/v2-vectors.json', import.meta.url), 'utf8')) as {
  accounts: { k: string; id: string; tickets: number; expiryDay: number; leaf: string }[];
  tickets: { k: string; ticket: number; nullifier: string; x: string; y: string }[];
  slash: { k: string; id: string; nullifier: string; x1: string; y1: string; x2: string; y2: string }[];
};

const TODAY = 20_400;
const X = 0x1234_5678_9abcn;

describe('ticket circuit (real UltraHonk proofs)', () => {
  let prover: TicketProver;
  let tree: MerkleTree;
  let account: FlatAccountTerms;
  let witness: TicketWitness;
  let proof: TicketProof;

  beforeAll(async () => {
    prover = await createNodeTicketProver();
    account = { k: BigInt(vectors.accounts[0]!.k), tickets: 5, expiryDay: TODAY + 30 };
    // The account sits among v1 credit leaves and other accounts: one tree for both.
    tree = MerkleTree.fromLeaves([
      credentialCommitment(generateCredential()),
      flatAccountLeaf(accountId(BigInt(vectors.accounts[1]!.k)), 3, TODAY + 2),
      flatAccountLeaf(accountId(account.k), account.tickets, account.expiryDay),
      credentialCommitment(generateCredential()),
    ]);
    witness = buildTicketWitness(account, tree, 2, X, TODAY);
    proof = await prover.prove(witness);
  });
  afterAll(async () => {
    await prover?.destroy();
  });

  const withInputs = (change: Partial<TicketProof['publicInputs']>): TicketProof => ({ proof: proof.proof, publicInputs: { ...proof.publicInputs, ...change } });
  const cannotProve = (w: TicketWitness) => expect(prover.prove(w)).rejects.toThrow(ProofError);

  it('fits 2,048 gates padded', () => {
    expect(TICKET_CIRCUIT_GATES).toBeLessThanOrEqual(2048);
    expect(TICKET_CIRCUIT_SIZE).toBe(2048);
  });

  it('verifies a valid proof with public inputs root, nullifier, x, y, today; nullifier and share per the spec', async () => {
    const { nullifier, y } = ticketShare(account.k, 2, X);
    expect(proof.publicInputs).toEqual({ root: tree.root, nullifier, x: X, y, today: TODAY });
    expect(nullifier).toBe(ticketNullifier(account.k, 2));
    expect(proof.proof.length).toBe(PROOF_BYTES);
    expect(await prover.verify(proof)).toBe(true);
  });

  it('survives the wire payload round trip, which never carries x', async () => {
    const payload = encodeTicketPayload(proof);
    expect(Object.keys(payload).sort()).toEqual(['kind', 'nullifier', 'proof', 'root', 'today', 'v', 'y']);
    const back = decodeTicketPayload(JSON.parse(JSON.stringify(payload)));
    expect(await prover.verify({ proof: back.proof, publicInputs: { ...back.publicInputs, x: X } })).toBe(true);
    expect(() => decodeTicketPayload({ ...payload, x: '0x01' })).toThrow(/malformed/);
    expect(() => decodeTicketPayload({ ...payload, kind: 'metered' })).toThrow(/malformed/);
    expect(() => decodeTicketPayload({ ...payload, today: 1.5 })).toThrow(/malformed/);
  });

  it('rejects the proof under any other public input', async () => {
    expect(await prover.verify(withInputs({ root: tree.root + 1n }))).toBe(false);
    expect(await prover.verify(withInputs({ nullifier: ticketNullifier(account.k, 3) }))).toBe(false);
    expect(await prover.verify(withInputs({ x: X + 1n }))).toBe(false);
    expect(await prover.verify(withInputs({ y: proof.publicInputs.y + 1n }))).toBe(false);
    expect(await prover.verify(withInputs({ today: TODAY - 1 }))).toBe(false);
  });

  it('cannot spend a ticket at or beyond the account size (i >= N)', async () => {
    // Nullifier and share computed honestly for the out-of-range index, so only the range check can fail.
    for (const ticket of [5, 6, 65_535]) {
      const a = poseidon2Hash([TAG_SLOPE, account.k, BigInt(ticket)]);
      const nullifier = poseidon2Hash([TAG_NF, a]);
      const y = (account.k + a * X) % FIELD_MODULUS;
      await cannotProve({ ...witness, ticket, nullifier, y });
    }
  });

  it('cannot spend an expired account, but can on its last day', async () => {
    await cannotProve({ ...witness, today: account.expiryDay + 1 });
    const last = buildTicketWitness(account, tree, 0, X, account.expiryDay);
    expect(await prover.verify(await prover.prove(last))).toBe(true);
  });

  it('cannot prove for x = 0 (the share would be k)', async () => {
    await cannotProve({ ...witness, x: 0n, y: account.k });
  });

  it('cannot prove with a wrong k (or another account\u2019s k)', async () => {
    const other = BigInt(vectors.accounts[1]!.k);
    const share = ticketShare(other, 2, X);
    await cannotProve({ ...witness, k: other, nullifier: share.nullifier, y: share.y });
    await cannotProve({ ...witness, k: account.k + 1n });
  });

  it('cannot claim more tickets or a later expiry than the leaf holds', async () => {
    await cannotProve({ ...witness, tickets: 6 });
    await cannotProve({ ...witness, expiryDay: account.expiryDay + 1 });
  });

  it('cannot present an internal node as the leaf', async () => {
    // Leaves and nodes are hashed under different tags and the circuit hashes exactly TREE_DEPTH
    // levels, so the level-1 node over leaves 2 and 3, given one level up, is not a leaf of the tree.
    const node = hashNode(tree.leaves()[2]!, tree.leaves()[3]!);
    const upper = tree.path(2).siblings.slice(1);
    await cannotProve({ ...witness, leafIndex: 1, siblings: [...upper, zeroHashes()[20]!] });
    expect(node).not.toBe(tree.leaves()[2]);
  });

  it('proves every ticket vector of protocol/v2-vectors.json (TypeScript, Solidity and Noir agree)', async () => {
    for (const [n, a] of vectors.accounts.entries()) {
      const terms = { k: BigInt(a.k), tickets: a.tickets, expiryDay: a.expiryDay };
      const t = MerkleTree.fromLeaves([BigInt(a.leaf)]);
      for (const v of vectors.tickets.filter((t) => t.k === a.k)) {
        const w = buildTicketWitness(terms, t, v.ticket, BigInt(v.x), a.expiryDay - n);
        expect([w.nullifier, w.y]).toEqual([BigInt(v.nullifier), BigInt(v.y)]);
      }
    }
    // One of them end to end through the circuit (the largest account, its last ticket).
    const a = vectors.accounts[2]!;
    const v = vectors.tickets.filter((t) => t.k === a.k).at(-1)!;
    const t = MerkleTree.fromLeaves([BigInt(a.leaf)]);
    const proved = await prover.prove(buildTicketWitness({ k: BigInt(a.k), tickets: a.tickets, expiryDay: a.expiryDay }, t, v.ticket, BigInt(v.x), a.expiryDay));
    expect(proved.publicInputs.nullifier).toBe(BigInt(v.nullifier));
    expect(proved.publicInputs.y).toBe(BigInt(v.y));
  });
});

describe('two shares of one ticket reveal the account secret', () => {
  it('recovers k and the account id from the slash vectors, and nothing from one share twice or tampered evidence', () => {
    for (const v of vectors.slash) {
      const e = { nullifier: BigInt(v.nullifier), x1: BigInt(v.x1), y1: BigInt(v.y1), x2: BigInt(v.x2), y2: BigInt(v.y2) };
      expect(recoverAccountSecret(e)).toMatchObject({ k: BigInt(v.k), id: BigInt(v.id) });
      expect(recoverAccountSecret({ ...e, x2: e.x1, y2: e.y1 })).toBeUndefined();
      expect(recoverAccountSecret({ ...e, y2: e.y2 + 1n })).toBeUndefined();
      expect(recoverAccountSecret({ ...e, nullifier: e.nullifier + 1n })).toBeUndefined();
    }
  });

  it('shares of different tickets of one account reveal nothing (different nullifiers, different slopes)', () => {
    const k = BigInt(vectors.accounts[0]!.k);
    const s0 = ticketShare(k, 0, 11n);
    const s1 = ticketShare(k, 1, 22n);
    expect(s0.nullifier).not.toBe(s1.nullifier);
    expect(recoverAccountSecret({ nullifier: s0.nullifier, x1: 11n, y1: s0.y, x2: 22n, y2: s1.y })).toBeUndefined();
  });
});

describe('one bb backend for both circuits', () => {
  it('verifies a credit proof and a ticket proof on the same backend, each only under its own key', async () => {
    const provers = await createNodeProvers();
    try {
      const credential = generateCredential();
      const account = { k: 77n, tickets: 2, expiryDay: TODAY };
      const tree = MerkleTree.fromLeaves([credentialCommitment(credential), flatAccountLeaf(accountId(account.k), account.tickets, account.expiryDay)]);
      const spend = await provers.credit.prove(buildSpendWitness(credential, tree, X));
      const ticket = await provers.ticket.prove(buildTicketWitness(account, tree, 1, X, TODAY));
      expect(await provers.credit.verify(spend)).toBe(true);
      expect(await provers.ticket.verify(ticket)).toBe(true);
      // A ticket proof is no credit proof (other key, other public inputs) and the other way round.
      expect(await provers.credit.verify({ proof: ticket.proof, publicInputs: { root: tree.root, nullifierHash: ticket.publicInputs.nullifier, requestHash: X } })).toBe(false);
      expect(await provers.ticket.verify({ proof: spend.proof, publicInputs: { root: tree.root, nullifier: spend.publicInputs.nullifierHash, x: X, y: 1n, today: TODAY } })).toBe(false);
    } finally {
      await provers.destroy();
    }
  });
});
