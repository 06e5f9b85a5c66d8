// Purchase replay: the one place that reads `CreditsPurchased` events (from a receipt or from
// eth_getLogs), decodes them and appends them to a tree mirror with the root checked.
import { type Address, type Hash, type Log, type PublicClient, parseEventLogs } from 'viem';
import { creditPoolAbi } from './generated/abis.js';
import { TreeError } from './errors.js';
import type { MerkleTree } from './tree.js';

/** One `CreditsPurchased` event (PROTOCOL.md, "Contract events"). */
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

const creditsPurchasedEvent = creditPoolAbi.find(
  (item): item is Extract<(typeof creditPoolAbi)[number], { type: 'event'; name: 'CreditsPurchased' }> =>
    item.type === 'event' && item.name === 'CreditsPurchased',
)!;

/**
 * The purchases in `logs` emitted by the CreditPool at `address`, in chain order (block, then
 * log index). Other events and other contracts' logs are skipped, and so are logs a node marked
 * `removed` (a reorg took them away). Takes mined logs: a transaction receipt's `logs` or what
 * `eth_getLogs` returned.
 *
 * @example
 * const receipt = await waitForReceipt(client, { hash });
 * const [purchase] = decodePurchases(receipt.logs, pool);
 */
export function decodePurchases(logs: readonly Log<bigint, number, false>[], address: Address): Purchase[] {
  const pool = address.toLowerCase();
  return parseEventLogs({ abi: creditPoolAbi, eventName: 'CreditsPurchased', logs: [...logs], strict: true })
    .filter((log) => log.address.toLowerCase() === pool && !log.removed)
    .map((log) => ({
      buyer: log.args.buyer,
      startIndex: Number(log.args.startIndex),
      commitments: [...log.args.commitments],
      newRoot: log.args.newRoot,
      amountPaid: log.args.amountPaid,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      transactionHash: log.transactionHash,
      logIndex: log.logIndex,
    }))
    .sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
}

export type FetchPurchasesParameters = {
  client: Pick<PublicClient, 'getLogs'>;
  address: Address;
  fromBlock: bigint;
  toBlock: bigint;
  /** Blocks per `eth_getLogs` call (RPC providers cap ranges). */
  chunkSize?: bigint;
};

/** Reads the purchases in blocks [fromBlock, toBlock] from the chain, in chain order. */
export async function fetchPurchases({ client, address, fromBlock, toBlock, chunkSize = 10_000n }: FetchPurchasesParameters): Promise<Purchase[]> {
  const out: Purchase[] = [];
  for (let from = fromBlock; from <= toBlock; from += chunkSize) {
    const to = from + chunkSize - 1n < toBlock ? from + chunkSize - 1n : toBlock;
    const logs = await client.getLogs({ address, event: creditsPurchasedEvent, fromBlock: from, toBlock: to });
    out.push(...decodePurchases(logs, address));
  }
  return out;
}

/**
 * Appends purchases to a tree mirror, checking that each continues it without a gap and that
 * the mirror reaches the root the contract announced after it. All or nothing: when one does
 * not fit, the tree is put back as it was and a `TreeError` (`invalid_leaf_index`) says where.
 */
export function applyPurchases(tree: MerkleTree, purchases: readonly Purchase[]): void {
  const before = tree.size;
  try {
    for (const p of purchases) {
      if (p.startIndex !== tree.size) {
        throw new TreeError('invalid_leaf_index', 'purchase does not continue the tree', {
          details: `event in block ${p.blockNumber} starts at leaf ${p.startIndex}, mirror has ${tree.size} leaves`,
        });
      }
      tree.insertMany(p.commitments);
      if (tree.root !== p.newRoot) {
        throw new TreeError('invalid_leaf_index', 'mirror root differs from the on-chain root', {
          details: `after leaf ${tree.size - 1} (block ${p.blockNumber}): contract 0x${p.newRoot.toString(16)}, mirror 0x${tree.root.toString(16)}`,
        });
      }
    }
  } catch (error) {
    tree.truncate(before);
    throw error;
  }
}
