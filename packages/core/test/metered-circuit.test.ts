// The v2 metered circuit with real UltraHonk proofs and real Grumpkin Schnorr signatures: a lane's
// state chain from genesis through server-signed states, and every way the issue says it must refuse.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MerkleTree,
  ProofError,
  METERED_CIRCUIT_GATES,
  METERED_CIRCUIT_SIZE,
  accountId,
  buildMeteredWitness,
  credentialCommitment,
  decodeMeteredPayload,
  encodeMeteredPayload,
  flatAccountLeaf,
  generateCredential,
  generateStateSecret,
  meteredAccountLeaf,
  meteredShare,
  meteredTicket,
  signState,
  stateCommitment,
  stateMessage,
  statePublicKey,
  verifyStateSignature,
  type LaneState,
  type MeteredAccountTerms,
  type MeteredProof,
  type MeteredWitness,
  type PendingLaneState,
} from '../src/index.js';
import { PROOF_BYTES, type MeteredProver } from '../src/prover/index.js';
import { createNodeMeteredProver } from '../src/node/index.js';

type Hex = string;
const vectors = (
  JSON.parse(readFileSync(new URL('../../../protocol/v2-vectors.json', import.meta.url), 'utf8')) as {
    metered: {
      stateKey: { x: Hex; y: Hex };
      stateSecret: Hex;
      accounts: { k: Hex; id: Hex; dLane: number; lanesLog2: number; sLane: number; expiryDay: number; leaf: Hex }[];
      tickets: { k: Hex; lane: number; n: number; ticket: string; nullifier: Hex; x: Hex; y: Hex }[];
      states: { k: Hex; opening: { lane: number; balance: number; penalties: number; n: number; salt: Hex }; cm: Hex; r: number; p: number; message: Hex; sig: { rx: Hex; ry: Hex; s: Hex } }[];
    };
  }
).metered;

const TODAY = 20_400;
const C_MAX = 100;
const X = 0x1234_5678_9abcn;
const X2 = 0x9999_0000_1111n;

