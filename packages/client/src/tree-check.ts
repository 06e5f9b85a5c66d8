/**
 * The chain check of a tree the client is about to prove against: core's `verifyTreeOnChain`
 * (through the client's own RPC, never the API server), with the "never smaller than a tree
 * verified before" floor kept per client.
 */
import { toFieldHex, verifyTreeOnChain, type ChainTreeReader } from '@zkcredits/core';
import type { DeploymentRef } from './records.js';

/** A tree's size and root, as synced from the server. */
export type TreeState = { size: number; root: bigint };

/** Throws (`tree_mismatch`, `chain_unavailable`) unless the chain vouches for `tree`. */
export type TreeCheck = (tree: TreeState) => Promise<void>;

/** A `TreeCheck` for one deployment, reading the chain on every call. */
export function chainTreeCheck(client: ChainTreeReader, deployment: DeploymentRef): TreeCheck {
  const verified = new Map<string, number>();
  return (tree) => verifyTreeOnChain(client, deployment.contract, deployment.chainId, { size: tree.size, root: toFieldHex(tree.root) }, verified);
}
