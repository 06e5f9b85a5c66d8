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

/**
 * `reserved`: a request holds it; `cooling`: released too often after failed provider calls and
 * refused until its cooldown ends (PROTOCOL.md, "Release cooldown"); `spent`: final.
 */
export type NullifierState = 'reserved' | 'cooling' | 'spent' | null;

export type ReserveResult = { ok: true } | { ok: false; state: 'reserved' | 'cooling' | 'spent' };

/** Release counting: from the `after`-th release on, a credit cools down before it can be reserved again. */
export type CooldownPolicy = { now: number; after: number };

/** Longest cooldown after repeated releases (PROTOCOL.md, "Release cooldown"). */
export const MAX_COOLDOWN_MS = 300_000;

/** Cooldown after a credit's `releases`-th release: none before `after`, then 1 s doubling up to 5 min. */
export function cooldownMs(releases: number, after: number): number {
  if (releases < after) return 0;
  return Math.min(1000 * 2 ** Math.min(releases - after, 30), MAX_COOLDOWN_MS);
}

/** Identity of the deployment a store belongs to; a store refuses to serve another one. */
export type DeploymentIdentity = { chainId: number; contract: `0x${string}`; deploymentBlock: bigint; emptyRoot: bigint };

/**
 * Persistence of the chain index (leaves, roots, block hashes) and of spent nullifiers.
 * One implementation (`SqlStore`) over two dialects (SQLite, PostgreSQL), both passing the same
 * test suite. Every method is atomic; the chain writers are conditional on the cursor so several
 * replicas may index at once.
 */
export interface Store {
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
  /** Status of `root` against the last `window` roots. */
  rootStatus(root: bigint, window: number): Promise<RootStatus>;
  /** The last `n` roots, newest first. */
  recentRoots(n: number): Promise<bigint[]>;

  // ---- nullifiers
  /** `reserved` / `cooling` only while live at `now` (an expired one counts as free). */
  nullifierState(nullifierHash: bigint, now: number): Promise<NullifierState>;
  /** When a cooling credit may be reserved again (ms since epoch), or null if it is not cooling. */
  coolingUntil(nullifierHash: bigint, now: number): Promise<number | null>;
  /** Atomically claims a nullifier: free or expired-reservation → reserved by `token`. */
  reserve(nullifierHash: bigint, token: string, now: number, ttlMs: number): Promise<ReserveResult>;
  /** reserved-by-token → spent. False if the reservation is gone (expired and taken over). */
  markSpent(nullifierHash: bigint, token: string, now: number): Promise<boolean>;
  /**
   * Ends the reservation iff it is still held by `token`. With a `cooldown` policy the release is
   * counted, and from the policy's `after`-th release on the credit cools down (an unheld
   * reservation until the cooldown ends) instead of becoming free at once.
   */
  release(nullifierHash: bigint, token: string, cooldown?: CooldownPolicy): Promise<boolean>;
  /** Deletes reservations that expired before `now` (crashed holders). Returns how many. */
  releaseExpired(now: number): Promise<number>;
}

/** Canonical storage encoding of a field element (lower-case, 64 hex digits). */
export function hex32(x: bigint): string {
  return `0x${x.toString(16).padStart(64, '0')}`;
}
