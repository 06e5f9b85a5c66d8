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

/** A v2 ticket's row: its share, and where its one request stands. */
export type TicketRow = {
  x: bigint;
  y: bigint;
  /** `reserved`: a request holds it (until `expiresAt`); `unserved`: no answer reached the client, it may be served for the same x; `spent`: answered. */
  status: 'reserved' | 'unserved' | 'spent';
  /** Lease end (reserved) or cooldown end (unserved; null: none), ms since epoch. */
  expiresAt: number | null;
  firstSeen: number;
};

/** What the store knows of a nullifier before a proof is verified: revoked, and the ticket row. */
export type TicketLookup = { revoked: boolean; ticket: TicketRow | null };

/**
 * Where a ticket stands for a request with hash `x` at `now`:
 * - `new`: never seen;
 * - `free`: seen with this x and never answered (unserved, or its holder's lease ran out): may be served now;
 * - `in_use`: a request with this x holds it;
 * - `cooling`: unserved, released too often in a row: refused until `until`;
 * - `spent`: answered for this x;
 * - `conflict`: seen with another x (two shares: once the proof verifies, evidence).
 */
export type TicketState =
  | { state: 'new' | 'free' | 'in_use' | 'spent' }
  | { state: 'cooling'; until: number }
  | { state: 'conflict'; x: bigint; y: bigint };

/** The state of `row` for a request with hash `x` at `now`. */
export function ticketState(row: TicketRow | null, x: bigint, now: number): TicketState {
  if (!row) return { state: 'new' };
  if (row.x !== x) return { state: 'conflict', x: row.x, y: row.y };
  if (row.status === 'spent') return { state: 'spent' };
  if (row.status === 'reserved') return row.expiresAt !== null && row.expiresAt > now ? { state: 'in_use' } : { state: 'free' };
  return row.expiresAt !== null && row.expiresAt > now ? { state: 'cooling', until: row.expiresAt } : { state: 'free' };
}

/** What `reserveTicket` got: the ticket, or why not (`revoked`: its account is). */
export type TicketReserveResult =
  | { ok: true }
  | { ok: false; state: 'revoked' }
  | { ok: false; state: 'in_use' | 'spent' }
  | { ok: false; state: 'cooling'; until: number }
  | { ok: false; state: 'conflict'; x: bigint; y: bigint };

/** Two shares of one ticket on two requests: what `slash(nf, x1, y1, x2, y2)` takes. */
export type Evidence = { nullifier: bigint; x1: bigint; y1: bigint; x2: bigint; y2: bigint };

/**
 * How far the on-chain slash built from one piece of evidence got: `pending` (not sent, or to be
 * sent again), `sent` (`tx` waits for its receipt), `slashed` (by `tx`), `already_slashed` (the
 * account was slashed without this evidence), `failed` (the contract refused the evidence; final).
 */
export type SlashState = 'pending' | 'sent' | 'slashed' | 'already_slashed' | 'failed';

/** Evidence as stored, with the account it revoked and its slash. */
export type EvidenceRecord = Evidence & {
  accountId: bigint;
  foundAt: number;
  slashState: SlashState;
  slashTx: `0x${string}` | null;
  slashError: string | null;
  slashAttempts: number;
};

/** An account to revoke: every nullifier it can have, until when to keep them, and the evidence. */
export type Revocation = {
  accountId: bigint;
  /** The account's ticket count (from the contract, or MAX_TICKETS when unknown): `nullifiers.length`. */
  tickets: number;
  /** The account's expiry day, when the contract said. */
  expiryDay: number | null;
  /** Its nullifiers are kept (refused) until this UTC day, inclusive. */
  keepUntilDay: number;
  nullifiers: readonly bigint[];
  evidence: Evidence;
  now: number;
};

/** A metered call to reserve: its verified public inputs, C_max at the time, and the replica that serves it. */
export type MeteredReservation = { nullifier: bigint; x: bigint; y: bigint; cmNew: bigint; cMax: number; replica: string };

/** The state signed for a metered call: refund, penalty, the Schnorr signature, and how the call ended. */
export type MeteredOutcome = {
  r: number;
  p: number;
  sig: { rx: bigint; ry: bigint; s: bigint };
  /** The policy rule, when `p > 0`. */
  reason: string | null;
  /** The HTTP status the client was answered with (null: unknown, e.g. signed after a crash). */
  responseStatus: number | null;
};

/** A metered call as stored: reserved, and once signed, its one state. */
export type MeteredRecord = MeteredReservation & { reservedAt: number; signed: (MeteredOutcome & { signedAt: number }) | null };

/** What `reserveMetered` got: the reservation, or why not (`seen`: this very request was made before; `record` null for a flat ticket). */
export type MeteredReserveResult =
  | { ok: true }
  | { ok: false; state: 'revoked' }
  | { ok: false; state: 'seen'; record: MeteredRecord | null }
  | { ok: false; state: 'conflict'; x: bigint; y: bigint };

