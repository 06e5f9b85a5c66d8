import type { Address, PublicClient } from 'viem';
import { AppError } from '../errors';
import type { TreeState } from '../prover/types';
import { creditPoolAbi } from './abi';

export const TREE_MISMATCH_MESSAGE = 'The server’s view of the credit tree does not match the chain; nothing was spent.';

/**
 * Largest tree size this tab has checked against the chain, per deployment. Only ever raises
 * the bar: a server cannot later hand this tab an older (smaller) tree.
 */
const verifiedSize = new Map<string, number>();

export type ChainTreeReader = Pick<PublicClient, 'getBlockNumber' | 'readContract'>;

/**
 * Checks the tree the browser is about to prove against with the chain, through the app's
 * own RPC, never the API server. At one block B (the latest), the tree's root must be one
 * the CreditPool knows (`isKnownRoot`: a root of the on-chain leaves, so no leaf can be left
 * out), the tree cannot be larger than `nextIndex()`, and a tree as large as the chain's must
 * have `currentRoot()`. Purchases landing meanwhile only add newer roots, so an honest
 * server's (confirmed, slightly older) root still passes; it must also not be smaller than a
 * tree this tab verified before. Nothing is cached: every call reads the chain.
 */
export async function verifyTreeOnChain(client: ChainTreeReader, pool: Address, chainId: number, tree: TreeState): Promise<void> {
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
    throw new AppError('chain_unavailable', 'Could not check the credit tree with the blockchain. Nothing was spent; try again.', {
      details: cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 200) : undefined,
      cause,
    });
  }
  const key = `${chainId}:${pool.toLowerCase()}`;
  const floor = verifiedSize.get(key) ?? 0;
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
  if (problem) throw new AppError('tree_mismatch', TREE_MISMATCH_MESSAGE, { details: `${problem} (root ${tree.root})` });
  verifiedSize.set(key, tree.size);
}
