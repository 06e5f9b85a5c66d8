// Cross-language vectors (protocol/test-vectors.json, produced from bb.js by
// scripts/gen-vectors.ts and also consumed by the forge tests and the Noir circuit test).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MerkleTree,
  TREE_DEPTH,
  hashLeaf,
  hashNode,
  hashNullifier,
  poseidon2Hash,
  poseidon2Permutation,
  zeroHashes,
  credentialCommitment,
  credentialNullifierHash,
  decodeCredential,
  encodeCredential,
  requestDigest,
  requestHash,
  toFieldHex,
} from '../src/index.js';

const v = JSON.parse(readFileSync(new URL('../../../protocol/test-vectors.json', import.meta.url), 'utf8'));
const big = (xs: string[]) => xs.map((x) => BigInt(x));

describe('cross-language vectors', () => {
  it('pins the permutation and the sponge', () => {
    const inputs = big(v.permutation.inputs);
    const outputs = big(v.permutation.outputs);
    for (let i = 0; i < v.permutation.count; i++) {
      const state = inputs.slice(4 * i, 4 * i + 4) as [bigint, bigint, bigint, bigint];
      expect(poseidon2Permutation(state)).toEqual(outputs.slice(4 * i, 4 * i + 4));
    }
    for (const { inputs: xs, output } of v.hash.vectors) expect(poseidon2Hash(big(xs))).toBe(BigInt(output));
  });

  it('pins leaf, node and nullifier hashes', () => {
    for (let i = 0; i < v.hashLeaf.count; i++) {
      expect(hashLeaf(BigInt(v.hashLeaf.nullifier[i]), BigInt(v.hashLeaf.secret[i]))).toBe(BigInt(v.hashLeaf.commitment[i]));
    }
    for (let i = 0; i < v.nullifierHash.count; i++) {
      expect(hashNullifier(BigInt(v.nullifierHash.nullifier[i]))).toBe(BigInt(v.nullifierHash.hash[i]));
    }
    for (let i = 0; i < v.hashNode.count; i++) {
      expect(hashNode(BigInt(v.hashNode.left[i]), BigInt(v.hashNode.right[i]))).toBe(BigInt(v.hashNode.hash[i]));
    }
  });

  it('pins zero hashes and tree roots after each batch', () => {
    expect(v.treeDepth).toBe(TREE_DEPTH);
    expect(zeroHashes()).toEqual(big(v.zeros));
    expect(new MerkleTree().root).toBe(BigInt(v.emptyRoot));
    for (const { batches, leaves, roots } of v.trees.vectors) {
      const tree = new MerkleTree();
      let at = 0;
      batches.forEach((size: number, i: number) => {
        tree.insertMany(big(leaves.slice(at, at + size)));
        at += size;
        expect(tree.root).toBe(BigInt(roots[i]));
      });
    }
  });
});

const client = JSON.parse(readFileSync(new URL('../../../protocol/client-vectors.json', import.meta.url), 'utf8'));

describe('client vectors (protocol/client-vectors.json)', () => {
  it('pins request digests and request hashes', () => {
    for (const r of client.requestHash) {
      expect(toFieldHex(requestHash(r))).toBe(r.requestHash);
      expect('0x' + Buffer.from(requestDigest(r)).toString('hex')).toBe(r.digest);
      expect('0x' + createHash('sha256').update(r.signedText).digest('hex')).toBe(r.digest);
    }
  });

  it('pins the zkc1 text form, commitments and nullifier hashes', () => {
    for (const c of client.credentials) {
      const credential = decodeCredential(c.encoded);
      expect(toFieldHex(credential.nullifier)).toBe(c.nullifier);
      expect(toFieldHex(credential.secret)).toBe(c.secret);
      expect(encodeCredential(credential)).toBe(c.encoded);
      expect(toFieldHex(credentialCommitment(credential))).toBe(c.commitment);
      expect(toFieldHex(credentialNullifierHash(credential))).toBe(c.nullifierHash);
    }
  });
});
