import { MerkleTree, TREE_DEPTH, creditPoolAbi, fetchPurchases, readMeteredParams, readStateKeys, zeroHashes, type MeteredParams, type StateKeys } from '@zkcredits/core';
import type { PublicClient } from 'viem';
import { IndexerError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BlockRef, Cursor, Purchase, Store } from '../store/index.js';

export type ChainIndexerOptions = {
  client: PublicClient;
  store: Store;
  contract: `0x${string}`;
  deploymentBlock: bigint;
  confirmations: number;
  pollIntervalMs: number;
  logBlockRange: number;
  logger: Logger;
};

/** What `/ready`, `/metrics` and the config route report about the index. */
export type ChainStatus = {
  /** Latest block the node reported. */
  head: bigint | null;
  /** Last block whose purchases are in the store (confirmed). */
  synced: bigint | null;
  leafCount: number;
  lastPollAt: number | null;
  lastError: string | null;
  /** Set when the index saw something only an operator can fix (e.g. a root mismatch). */
  halted: string | null;
  reorgs: number;
  pricePerCredit: bigint | null;
  paymentToken: `0x${string}` | null;
  /** Protocol v2: price of one flat-account ticket; null until read (or on a contract without accounts). */
  pricePerTicket: bigint | null;
  /** Protocol v2: days an account lives after its opening day (immutable); null until read. */
  ttlDays: number | null;
  /**
   * Protocol v2 metered accounts: the immutable `priceUnit` and `cMax`, and the state keys (read on
   * every poll: a rotation shows within one poll interval); null until read, or on a contract
   * without metered accounts.
   */
  metered: (MeteredParams & { stateKeys: StateKeys }) | null;
};

/** How a chat request sees the chain: the tree for server-side proofs, and sync status. */
export interface ChainView {
  readonly status: ChainStatus;
  /** The in-memory tree, equal to the store's leaves as of the last poll. */
  readonly tree: MerkleTree;
  /** True once the index has caught up with `head - confirmations` and is not halted. */
  isSynced(): boolean;
  start(): void;
  stop(): Promise<void>;
}

const REFRESH_VIEWS_MS = 30_000;
const LEAF_PAGE = 10_000;

/**
 * Follows the tree's leaves (core's one replay: v1 `CreditsPurchased` and v2 `AccountOpened`) from
 * the deployment block into the store: waits for
 * `confirmations`, resumes from the stored cursor after a restart, detects reorgs through
 * stored block hashes and rolls back to the last block still on the chain. Every batch's
 * `newRoot` is recomputed locally; a mismatch halts the index (the server stops accepting).
 * Several replicas may run it on one database: writes are conditional on the cursor.
 */
export class ChainIndexer implements ChainView {
  readonly status: ChainStatus = {
    head: null,
    synced: null,
    leafCount: 0,
    lastPollAt: null,
    lastError: null,
    halted: null,
    reorgs: 0,
    pricePerCredit: null,
    paymentToken: null,
    pricePerTicket: null,
    ttlDays: null,
    metered: null,
  };
  private _tree = new MerkleTree();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private viewsAt = 0;
  private readonly log: Logger;

  constructor(private readonly opts: ChainIndexerOptions) {
    this.log = opts.logger.child({ subsystem: 'indexer' });
  }

  get tree(): MerkleTree {
    return this._tree;
  }

