import {
  type Account,
  type Address,
  type Chain,
  type Hash,
  type PublicClient,
  type Transport,
  type WalletClient,
  maxUint256,
} from 'viem';
import { creditPoolAbi, testTokenAbi } from './generated/abis.js';
import { TreeError, ZkCreditsError, findErrorByName, isZkCreditsError } from './errors.js';
import { permitDomain, signPermit } from './permit.js';
import { waitForReceipt } from './receipt.js';
import type { MerkleTree } from './tree.js';

/** One `CreditsPurchased` event (PROTOCOL.md). */
export type Purchase = {
  buyer: Address;
  startIndex: number;
  commitments: bigint[];
  newRoot: bigint;
  amountPaid: bigint;
  blockNumber: bigint;
  blockHash: Hash;
  transactionHash: Hash;
  logIndex: number;
};

export type FetchPurchasesParameters = {
  client: PublicClient;
  address: Address;
  fromBlock: bigint;
  toBlock: bigint;
  /** Blocks per `eth_getLogs` call (RPC providers cap ranges). */
  chunkSize?: bigint;
};

/** Reads purchases in [fromBlock, toBlock], in chain order. */
export async function fetchPurchases({ client, address, fromBlock, toBlock, chunkSize = 10_000n }: FetchPurchasesParameters): Promise<Purchase[]> {
  const out: Purchase[] = [];
  for (let from = fromBlock; from <= toBlock; from += chunkSize) {
    const to = from + chunkSize - 1n < toBlock ? from + chunkSize - 1n : toBlock;
    const logs = await client.getContractEvents({
      address,
      abi: creditPoolAbi,
      eventName: 'CreditsPurchased',
      fromBlock: from,
      toBlock: to,
      strict: true,
    });
    for (const log of logs) {
      out.push({
        buyer: log.args.buyer,
        startIndex: Number(log.args.startIndex),
        commitments: [...log.args.commitments],
        newRoot: log.args.newRoot,
        amountPaid: log.args.amountPaid,
        blockNumber: log.blockNumber,
        blockHash: log.blockHash,
        transactionHash: log.transactionHash,
        logIndex: log.logIndex,
      });
    }
  }
  return out;
}

/**
 * Appends purchases to a tree mirror, checking that they continue it without gaps and
 * that the mirror reaches the root the contract announced after each one.
 */
export function applyPurchases(tree: MerkleTree, purchases: readonly Purchase[]): void {
  for (const p of purchases) {
    if (p.startIndex !== tree.size) {
      throw new TreeError('invalid_leaf_index', 'purchase does not continue the tree', {
        details: `event starts at leaf ${p.startIndex}, mirror has ${tree.size} leaves`,
      });
    }
    tree.insertMany(p.commitments);
    if (tree.root !== p.newRoot) {
      throw new TreeError('invalid_leaf_index', 'mirror root differs from the on-chain root', {
        details: `after leaf ${tree.size - 1}: contract 0x${p.newRoot.toString(16)}, mirror 0x${tree.root.toString(16)}`,
      });
    }
  }
}

export type BuyCreditsParameters = {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
  pool: Address;
  commitments: readonly bigint[];
  /** Pay with one ERC-2612 permit-signed transaction instead of approve + buy. */
  permit?: boolean;
  /** Approve exactly the total (default) or unlimited. */
  approve?: 'exact' | 'unlimited';
  /**
   * The most the whole purchase may cost (token base units). Default: the current price times the
   * number of commitments, read just before sending. The contract reverts with `PriceAboveMax` if the
   * price is raised before the transaction lands, so no allowance can be charged more than this.
   */
  maxTotal?: bigint;
};

export type BuyCreditsResult = { transactionHash: Hash; startIndex: number; newRoot: bigint; amountPaid: bigint; gasUsed: bigint };

/** Buys one credit per commitment; waits for the receipt and decodes the purchase event. */
export async function buyCredits(params: BuyCreditsParameters): Promise<BuyCreditsResult> {
  const { publicClient, walletClient, pool, commitments } = params;
  const account = walletClient.account;
  const [token, price] = await Promise.all([
    publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'paymentToken' }),
    publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'pricePerCredit' }),
  ]);
  const total = price * BigInt(commitments.length);
  const maxTotal = params.maxTotal ?? total;
  if (total > maxTotal) {
    throw new ZkCreditsError('contract_error', 'the price is above the buyer\'s maximum', {
      details: `${commitments.length} credits cost ${total} base units now, maxTotal is ${maxTotal}`,
    });
  }
  try {
    let hash: Hash;
    if (params.permit) {
      const domain = await permitDomain(publicClient, token, walletClient.chain.id);
      if (!domain) {
        throw new ZkCreditsError('contract_error', 'the payment token does not support ERC-2612 permits', {
          details: 'buy with approve + buy instead (permit: false)',
        });
      }
      const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
      const { v, r, s } = await signPermit({ publicClient, walletClient, domain, token, spender: pool, value: maxTotal, deadline });
      hash = await walletClient.writeContract({
        address: pool,
        abi: creditPoolAbi,
        functionName: 'buyWithPermit',
        args: [[...commitments], maxTotal, deadline, v, r, s],
      });
    } else {
      const allowance = await publicClient.readContract({
        address: token,
        abi: testTokenAbi,
        functionName: 'allowance',
        args: [account.address, pool],
      });
      if (allowance < total) {
        const approveHash = await walletClient.writeContract({
          address: token,
          abi: testTokenAbi,
          functionName: 'approve',
          args: [pool, params.approve === 'unlimited' ? maxUint256 : total],
        });
        await waitForReceipt(publicClient, { hash: approveHash });
      }
      hash = await walletClient.writeContract({ address: pool, abi: creditPoolAbi, functionName: 'buy', args: [[...commitments], maxTotal] });
    }
    const receipt = await waitForReceipt(publicClient, { hash });
    if (receipt.status !== 'success') {
      throw new ZkCreditsError('contract_error', 'purchase transaction reverted', { details: hash });
    }
    const logs = await publicClient.getContractEvents({
      address: pool,
      abi: creditPoolAbi,
      eventName: 'CreditsPurchased',
      blockHash: receipt.blockHash,
      strict: true,
    });
    const event = logs.find((l) => l.transactionHash === hash);
    if (!event) throw new ZkCreditsError('contract_error', 'purchase event not found in the receipt block');
    return {
      transactionHash: hash,
      startIndex: Number(event.args.startIndex),
      newRoot: event.args.newRoot,
      amountPaid: event.args.amountPaid,
      gasUsed: receipt.gasUsed,
    };
  } catch (error) {
    throw toContractError(error);
  }
}

/**
 * Maps a viem contract error to the core family, keeping the decoded custom error name and args.
 * Matches viem's errors by name and shape: the caller's viem may be another copy than ours.
 */
export function toContractError(error: unknown): unknown {
  if (isZkCreditsError(error)) return error;
  const shortMessage = (error as { shortMessage?: unknown } | null)?.shortMessage;
  if (typeof shortMessage !== 'string') return error; // not a viem error
  const revert = findErrorByName(error, 'ContractFunctionRevertedError') as { data?: { errorName: string; args?: readonly unknown[] } } | undefined;
  if (revert?.data) {
    const args = (revert.data.args ?? []).map(String).join(', ');
    return new ZkCreditsError('contract_error', `contract reverted: ${revert.data.errorName}(${args})`, { cause: error });
  }
  return new ZkCreditsError('contract_error', shortMessage, { cause: error });
}