/** One row of the public penalty log. */
export type PenaltyRecord = { seq: number; nullifier: bigint; p: number; reason: string; evidenceHash: string; createdAt: number };

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

  // ---- v2 tickets (flat accounts)
  /** Whether the nullifier belongs to a revoked account, and the ticket row if it was seen. */
  lookupTicket(nullifier: bigint): Promise<TicketLookup>;
  /**
   * Atomically claims a ticket for a request with hash `x` and share `y`: a new nullifier is
   * inserted reserved by `token` (exactly one concurrent caller wins); a seen one is taken over
   * only for the same `x` when `free` (unserved and not cooling, or its lease ran out). Otherwise
   * says why not; with another `x`, returns the stored share (evidence once the proof verified).
   */
  reserveTicket(ticket: { nullifier: bigint; x: bigint; y: bigint }, token: string, now: number, ttlMs: number): Promise<TicketReserveResult>;
  /** reserved-by-token → spent. False if the reservation is gone (its lease ran out and it was taken over). */
  commitTicket(nullifier: bigint, token: string, now: number): Promise<boolean>;
  /**
   * reserved-by-token → unserved: no answer reached the client. The row and its share stay. The
   * release is counted, and from the policy's `after`-th one on the ticket cools down.
   */
  releaseTicket(nullifier: bigint, token: string, cooldown: CooldownPolicy): Promise<boolean>;
  /** Whether the account is revoked. */
  isAccountRevoked(accountId: bigint): Promise<boolean>;
  /**
   * In one transaction: the account, every one of its nullifiers (refused from then on) and the
   * evidence (slash `pending`). Idempotent; true iff this call revoked the account.
   */
  revokeAccount(revocation: Revocation): Promise<boolean>;
  /** The stored evidence for a nullifier, or null. */
  getEvidence(nullifier: bigint): Promise<EvidenceRecord | null>;
  /** Evidence whose slash is `pending` or `sent` and not leased to anyone at `now`, oldest first. */
  unsettledSlashes(now: number, limit: number): Promise<EvidenceRecord[]>;
  /** Leases the evidence's slash to `owner` until `now + leaseMs` iff unsettled and not leased; exactly one caller wins. */
  claimSlash(nullifier: bigint, owner: string, now: number, leaseMs: number): Promise<boolean>;
  /** Records the slash transaction `owner` sent (state `sent`), keeping its lease while it waits for the receipt. */
  markSlashSent(nullifier: bigint, owner: string, tx: `0x${string}`, now: number): Promise<boolean>;
  /** Records where `owner`'s slash got and ends its lease (no-op if the lease is not its own). */
  recordSlash(nullifier: bigint, owner: string, outcome: { state: SlashState; tx?: `0x${string}` | null; error?: string | null }, now: number): Promise<boolean>;
  /**
   * Nullifiers of every ticket seen (any status) whose hex digits start with `prefix` (lowercase),
   * above `after` when given, ascending, at most `limit`.
   */
  seenNullifiers(prefix: string, after: bigint | undefined, limit: number): Promise<bigint[]>;

  // ---- v2 metered calls
  /**
   * Atomically reserves a metered call: a new nullifier is inserted (into the shared ticket table,
   * status spent: a metered ticket is never served twice, and into the metered states, unsigned).
   * Exactly one concurrent caller wins. Otherwise says why not; with another `x`, returns the
   * stored share (evidence once the proof verified).
   */
  reserveMetered(call: MeteredReservation, now: number): Promise<MeteredReserveResult>;
  /** The metered call with this nullifier, signed or not; null if none. */
  meteredRecord(nullifier: bigint): Promise<MeteredRecord | null>;
  /**
   * Stores the call's one state iff none is stored yet (compare-and-set), and with a penalty its
   * row in the public log, in one transaction. Returns the stored record: this state when `won`,
   * else the one stored first (a racing replica's, or the sweeper's).
   * @throws when no call with this nullifier is reserved.
   */
  signMetered(nullifier: bigint, outcome: MeteredOutcome, now: number, penalty?: { evidenceHash: string }): Promise<{ won: boolean; record: MeteredRecord }>;
  /** Reserved and unsigned calls, oldest first: of one replica, and/or reserved before a time. */
  unsignedMetered(filter: { replica?: string; reservedBefore?: number }, limit: number): Promise<MeteredRecord[]>;
  /** The public penalty log after `after` (a seq), ascending, at most `limit`. */
  penalties(after: number, limit: number): Promise<PenaltyRecord[]>;

  /** Which of `nullifiers` were seen as tickets (any kind, any status). */
  seenAmong(nullifiers: readonly bigint[]): Promise<Set<bigint>>;
  /** Retention: deletes tickets (and metered states) first seen before `seenBefore` (ms). Returns how many tickets. */
  deleteTicketsSeenBefore(seenBefore: number): Promise<number>;
  /** Retention: forgets the nullifiers of revoked accounts kept until before `day`. Returns how many. */
  deleteRevokedNullifiersBefore(day: number): Promise<number>;
}

/** Canonical storage encoding of a field element (lower-case, 64 hex digits). */
export function hex32(x: bigint): string {
  return `0x${x.toString(16).padStart(64, '0')}`;
}
