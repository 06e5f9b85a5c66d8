import { describe, expect, it } from 'vitest';
import { MerkleTree, TREE_DEPTH, TreeError, hashNode, rootFromPath, zeroHashes } from '../src/index.js';

const leaves = (n: number, offset = 1) => Array.from({ length: n }, (_, i) => BigInt(i + offset) * 7919n);

/** Reference root: hash the full level lists bottom-up, padding with zero hashes. */
function naiveRoot(values: bigint[]): bigint {
  const zeros = zeroHashes();
  let level = values.slice();
  for (let l = 0; l < TREE_DEPTH; l++) {
    const next: bigint[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashNode(level[i]!, level[i + 1] ?? zeros[l]!));
    level = next;
  }
  return level[0] ?? zeros[TREE_DEPTH]!;
}

describe('MerkleTree', () => {
  it('has the empty-subtree hash as the root of an empty tree', () => {
    const zeros = zeroHashes();
    expect(zeros).toHaveLength(TREE_DEPTH + 1);
    expect(zeros[0]).toBe(0n);
    expect(zeros[1]).toBe(hashNode(0n, 0n));
    expect(new MerkleTree().root).toBe(zeros[TREE_DEPTH]);
  });

  it('gives the same root for batches of any shape as a naive full recomputation', () => {
    const all = leaves(77);
    const tree = new MerkleTree();
    let inserted = 0;
    for (const size of [1, 2, 5, 1, 16, 3, 32, 17]) {
      tree.insertMany(all.slice(inserted, inserted + size));
      inserted += size;
      expect(tree.root).toBe(naiveRoot(all.slice(0, inserted)));
    }
    expect(tree.size).toBe(77);
  });

  it('produces paths that fold back to the root', () => {
    const tree = MerkleTree.fromLeaves(leaves(13));
    for (const index of [0, 1, 6, 12]) {
      const path = tree.path(index);
      expect(path.siblings).toHaveLength(TREE_DEPTH);
      expect(rootFromPath(path.leaf, index, path.siblings)).toBe(tree.root);
      expect(rootFromPath(path.leaf, index ^ 1, path.siblings)).not.toBe(tree.root);
    }
    expect(() => tree.path(13)).toThrow(TreeError);
  });

  it('finds leaves by commitment', () => {
    const values = leaves(9);
    const tree = MerkleTree.fromLeaves(values);
    expect(tree.indexOf(values[4]!)).toBe(4);
    expect(tree.indexOf(123n)).toBe(-1);
  });

  it('restores earlier roots when truncated (reorgs)', () => {
    const values = leaves(40);
    const tree = MerkleTree.fromLeaves(values.slice(0, 21));
    const rootAt21 = tree.root;
    tree.insertMany(values.slice(21));
    tree.truncate(21);
    expect(tree.root).toBe(rootAt21);
    expect(tree.indexOf(values[30]!)).toBe(-1);
    tree.truncate(0);
    expect(tree.root).toBe(zeroHashes()[TREE_DEPTH]);
    tree.insertMany(values);
    expect(tree.root).toBe(naiveRoot(values));
  });

  it('rejects leaves that are not field elements', () => {
    expect(() => new MerkleTree().insert(-1n)).toThrow();
  });
});
