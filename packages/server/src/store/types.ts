/** A block the index has seen: number and hash (hash `null` only for the pre-deployment anchor). */
export type BlockRef = { number: bigint; hash: `0x${string}` | null };

/** Where the index stands: the last fully processed block and the tree it produced. */
export type Cursor = BlockRef & { leafCount: number; rootCount: number };

/** One `CreditsPurchased` event, decoded. */
export type Purchase = {
  blockNumber: bigint;
  blockHash: `0x${string}`;
  logIndex: number;
  startIndex: number;
  commitments: bigint[];
  newRoot: bigint;
};

/** A contiguous range of processed blocks to append atomically. */
export type BlockBatch = {
  /** Last block of the range (becomes the cursor). */
  to: { number: bigint; hash: `0x${string}` };
  /** Purchases in (block, log index) order. */
  purchases: Purchase[];
};

export type RootStatus =
  | { status: 'current' | 'recent'; seq: number }
  | { status: 'expired'; seq: number }
  | { status: 'unknown' };

export type NullifierState = 'reserved' | 'spent' | null;

export type ReserveResult = { ok: true } | { ok: false; state: 'reserved' | 'spent' };

/** Identity of the deployment a store belongs to; a store refuses to serve another one. */
export type DeploymentIdentity = { chainId: number; contract: `0x${string}`; deploymentBlock: bigint; emptyRoot: bigint };

/**
 * Persistence of the chain index (leaves, roots, block hashes) and of spent nullifiers.
 * Two implementations (SQLite, PostgreSQL) pass the same test suite. Every method is atomic;
 * the chain writers are conditional on the cursor so several replicas may index at once.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates tables and binds the store to a deployment (first use) or checks it matches. */
  init(deployment: DeploymentIdentity): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;

  // ---- chain index
  getCursor(): Promise<Cursor>;
  /** Appends a batch iff the cursor still equals `expected`; false if another writer moved it. */
  appendBlocks(expected: Cursor, batch: BlockBatch): Promise<boolean>;
  /** Stored block hashes at or below `below`, newest first. */
  recentBlocks(below: bigint, limit: number): Promise<BlockRef[]>;
  /** Drops everything after `ancestor` iff the cursor still equals `expected`. */
  rollbackTo(expected: Cursor, ancestor: BlockRef): Promise<boolean>;
  /** Leaves `from` .. `from + limit - 1` (fewer at the end). */
  getLeaves(from: number, limit: number): Promise<bigint[]>;
  findLeaf(commitment: bigint): Promise<number | null>;
  /** Status of `root` against the last `window` roots. */
  rootStatus(root: bigint, window: number): Promise<RootStatus>;
  /** The last `n` roots, newest first. */
  recentRoots(n: number): Promise<bigint[]>;

  // ---- nullifiers
  /** `reserved` only while the reservation is live at `now` (an expired one counts as free). */
  nullifierState(nullifierHash: bigint, now: number): Promise<NullifierState>;
  /** Atomically claims a nullifier: free or expired-reservation → reserved by `token`. */
  reserve(nullifierHash: bigint, token: string, now: number, ttlMs: number): Promise<ReserveResult>;
  /** reserved-by-token → spent. False if the reservation is gone (expired and taken over). */
  markSpent(nullifierHash: bigint, token: string, now: number): Promise<boolean>;
  /** Deletes the reservation iff it is still held by `token`. */
  release(nullifierHash: bigint, token: string): Promise<boolean>;
  /** Deletes reservations that expired before `now` (crashed holders). Returns how many. */
  releaseExpired(now: number): Promise<number>;
}

/** Canonical storage encoding of a field element (lower-case, 64 hex digits). */
export function hex32(x: bigint): string {
  return `0x${x.toString(16).padStart(64, '0')}`;
}