describe('metered circuit (real UltraHonk proofs, real Schnorr signatures)', () => {
  let prover: MeteredProver;
  let tree: MerkleTree;
  const sk = generateStateSecret();
  const stateKey = statePublicKey(sk);
  const otherSk = generateStateSecret();
  const account: MeteredAccountTerms = { k: 0xabcdef0123n, terms: { dLane: 1_000, lanesLog2: 1, sLane: 50, expiryDay: TODAY + 30 } };
  const poor: MeteredAccountTerms = { k: 0x5555n, terms: { dLane: 150, lanesLog2: 0, sLane: 10, expiryDay: TODAY + 30 } };
  let genesis: { witness: MeteredWitness; next: PendingLaneState };
  let genesisProof: MeteredProof;

  /** What the server does at the end of a call: sign (cm_new, r, p) under `key`. */
  const signed = (next: PendingLaneState, k: bigint, r: number, p: number, key = sk): LaneState => ({
    kind: 'signed',
    opening: next,
    r,
    p,
    sig: signState(key, stateMessage(stateCommitment(k, next), r, p)),
  });
  const call = (x = X) => ({ x, today: TODAY, cMax: C_MAX, stateKey, saltNew: 0x77n });
  /** A witness that claims other private values; nullifier, share and cm_new follow the claim so only the target constraint can fail. */
  const forge = (w: MeteredWitness, change: Partial<MeteredWitness>): MeteredWitness => {
    const v = { ...w, ...change };
    const balance = v.genesis ? v.terms.dLane : v.bPre + v.r;
    const penalties = v.genesis ? 0 : v.pPre + v.p;
    const { nullifier, y } = meteredShare(v.k, v.lane, v.n, v.x);
    const cmNew = stateCommitment(v.k, { lane: v.lane, balance: Math.max(0, balance - v.cMax), penalties, n: v.n + 1, salt: v.saltNew });
    return { ...v, nullifier, y, cmNew };
  };
  const cannotProve = (w: MeteredWitness) => expect(prover.prove(w)).rejects.toThrow(ProofError);

  beforeAll(async () => {
    prover = await createNodeMeteredProver();
    tree = MerkleTree.fromLeaves([
      credentialCommitment(generateCredential()),
      flatAccountLeaf(accountId(0x42n), 3, TODAY + 2),
      meteredAccountLeaf(accountId(account.k), account.terms),
      meteredAccountLeaf(accountId(poor.k), poor.terms),
    ]);
    genesis = buildMeteredWitness(account, tree, { kind: 'genesis', lane: 0 }, call());
    genesisProof = await prover.prove(genesis.witness);
  });
  afterAll(async () => {
    await prover?.destroy();
  });

  it('fits 8,192 gates padded', () => {
    expect(METERED_CIRCUIT_GATES).toBeLessThanOrEqual(8192);
    expect(METERED_CIRCUIT_SIZE).toBe(8192);
  });

  it('proves a genesis call with public inputs root, nullifier, x, y, C_max, pk, today, cm_new', async () => {
    const { nullifier, y } = meteredShare(account.k, 0, 0, X);
    expect(genesisProof.publicInputs).toEqual({ root: tree.root, nullifier, x: X, y, cMax: C_MAX, stateKey, today: TODAY, cmNew: genesis.witness.cmNew });
    expect(genesis.next).toEqual({ lane: 0, balance: 900, penalties: 0, n: 1, salt: 0x77n });
    expect(genesisProof.proof.length).toBe(PROOF_BYTES);
    expect(await prover.verify(genesisProof)).toBe(true);
    const wire = encodeMeteredPayload(genesisProof);
    expect(Object.keys(wire).sort()).toEqual(['cm_new', 'kind', 'nullifier', 'proof', 'root', 'today', 'v', 'y']);
    expect(decodeMeteredPayload(JSON.parse(JSON.stringify(wire))).publicInputs.cmNew).toBe(genesis.witness.cmNew);
  });

  it('chains a signed refund into the next call: B = b_pre + r, the new commitment holds B − C_max', async () => {
    const state = signed(genesis.next, account.k, 30, 0);
    const { witness, next } = buildMeteredWitness(account, tree, state, { ...call(X2), saltNew: 0x88n });
    expect(next).toEqual({ lane: 0, balance: 830, penalties: 0, n: 2, salt: 0x88n });
    const proof = await prover.prove(witness);
    expect(await prover.verify(proof)).toBe(true);
    expect(proof.publicInputs.nullifier).not.toBe(genesisProof.publicInputs.nullifier);
  });

  it('refuses a proof whose public C_max, key or commitment was changed', async () => {
    const p = genesisProof.publicInputs;
    for (const change of [{ cMax: C_MAX - 1 }, { stateKey: statePublicKey(otherSk) }, { cmNew: p.cmNew + 1n }, { today: TODAY + 1 }]) {
      expect(await prover.verify({ proof: genesisProof.proof, publicInputs: { ...p, ...change } })).toBe(false);
    }
  });

  it('refuses a refund above C_max, even one the key signed', async () => {
    const state = signed(genesis.next, account.k, C_MAX + 1, 0);
    const { witness } = buildMeteredWitness(account, tree, signed(genesis.next, account.k, 30, 0), call(X2));
    await cannotProve(forge(witness, { r: C_MAX + 1, sig: (state as Extract<LaneState, { kind: 'signed' }>).sig }));
  });

  it('refuses a state signed under another key, in the client and in the circuit', async () => {
    const forged = signed(genesis.next, account.k, 30, 0, otherSk);
    expect(() => buildMeteredWitness(account, tree, forged, call(X2))).toThrow(expect.objectContaining({ code: 'state_signature_invalid' }));
    const { witness } = buildMeteredWitness(account, tree, signed(genesis.next, account.k, 30, 0), call(X2));
    await cannotProve(forge(witness, { sig: (forged as Extract<LaneState, { kind: 'signed' }>).sig }));
  });

  it('refuses a signed state replayed on another lane or at another position', async () => {
    const { witness } = buildMeteredWitness(account, tree, signed(genesis.next, account.k, 30, 0), call(X2));
    await cannotProve(forge(witness, { lane: 1 }));
    await cannotProve(forge(witness, { n: 2 }));
    await cannotProve(forge(witness, { n: 0 }));
  });

  it('refuses a lane outside the account (lane 2 of 2 lanes) and genesis after position 0', async () => {
    await cannotProve(forge(genesis.witness, { lane: 2 }));
    await cannotProve(forge(genesis.witness, { lane: 7 }));
    await cannotProve(forge(genesis.witness, { n: 1 }));
    // Lane 1 is a real lane: its genesis proves.
    expect(await prover.prove(forge(genesis.witness, { lane: 1 }))).toBeTruthy();
  });

  it('refuses an overdraft: a lane whose balance is below C_max', async () => {
    const first = buildMeteredWitness(poor, tree, { kind: 'genesis', lane: 0 }, call());
    const state = signed(first.next, poor.k, 0, 0); // the first call cost all of C_max: B = 50
    expect(() => buildMeteredWitness(poor, tree, state, call(X2))).toThrow(expect.objectContaining({ code: 'insufficient_balance' }));
    const { witness } = buildMeteredWitness(poor, tree, signed(first.next, poor.k, C_MAX, 0), call(X2));
    await cannotProve(forge(witness, { r: 0, sig: (state as Extract<LaneState, { kind: 'signed' }>).sig }));
  });

  it('freezes a lane whose penalties reach its stake, and not one below it', async () => {
    const frozen = signed(genesis.next, account.k, 30, account.terms.sLane);
    expect(() => buildMeteredWitness(account, tree, frozen, call(X2))).toThrow(expect.objectContaining({ code: 'lane_frozen' }));
    const { witness } = buildMeteredWitness(account, tree, signed(genesis.next, account.k, 30, account.terms.sLane - 1), call(X2));
    expect(await prover.verify(await prover.prove(witness))).toBe(true);
    await cannotProve(forge(witness, { p: account.terms.sLane, sig: (frozen as Extract<LaneState, { kind: 'signed' }>).sig }));
  });

  it('protocol/v2-vectors.json (metered): TS recomputes every value, and the circuit proves the next call from the vector states', async () => {
    const key = { x: BigInt(vectors.stateKey.x), y: BigInt(vectors.stateKey.y) };
    expect(statePublicKey(BigInt(vectors.stateSecret))).toEqual(key);
    for (const a of vectors.accounts) {
      expect(accountId(BigInt(a.k))).toBe(BigInt(a.id));
      expect(meteredAccountLeaf(BigInt(a.id), a)).toBe(BigInt(a.leaf));
    }
    for (const t of vectors.tickets) {
      expect(meteredTicket(t.lane, t.n)).toBe(BigInt(t.ticket));
      expect(meteredShare(BigInt(t.k), t.lane, t.n, BigInt(t.x))).toEqual({ nullifier: BigInt(t.nullifier), y: BigInt(t.y) });
    }
    const vectorTree = MerkleTree.fromLeaves(vectors.accounts.map((a) => BigInt(a.leaf)));
    for (const [i, v] of vectors.states.entries()) {
      const opening = { ...v.opening, salt: BigInt(v.opening.salt) };
      const k = BigInt(v.k);
      expect(stateCommitment(k, opening)).toBe(BigInt(v.cm));
      expect(stateMessage(BigInt(v.cm), v.r, v.p)).toBe(BigInt(v.message));
      const sig = { rx: BigInt(v.sig.rx), ry: BigInt(v.sig.ry), s: BigInt(v.sig.s) };
      expect(verifyStateSignature(key, BigInt(v.message), sig)).toBe(true);
      const a = vectors.accounts[i]!;
      const state: LaneState = { kind: 'signed', opening, r: v.r, p: v.p, sig };
      const vectorCall = { x: X, today: a.expiryDay, cMax: 50_000, stateKey: key, saltNew: 0x99n };
      if (i === 0) {
        expect(await prover.verify(await prover.prove(buildMeteredWitness({ k, terms: a }, vectorTree, state, vectorCall).witness))).toBe(true);
      } else {
        // The second vector spent its lane and was penalised up to its stake: frozen.
        expect(() => buildMeteredWitness({ k, terms: a }, vectorTree, state, vectorCall)).toThrow(expect.objectContaining({ code: 'lane_frozen' }));
      }
    }
  });

  it('signs and verifies Grumpkin Schnorr signatures; any change to message, key or signature fails', () => {
    const m = stateMessage(0x1234n, 5, 0);
    const sig = signState(sk, m);
    expect(verifyStateSignature(stateKey, m, sig)).toBe(true);
    expect(verifyStateSignature(stateKey, stateMessage(0x1234n, 6, 0), sig)).toBe(false);
    expect(verifyStateSignature(statePublicKey(otherSk), m, sig)).toBe(false);
    expect(verifyStateSignature(stateKey, m, { ...sig, s: sig.s + 1n })).toBe(false);
    expect(verifyStateSignature(stateKey, m, { ...sig, rx: sig.rx + 1n })).toBe(false);
    expect(verifyStateSignature({ x: 1n, y: 2n }, m, sig)).toBe(false);
    // Fresh nonces: two signatures of one message differ.
    expect(signState(sk, m).rx).not.toBe(sig.rx);
  });
});
