import type { Credential } from './credential.js';
import { credentialCommitment } from './credential.js';
import { TreeError } from './errors.js';
import { hashNullifier } from './hashes.js';
import type { SpendWitness } from './prover/prover.js';
import type { MerkleTree } from './tree.js';

/**
 * Everything the circuit needs to spend `credential` from `tree` for a request with
 * hash `requestHash`. The tree must already hold the credential's commitment.
 */
export function buildSpendWitness(credential: Credential, tree: MerkleTree, requestHash: bigint): SpendWitness {
  const commitment = credentialCommitment(credential);
  const leafIndex = tree.indexOf(commitment);
  if (leafIndex < 0) {
    throw new TreeError('leaf_not_found', 'credential is not in the tree yet', {
      details: 'sync the tree from chain events (the purchase may still be unconfirmed)',
    });
  }
  const { siblings, root } = tree.path(leafIndex);
  return {
    root,
    nullifierHash: hashNullifier(credential.nullifier),
    requestHash,
    nullifier: credential.nullifier,
    secret: credential.secret,
    leafIndex,
    siblings,
  };
}
