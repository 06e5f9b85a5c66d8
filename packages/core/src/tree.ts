import { TREE_DEPTH } from './generated/constants.js';
import { TreeError } from './errors.js';
import { assertField } from './field.js';
import { hashNode, zeroHashes } from './hashes.js';

/** Merkle path of one leaf: sibling at each level, bottom up. */
export type MerklePath = {
  leafIndex: number;
  leaf: bigint;
  siblings: bigint[];
  root: bigint;
};

const CAPACITY = 2 ** TREE_DEPTH;

/**
 * Client/server mirror of the on-chain incremental tree (depth `TREE_DEPTH`).
 * Keeps every level so paths are O(depth); a batch hashes each changed parent once.
 */
export class MerkleTree {
  /** layers[0] are the leaves; layers[l][j] is node j at level l (partially filled nodes use zero hashes). */
  private readonly layers: bigint[][] = Array.from({ length: TREE_DEPTH + 1 }, () => []);
  private readonly indexByLeaf = new Map<bigint, number>();

  /** Builds a tree from leaves in insertion order. */
  static fromLeaves(leaves: readonly bigint[]): MerkleTree {
    const tree = new MerkleTree();
    tree.insertMany(leaves);
    return tree;
  }

  get size(): number {
    return this.layers[0]!.length;
  }

  get root(): bigint {
    return this.size === 0 ? zeroHashes()[TREE_DEPTH]! : this.layers[TREE_DEPTH]![0]!;
  }

  /** Leaves `from` up to (not including) `to`, default the end: copies only that range. */
  leaves(from = 0, to?: number): readonly bigint[] {
    return this.layers[0]!.slice(from, to);
  }

  /** Index of a commitment, or -1. The first occurrence wins if a commitment repeats. */
  indexOf(leaf: bigint): number {
    return this.indexByLeaf.get(leaf) ?? -1;
  }

  insert(leaf: bigint): number {
    return this.insertMany([leaf]);
  }

  /** Appends leaves; returns the index of the first. */
  insertMany(leaves: readonly bigint[]): number {
    const start = this.size;
    if (leaves.length === 0) return start;
    if (start + leaves.length > CAPACITY) {
      throw new TreeError('tree_full', 'the tree is full', {
        details: `${start} leaves + ${leaves.length} new > capacity ${CAPACITY}`,
      });
    }
    const base = this.layers[0]!;
    for (const [i, leaf] of leaves.entries()) {
      assertField(leaf, 'leaf');
      base.push(leaf);
      if (!this.indexByLeaf.has(leaf)) this.indexByLeaf.set(leaf, start + i);
    }
    this.rehash(start, start + leaves.length - 1);
    return start;
  }

  /** Drops every leaf from `size` on (chain reorgs) and restores the matching root. */
  truncate(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.size) {
      throw new TreeError('invalid_leaf_index', 'cannot truncate the tree to that size', {
        details: `size ${size}, tree has ${this.size} leaves`,
      });
    }
    if (size === this.size) return;
    for (const leaf of this.layers[0]!.slice(size)) {
      if (this.indexByLeaf.get(leaf)! >= size) this.indexByLeaf.delete(leaf);
    }
    for (let level = 0; level <= TREE_DEPTH; level++) {
      this.layers[level]!.length = size === 0 ? 0 : ((size - 1) >> level) + 1;
    }
    if (size > 0) this.rehash(size - 1, size - 1);
  }

  /** Merkle path of the leaf at `leafIndex` against the current root. */
  path(leafIndex: number): MerklePath {
    if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= this.size) {
      throw new TreeError('invalid_leaf_index', 'no leaf at that index', {
        details: `index ${leafIndex}, tree has ${this.size} leaves`,
      });
    }
    const zeros = zeroHashes();
    const siblings: bigint[] = [];
    let index = leafIndex;
    for (let level = 0; level < TREE_DEPTH; level++) {
      siblings.push(this.layers[level]![index ^ 1] ?? zeros[level]!);
      index >>= 1;
    }
    return { leafIndex, leaf: this.layers[0]![leafIndex]!, siblings, root: this.root };
  }

  /** Recomputes the parents of leaves lo..hi level by level, each parent once. */
  private rehash(lo: number, hi: number): void {
    const zeros = zeroHashes();
    for (let level = 0; level < TREE_DEPTH; level++) {
      const nodes = this.layers[level]!;
      const parents = this.layers[level + 1]!;
      lo >>= 1;
      hi >>= 1;
      for (let j = lo; j <= hi; j++) {
        parents[j] = hashNode(nodes[2 * j]!, nodes[2 * j + 1] ?? zeros[level]!);
      }
    }
  }
}

/** Recomputes a root from a leaf and its path (what the circuit checks). */
export function rootFromPath(leaf: bigint, leafIndex: number, siblings: readonly bigint[]): bigint {
  let node = leaf;
  let index = leafIndex;
  for (const sibling of siblings) {
    node = index & 1 ? hashNode(sibling, node) : hashNode(node, sibling);
    index >>= 1;
  }
  return node;
}
