import type { Address, PublicClient } from 'viem';
import { TreeCheckError } from './errors.js';
import { creditPoolAbi } from './generated/abis.js';

/** What `verifyTreeOnChain` reads: the latest block number and CreditPool views at that block. */
export type ChainTreeReader = Pick<PublicClient, 'getBlockNumber' | 'readContract'>;

/** The tree a client is about to prove against: its leaf count and root (hex or decimal string). */
export type TreeSnapshot = { size: number; root: string };

/**
 * Largest tree size checked against the chain, per deployment (`chainId:pool`). Only ever
 * raises the bar: a server cannot later hand this client an older (smaller) tree.
 */
export type VerifiedTreeSizes = Map<string, number>;

/** The process-wide record used when the caller passes none. */
const defaultVerifiedSizes: VerifiedTreeSizes = new Map();

/**
 * Checks the tree a client is about to prove against with the chain, through the client's own
 * RPC, never the API server (a server that left leaves out would shrink the anonymity set). At
 * one block B (the latest), the tree's root must be one the CreditPool knows (`isKnownRoot`: a
 * root of the on-chain leaves, so no leaf can be left out), the tree cannot be larger than
 * `nextIndex()`, and a tree as large as the chain's must have `currentRoot()`. Purchases landing
 * meanwhile only add newer roots, so an honest server's (confirmed, slightly older) root still
 * passes; it must also not be smaller than a tree verified before (`verified`). Nothing is
 * cached: every call reads the chain.
 *
 * Throws a `TreeCheckError`: `tree_mismatch` (drop the tree: the next sync should start from leaf 0)
 * or `chain_unavailable` (the chain could not be read; nothing was checked).
 */
export async function verifyTreeOnChain(
  client: ChainTreeReader,
  pool: Address,
  chainId: number,
  tree: TreeSnapshot,
  verified: VerifiedTreeSizes = defaultVerifiedSizes,
): Promise<void> {
  let known: boolean, next: bigint, current: bigint;
  try {
    const blockNumber = await client.getBlockNumber({ cacheTime: 0 });
    const at = { address: pool, abi: creditPoolAbi, blockNumber } as const;
    [known, next, current] = await Promise.all([
      client.readContract({ ...at, functionName: 'isKnownRoot', args: [BigInt(tree.root)] }),
      client.readContract({ ...at, functionName: 'nextIndex' }),
      client.readContract({ ...at, functionName: 'currentRoot' }),
    ]);
  } catch (cause) {
    throw new TreeCheckError('chain_unavailable', 'Could not check the credit tree with the blockchain. Nothing was spent; try again.', {
      details: cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 200) : undefined,
      cause,
    });
  }
  const key = `${chainId}:${pool.toLowerCase()}`;
  const floor = verified.get(key) ?? 0;
  const size = BigInt(tree.size);
  const problem = !known
    ? 'root unknown to the contract'
    : size > next
      ? `${tree.size} leaves but the contract has ${next}`
      : size === next && BigInt(tree.root) !== current
        ? 'root differs from currentRoot'
        : tree.size < floor
          ? `${tree.size} leaves, fewer than the ${floor} verified before`
          : undefined;
  if (problem) {
    throw new TreeCheckError('tree_mismatch', 'The server’s view of the credit tree does not match the chain; nothing was spent.', {
      details: `${problem} (root ${tree.root})`,
    });
  }
  verified.set(key, Math.max(floor, tree.size));
}
