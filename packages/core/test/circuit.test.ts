import { readFileSync, readdirSync } from 'node:fs';
import { Noir } from '@noir-lang/noir_js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MerkleTree,
  ProofError,
  TAG_LEAF,
  TREE_DEPTH,
  buildSpendWitness,
  credentialCommitment,
  generateCredential,
  hashNode,
  hashNullifier,
  poseidon2Hash,
  poseidon2Permutation,
  toFieldHex,
  zeroHashes,
  type Credential,
} from '../src/index.js';
import { PROOF_BYTES, type CreditProver, type SpendProof, type SpendWitness } from '../src/prover/index.js';
import { createNodeProver } from '../src/node/index.js';

const spongeCircuit = JSON.parse(
  readFileSync(new URL('../../../circuits/sponge_check/artifacts/sponge_check.json', import.meta.url), 'utf8'),
);

const circuitsDir = new URL('../../../circuits/', import.meta.url);
const sharedVectors = JSON.parse(readFileSync(new URL('../../../protocol/test-vectors.json', import.meta.url), 'utf8')) as {
  hash: { vectors: { inputs: string[]; output: string }[] };
};

describe('Poseidon2 sponge in Noir', () => {
  it('is one library (circuits/poseidon2) that the credit, ticket and sponge_check circuits depend on', () => {
    for (const name of ['credit', 'ticket', 'sponge_check']) {
      const manifest = readFileSync(new URL(`${name}/Nargo.toml`, circuitsDir), 'utf8');
      expect(manifest).toMatch(/^poseidon2 = \{ path = "\.\.\/poseidon2" \}$/m);
    }
    expect(readFileSync(new URL('poseidon2/Nargo.toml', circuitsDir), 'utf8')).toMatch(/^type = "lib"$/m);
    // No circuit keeps its own copy of the sponge: the only Noir `fn hash` is the library's.
    const definitions = readdirSync(circuitsDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.nr'))
      .filter((file) => /\bfn hash\s*</.test(readFileSync(new URL(file, circuitsDir), 'utf8')));
    expect(definitions).toEqual(['poseidon2/src/lib.nr']);
  });

  it('matches the bb.js sponge vectors of protocol/test-vectors.json for every input length 1 to 8', async () => {
    // Length 0 is left out: no circuit hashes an empty input.
    const lengths = [1, 2, 3, 4, 5, 6, 7, 8] as const;
    const vectors = lengths.map((n) => sharedVectors.hash.vectors[n]!);
    vectors.forEach((v, i) => expect(v.inputs).toHaveLength(lengths[i]!));
    const inputs = Object.fromEntries(vectors.map((v, i) => [`in${lengths[i]}`, v.inputs]));
    const expected = vectors.map((v) => v.output);
    const noir = new Noir(spongeCircuit);
    await expect(noir.execute({ ...inputs, expected })).resolves.toBeDefined();
    for (const wrong of [0, 7]) {
      const altered = expected.map((x, i) => (i === wrong ? toFieldHex(BigInt(x) + 1n) : x));
      await expect(noir.execute({ ...inputs, expected: altered })).rejects.toThrow();
    }
  });

  it('is one permutation of [a, b, c, 3·2^64] for three inputs (PROTOCOL.md)', () => {
    const [a, b, c] = [TAG_LEAF, 11n, 22n];
    expect(poseidon2Hash([a, b, c])).toBe(poseidon2Permutation([a, b, c, 3n << 64n])[0]);
  });
});

describe('credit circuit (real UltraHonk proofs)', () => {
  let prover: CreditProver;
  let credentials: Credential[];
  let tree: MerkleTree;
  let witness: SpendWitness;
  let proof: SpendProof;

  beforeAll(async () => {
    prover = await createNodeProver();
    credentials = Array.from({ length: 6 }, generateCredential);
    tree = MerkleTree.fromLeaves(credentials.map(credentialCommitment));
    witness = buildSpendWitness(credentials[5]!, tree, 0xabcdefn);
    proof = await prover.prove(witness);
  });
  afterAll(async () => {
    await prover?.destroy();
  });

  const withInputs = (change: Partial<SpendProof['publicInputs']>): SpendProof => ({
    proof: proof.proof,
    publicInputs: { ...proof.publicInputs, ...change },
  });

  it('verifies a valid proof with the public inputs in order root, nullifier hash, request hash', async () => {
    expect(proof.publicInputs).toEqual({ root: tree.root, nullifierHash: hashNullifier(credentials[5]!.nullifier), requestHash: 0xabcdefn });
    expect(await prover.verify(proof)).toBe(true);
    expect(proof.proof.length).toBe(PROOF_BYTES);
  });

  it('rejects the proof against another root', async () => {
    expect(await prover.verify(withInputs({ root: tree.root + 1n }))).toBe(false);
    const older = MerkleTree.fromLeaves(credentials.slice(0, 5).map(credentialCommitment));
    expect(await prover.verify(withInputs({ root: older.root }))).toBe(false);
  });

  it('rejects the proof with another nullifier hash', async () => {
    expect(await prover.verify(withInputs({ nullifierHash: hashNullifier(credentials[0]!.nullifier) }))).toBe(false);
  });

  it('rejects the proof for another request', async () => {
    expect(await prover.verify(withInputs({ requestHash: 0xabcdeen }))).toBe(false);
  });

  it('rejects a proof with one byte tampered, and garbage of any length', async () => {
    for (const offset of [0, 1000, proof.proof.length - 1]) {
      const tampered = proof.proof.slice();
      tampered[offset] = tampered[offset]! ^ 0x01;
      expect(await prover.verify({ ...proof, proof: tampered })).toBe(false);
    }
    expect(await prover.verify({ ...proof, proof: proof.proof.subarray(0, proof.proof.length - 32) })).toBe(false);
    expect(await prover.verify({ ...proof, proof: new Uint8Array(proof.proof.length) })).toBe(false);
    expect(await prover.verify({ ...proof, proof: new Uint8Array(33) })).toBe(false);
  });

  it('cannot prove with a sibling swapped', async () => {
    const siblings = witness.siblings.slice();
    [siblings[0], siblings[1]] = [siblings[1]!, siblings[0]!];
    await expect(prover.prove({ ...witness, siblings })).rejects.toThrow(ProofError);
  });

  it('cannot prove with a wrong leaf index or a foreign credential', async () => {
    await expect(prover.prove({ ...witness, leafIndex: 4 })).rejects.toThrow(ProofError);
    await expect(prover.prove({ ...witness, secret: witness.secret + 1n })).rejects.toThrow(ProofError);
  });

  it('cannot present an internal node as a leaf', async () => {
    // The known forgery against single-hash, variable-depth trees: take the level-1 node
    // N = H(l, r) over leaves 0 and 1, claim (nullifier, secret) = (l, r), and prove
    // membership of N one level up. Here leaves and nodes are hashed under different tags,
    // and the circuit always hashes exactly TREE_DEPTH levels, so the statement is false.
    const [l, r] = [tree.leaves()[0]!, tree.leaves()[1]!];
    const node = hashNode(l, r);
    const zeros = zeroHashes();
    const upper = tree.path(0).siblings.slice(1); // siblings of N at levels 1..DEPTH-1
    const forged: SpendWitness = {
      ...witness,
      nullifier: l,
      secret: r,
      nullifierHash: hashNullifier(l),
      leafIndex: 0,
      // pad the path to TREE_DEPTH by pretending N is a leaf with an empty sibling
      siblings: [zeros[0]!, ...upper].slice(0, TREE_DEPTH),
    };
    expect(poseidon2Hash([TAG_LEAF, l, r])).not.toBe(node);
    await expect(prover.prove(forged)).rejects.toThrow(ProofError);
  });
});
