// Purchase replay: the one place that reads the tree's insertion events, `CreditsPurchased` (v1
// credits), `AccountOpened` (v2 flat accounts) and `MeteredAccountOpened` (v2 metered accounts), from
// a receipt or from eth_getLogs, decodes them and appends them to a tree mirror with the root checked.
import { type Address, type Hash, type Log, type PublicClient, parseEventLogs } from 'viem';
import { creditPoolAbi } from './generated/abis.js';
import { TreeError } from './errors.js';
import type { MerkleTree } from './tree.js';
import type { MeteredTerms } from './v2/metered.js';

/** A v2 flat account as opened on-chain (its leaf is `H(TAG_ACCOUNT_F, id, tickets, expiryDay)`). */
type OpenedAccount = { id: bigint; tickets: number; expiryDay: number };

/** A v2 metered account as opened on-chain (its leaf is `meteredAccountLeaf(id, terms)`). */
export type OpenedMeteredAccount = { id: bigint; terms: MeteredTerms };

/**
 * One insertion into the tree, with the root the contract announced after it (PROTOCOL.md,
 * "Contract events"):
 * - `kind: 'credits'`: one `CreditsPurchased` event; `commitments` are the credits bought.
 * - `kind: 'accounts'`: the `AccountOpened` events of one `openFlat*` call, merged: consecutive
 *   logs of one transaction with contiguous `leafIndex` and the same `newRoot` (a batch announces
 *   only the root after the whole batch). `commitments` are the account leaves, `accounts` the
 *   accounts in the same order, `amountPaid` the sum, `buyer` the payer, `logIndex` the first log's.
 * - `kind: 'metered'`: one `MeteredAccountOpened` event (one account, one leaf); `commitments` is its
 *   leaf, `metered` the account and its terms, `buyer` the payer.
 */
export type Purchase = {
  kind: 'credits' | 'accounts' | 'metered';
  buyer: Address;
  startIndex: number;
  commitments: bigint[];
  newRoot: bigint;
  amountPaid: bigint;
  /** Present when `kind === 'accounts'`: one per leaf of `commitments`. */
  accounts?: OpenedAccount[];
  /** Present when `kind === 'metered'`: the account of the one leaf. */
  metered?: OpenedMeteredAccount;
  blockNumber: bigint;
  blockHash: Hash;
  transactionHash: Hash;
  logIndex: number;
};

type AbiEvent<N extends string> = Extract<(typeof creditPoolAbi)[number], { type: 'event'; name: N }>;
const event = <N extends 'CreditsPurchased' | 'AccountOpened' | 'MeteredAccountOpened'>(name: N) =>
  creditPoolAbi.find((item): item is AbiEvent<N> => item.type === 'event' && item.name === name)!;
const insertionEvents = [event('CreditsPurchased'), event('AccountOpened'), event('MeteredAccountOpened')] as const;

/**
 * The tree insertions in `logs` emitted by the CreditPool at `address`, in chain order (block,
 * then log index), with a batch of `AccountOpened` logs merged into one record. Other events and
 * other contracts' logs are skipped, and so are logs a node marked `removed` (a reorg took them
 * away). Takes mined logs: a transaction receipt's `logs` or what `eth_getLogs` returned.
 *
 * @example
 * const receipt = await waitForReceipt(client, { hash });
 * const [purchase] = decodePurchases(receipt.logs, pool);
 */
export function decodePurchases(logs: readonly Log<bigint, number, false>[], address: Address): Purchase[] {
  const pool = address.toLowerCase();
  const decoded = parseEventLogs({ abi: creditPoolAbi, eventName: ['CreditsPurchased', 'AccountOpened', 'MeteredAccountOpened'], logs: [...logs], strict: true })
    .filter((log) => log.address.toLowerCase() === pool && !log.removed)
    .sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));

  const out: Purchase[] = [];
  for (const log of decoded) {
    const at = { blockNumber: log.blockNumber, blockHash: log.blockHash, transactionHash: log.transactionHash, logIndex: log.logIndex };
    if (log.eventName === 'CreditsPurchased') {
      const { buyer, startIndex, commitments, newRoot, amountPaid } = log.args;
      out.push({ kind: 'credits', buyer, startIndex: Number(startIndex), commitments: [...commitments], newRoot, amountPaid, ...at });
      continue;
    }
    if (log.eventName === 'MeteredAccountOpened') {
      const { id, payer, leafIndex, dLane, lanesLog2, sLane, expiryDay, leaf, newRoot, amountPaid } = log.args;
      // The contract bounds these (amounts < 2^40, lanesLog2 <= 3, expiryDay < 2^32): Number is exact.
      const terms: MeteredTerms = { dLane: Number(dLane), lanesLog2: Number(lanesLog2), sLane: Number(sLane), expiryDay: Number(expiryDay) };
      out.push({ kind: 'metered', buyer: payer, startIndex: Number(leafIndex), commitments: [leaf], newRoot, amountPaid, metered: { id, terms }, ...at });
      continue;
    }
    const { id, payer, leafIndex, tickets, expiryDay, leaf, newRoot, amountPaid } = log.args;
    const account: OpenedAccount = { id, tickets: Number(tickets), expiryDay: Number(expiryDay) };
    const last = out.at(-1);
    if (
      last?.kind === 'accounts' &&
      last.transactionHash === log.transactionHash &&
      last.blockHash === log.blockHash &&
      last.newRoot === newRoot &&
      last.startIndex + last.commitments.length === Number(leafIndex)
    ) {
      last.commitments.push(leaf);
      last.accounts!.push(account);
      last.amountPaid += amountPaid;
    } else {
      out.push({ kind: 'accounts', buyer: payer, startIndex: Number(leafIndex), commitments: [leaf], newRoot, amountPaid, accounts: [account], ...at });
    }
  }
  return out;
}

export type FetchPurchasesParameters = {
  client: Pick<PublicClient, 'getLogs'>;
  address: Address;
  fromBlock: bigint;
  toBlock: bigint;
  /** Blocks per `eth_getLogs` call (RPC providers cap ranges). */
  chunkSize?: bigint;
};

/**
 * Reads the insertions (credit purchases, flat and metered account openings) in blocks
 * [fromBlock, toBlock] from the chain, in chain order: one `eth_getLogs` per chunk for the three events.
 */
export async function fetchPurchases({ client, address, fromBlock, toBlock, chunkSize = 10_000n }: FetchPurchasesParameters): Promise<Purchase[]> {
  const out: Purchase[] = [];
  for (let from = fromBlock; from <= toBlock; from += chunkSize) {
    const to = from + chunkSize - 1n < toBlock ? from + chunkSize - 1n : toBlock;
    const logs = await client.getLogs({ address, events: insertionEvents, fromBlock: from, toBlock: to });
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
