import { EMPTY_LEAF, TAG_LEAF, TAG_NODE, TAG_NULLIFIER, TREE_DEPTH } from './generated/constants.js';
import { poseidon2Hash } from './poseidon2.js';

/** Leaf commitment `H(TAG_LEAF, nullifier, secret)`. */
export function hashLeaf(nullifier: bigint, secret: bigint): bigint {
  return poseidon2Hash([TAG_LEAF, nullifier, secret]);
}

/** Internal tree node `H(TAG_NODE, left, right)`. */
export function hashNode(left: bigint, right: bigint): bigint {
  return poseidon2Hash([TAG_NODE, left, right]);
}

/** Public nullifier hash `H(TAG_NULLIFIER, nullifier)`. */
export function hashNullifier(nullifier: bigint): bigint {
  return poseidon2Hash([TAG_NULLIFIER, nullifier]);
}

let zeroCache: bigint[] | undefined;

/** Roots of empty subtrees: `zeros[0] = 0`, `zeros[i+1] = hashNode(zeros[i], zeros[i])`; length depth + 1. */
export function zeroHashes(): readonly bigint[] {
  if (!zeroCache) {
    const z = [EMPTY_LEAF];
    for (let i = 0; i < TREE_DEPTH; i++) z.push(hashNode(z[i]!, z[i]!));
    zeroCache = z;
  }
  return zeroCache;
}
