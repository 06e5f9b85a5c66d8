// Before anything is proven: the server serves this app's deployment, and its tree checks out against the chain.
import { isZkCreditsError, verifyTreeOnChain, type ChainTreeReader } from '@zkcredits/core';
import type { Address } from 'viem';
import { fetchLeaves, getServerConfig } from '../api/client';
import { AppError } from '../errors';
import type { ProverApi, TreeState } from '../prover/types';

/** Deployments (chain id, CreditPool) whose server this tab has found serving them. */
const checkedServers = new Set<string>();

/**
 * Refuses a server that serves another deployment than this app's (`chainId` and `pool`, from
 * the deployment manifest): its leaves are another contract's and it could not accept a proof
 * made for this one. Asked once per tab and deployment, before anything is proven or sent.
 */
export async function checkServerDeployment(chainId: number, pool: Address, signal?: AbortSignal): Promise<void> {
  const key = `${chainId}:${pool.toLowerCase()}`;
  if (checkedServers.has(key)) return;
  const server = await getServerConfig(signal);
  if (server.chainId !== chainId || server.contract.toLowerCase() !== pool.toLowerCase()) {
    throw new AppError('wrong_server', 'The zkcredits server behind this app serves another deployment. Nothing was proven or paid; the site’s operator has to fix its configuration.', {
      details: `server: chain ${server.chainId}, CreditPool ${server.contract}; this app: chain ${chainId}, CreditPool ${pool}`,
    });
  }
  checkedServers.add(key);
}

/** Brings the worker's tree mirror up to date with the server's leaves (only new ones). */
export async function syncTree(prover: Pick<ProverApi, 'appendLeaves' | 'tree'>, signal?: AbortSignal): Promise<number> {
  for (let guard = 0; guard < 1000; guard++) {
    const { size } = await prover.tree();
    const page = await fetchLeaves(size, signal);
    if (page.size < size) throw new AppError('server_unavailable', 'The server’s credit tree is behind this browser’s. Try again shortly.');
    if (page.leaves.length === 0) return size;
    const state = await prover.appendLeaves(page.start, page.leaves);
    if (state.size >= page.size) {
      if (state.size === page.size && state.root !== page.root) {
        throw new AppError('server_unavailable', 'The server’s credit tree does not match the leaves it sent.', { details: `root ${page.root}` });
      }
      return state.size;
    }
  }
  return (await prover.tree()).size;
}

/**
 * Syncs the worker's tree mirror with the server's leaves and checks it against the chain through
 * the app's own RPC (core's `verifyTreeOnChain`): a server that leaves leaves out is refused
 * before anything is proven (it would shrink the anonymity set), and its leaves are dropped.
 */
export async function syncVerifiedTree(p: {
  prover: Pick<ProverApi, 'appendLeaves' | 'tree' | 'resetTree'>;
  publicClient: ChainTreeReader;
  pool: Address;
  chainId: number;
  signal?: AbortSignal;
}): Promise<TreeState> {
  await syncTree(p.prover, p.signal);
  const tree = await p.prover.tree();
  try {
    await verifyTreeOnChain(p.publicClient, p.pool, p.chainId, tree);
  } catch (error) {
    if (!isZkCreditsError(error, 'tree_mismatch') && !isZkCreditsError(error, 'chain_unavailable')) throw error;
    // Do not keep leaves the chain does not vouch for: the next attempt syncs from scratch.
    if (error.code === 'tree_mismatch') await p.prover.resetTree();
    throw new AppError(error.code, error.shortMessage, { details: error.details, cause: error });
  }
  return tree;
}