  isSynced(): boolean {
    const { head, synced, halted } = this.status;
    if (halted || head === null || synced === null) return false;
    return synced >= head - BigInt(this.opts.confirmations);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.pollOnce().catch(() => {});
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, this.opts.pollIntervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One round: catch up as far as `head - confirmations` allows. Errors are recorded, then rethrown. */
  async pollOnce(): Promise<void> {
    if (this.status.halted) return;
    try {
      await this.catchUp();
      this.status.lastError = null;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.status.lastError = message;
      if (err instanceof IndexerError && err.code !== 'leaf_gap') {
        this.status.halted = message;
        this.log.error({ code: err.code, err }, 'index halted: operator action needed');
      } else {
        this.log.warn({ err }, 'index poll failed; retrying');
      }
      throw err;
    } finally {
      this.status.lastPollAt = Date.now();
    }
  }

  private async catchUp(): Promise<void> {
    const { client } = this.opts;
    await this.refreshViews();
    for (let round = 0; round < 10_000; round++) {
      const head = await client.getBlockNumber({ cacheTime: 0 });
      this.status.head = head;
      const target = head - BigInt(this.opts.confirmations);
      const cursor = await this.opts.store.getCursor();
      await this.syncTree(cursor);
      this.status.synced = cursor.number;
      this.status.leafCount = cursor.leafCount;

      if (cursor.hash !== null && !(await this.onChain({ number: cursor.number, hash: cursor.hash }, head))) {
        await this.rollBack(cursor, head);
        continue;
      }
      if (target <= cursor.number) return;

      const from = cursor.number + 1n;
      const to = target < from + BigInt(this.opts.logBlockRange) - 1n ? target : from + BigInt(this.opts.logBlockRange) - 1n;
      // Decoded by core (the one purchase replay): this pool's events, removed logs dropped, in chain order.
      const [purchases, toBlock] = await Promise.all([
        fetchPurchases({ client, address: this.opts.contract, fromBlock: from, toBlock: to, chunkSize: BigInt(this.opts.logBlockRange) }),
        client.getBlock({ blockNumber: to }),
      ]);

      // Logs and the range end come from separate calls: check they describe one chain.
      const blockHashes = new Map<bigint, `0x${string}`>([[to, toBlock.hash]]);
      for (const p of purchases) blockHashes.set(p.blockNumber, p.blockHash);
      const stale = await Promise.all(
        [...blockHashes].map(async ([number, hash]) => !(await this.onChain({ number, hash }, head))),
      );
      if (stale.some(Boolean)) {
        this.log.info({ from, to }, 'chain moved during the poll; retrying');
        continue;
      }

      const added = this.applyToTree(purchases);
      const ok = await this.opts.store.appendBlocks(cursor, { to: { number: to, hash: toBlock.hash }, purchases });
      if (!ok) {
        // Another replica wrote first; the next round reloads the tree from the store.
        this._tree.truncate(this._tree.size - added);
        continue;
      }
      if (purchases.length > 0) {
        this.log.info({ from, to, purchases: purchases.length, leaves: this._tree.size }, 'indexed purchases');
      }
      this.status.synced = to;
      this.status.leafCount = this._tree.size;
    }
  }

  /** Replays purchases onto the tree, checking every `newRoot`; returns leaves added. */
  private applyToTree(purchases: Purchase[]): number {
    const before = this._tree.size;
    for (const p of purchases) {
      if (p.startIndex !== this._tree.size) {
        this._tree.truncate(before);
        throw new IndexerError('leaf_gap', `purchase in block ${p.blockNumber} starts at leaf ${p.startIndex}, the index has ${this._tree.size}`);
      }
      this._tree.insertMany(p.commitments);
      if (this._tree.root !== p.newRoot) {
        const computed = this._tree.root;
        this._tree.truncate(before);
        throw new IndexerError(
          'root_mismatch',
          `contract root 0x${p.newRoot.toString(16)} after leaf ${p.startIndex + p.commitments.length - 1} (block ${p.blockNumber}) differs from the locally computed 0x${computed.toString(16)}; check ZKC_CONTRACT and the protocol version`,
        );
      }
    }
    return this._tree.size - before;
  }

  /** Makes the in-memory tree equal to the store's leaves. */
  private async syncTree(cursor: Cursor): Promise<void> {
    const [latest] = await this.opts.store.recentRoots(1);
    if (this._tree.size === cursor.leafCount && this._tree.root === latest) return;
    if (this._tree.size > cursor.leafCount) this._tree.truncate(cursor.leafCount);
    await this.loadLeaves(cursor.leafCount);
    if (this._tree.root !== latest) {
      // Same size, different leaves (a reorg replaced them): rebuild from scratch.
      this._tree = new MerkleTree();
      await this.loadLeaves(cursor.leafCount);
    }
  }

  private async loadLeaves(count: number): Promise<void> {
    while (this._tree.size < count) {
      const page = await this.opts.store.getLeaves(this._tree.size, Math.min(LEAF_PAGE, count - this._tree.size));
      if (page.length === 0) break;
      this._tree.insertMany(page);
    }
  }

  private async onChain(ref: { number: bigint; hash: `0x${string}` }, head: bigint): Promise<boolean> {
    if (ref.number > head) return false;
    const block = await this.opts.client.getBlock({ blockNumber: ref.number }).catch(() => null);
    return block !== null && block.hash === ref.hash;
  }

  /** Walks back over stored block hashes to the newest one still on the chain and truncates there. */
  private async rollBack(cursor: Cursor, head: bigint): Promise<void> {
    let ancestor: BlockRef = { number: this.opts.deploymentBlock - 1n, hash: null };
    let below = cursor.number;
    search: for (;;) {
      const refs = await this.opts.store.recentBlocks(below, 64);
      if (refs.length === 0) break;
      for (const ref of refs) {
        if (ref.hash && (await this.onChain({ number: ref.number, hash: ref.hash }, head))) {
          ancestor = ref;
          break search;
        }
      }
      below = refs[refs.length - 1]!.number - 1n;
    }
    const ok = await this.opts.store.rollbackTo(cursor, ancestor);
    if (ok) {
      this.status.reorgs += 1;
      this.log.warn({ from: cursor.number, to: ancestor.number }, 'chain reorganisation: rolled the index back');
    }
  }

  /**
   * The metered views: `priceUnit` and `cMax` once (immutable), the state keys on every poll. A
   * contract without them leaves `metered` null; a failed read keeps the last keys read.
   */
  private async refreshMetered(): Promise<void> {
    const { client, contract } = this.opts;
    let params: MeteredParams | null = this.status.metered;
    if (!params) {
      params = await readMeteredParams(client, contract).catch(() => null);
      if (!params) return;
    }
    try {
      const stateKeys = await readStateKeys(client, contract);
      this.status.metered = { priceUnit: params.priceUnit, cMax: params.cMax, stateKeys };
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read the state keys; keeping the last ones read');
    }
  }

  private async refreshViews(): Promise<void> {
    await this.refreshMetered();
    if (Date.now() - this.viewsAt < REFRESH_VIEWS_MS) return;
    const { client, contract } = this.opts;
    // The v2 views apart: a contract without accounts must not stop the index (they stay null).
    const [price, token, ticketPrice, ttlDays] = await Promise.all([
      client.readContract({ address: contract, abi: creditPoolAbi, functionName: 'pricePerCredit' }),
      client.readContract({ address: contract, abi: creditPoolAbi, functionName: 'paymentToken' }),
      client.readContract({ address: contract, abi: creditPoolAbi, functionName: 'pricePerTicket' }).catch(() => null),
      this.status.ttlDays ?? client.readContract({ address: contract, abi: creditPoolAbi, functionName: 'ttlDays' }).catch(() => null),
    ]);
    this.status.pricePerCredit = price;
    this.status.paymentToken = token.toLowerCase() as `0x${string}`;
    this.status.pricePerTicket = ticketPrice;
    this.status.ttlDays = ttlDays === null ? null : Number(ttlDays);
    this.viewsAt = Date.now();
  }
}

/** Root of the empty tree (ring entry 0 at deployment). */
export function emptyRoot(): bigint {
  return zeroHashes()[TREE_DEPTH]!;
}

/** Reads the deployment block from the contract when it is not configured. */
export async function readDeploymentBlock(client: PublicClient, contract: `0x${string}`): Promise<bigint> {
  return client.readContract({ address: contract, abi: creditPoolAbi, functionName: 'deploymentBlock' });
}
