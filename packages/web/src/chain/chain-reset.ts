import type { Address, Hash, PublicClient } from 'viem';
import { isActive, type CreditRecord } from '../vault';
import { creditPoolAbi } from './abi';

export type DeploymentReader = Pick<PublicClient, 'readContract' | 'getBlock'>;

/**
 * Hash (lower-case) of the block the CreditPool at `pool` was deployed in, read from the
 * chain: `deploymentBlock()`, then that block. It tells this deployment apart from one on a
 * reset chain (e.g. a restarted Anvil), which can have a CreditPool at the same address.
 * Throws when the chain cannot be read or holds no CreditPool at `pool`.
 */
export async function readDeploymentBlockHash(client: DeploymentReader, pool: Address): Promise<Hash> {
  const blockNumber = await client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'deploymentBlock' });
  const block = await client.getBlock({ blockNumber });
  return block.hash.toLowerCase() as Hash;
}

/** The deployment the app uses, as its chain is now. */
export type ChainNow = { chainId: number; pool: Address; deploymentBlockHash: Hash; latestBlock: bigint };

/**
 * Whether a credit of this chain id and CreditPool address was made on another history of
 * the chain (one that was reset since): its recorded deployment block hash differs; a credit
 * from an older app version, without that hash, is from a reset chain when it was made at a
 * block this chain has not reached.
 */
export function isFromResetChain(r: CreditRecord, now: ChainNow): boolean {
  if (r.chainId !== now.chainId || r.contract.toLowerCase() !== now.pool.toLowerCase()) return false;
  return r.deploymentBlockHash !== undefined ? r.deploymentBlockHash !== now.deploymentBlockHash : BigInt(r.fromBlock) > now.latestBlock;
}

/** The credits (not yet archived) that belong to a reset chain: they can never be found or used there. */
export function creditsFromResetChain(records: Iterable<CreditRecord>, now: ChainNow): CreditRecord[] {
  return [...records].filter((r) => isActive(r) && isFromResetChain(r, now));
}
