import { IndexerError } from '../errors.js';
import { MeteredSql } from './metered-sql.js';
import { CHECKPOINT_BLOCKS, SCHEMA, type DeploymentRecord } from './schema.js';
import { INSERT_BATCH_ROWS, type SqlDialect, type SqlSession } from './sql.js';
import {
  cooldownMs,
  hex32,
  type BlockBatch,
  type BlockRef,
  ticketState,
  type CooldownPolicy,
  type Cursor,
  type DeploymentIdentity,
  type EvidenceRecord,
  type MeteredOutcome,
  type MeteredRecord,
  type MeteredReservation,
  type MeteredReserveResult,
  type PenaltyRecord,
  type NullifierState,
  type ReserveResult,
  type Revocation,
  type RootStatus,
  type SlashState,
  type Store,
  type TicketLookup,
  type TicketReserveResult,
  type TicketRow,
} from './types.js';

/** An integer column as either driver returns it (SQLite: number; PostgreSQL BIGINT: string). */
type Int = number | string;
type NullifierRow = { state: 'reserved' | 'spent'; token: string | null };
type TicketDbRow = { x: string; y: string; status: TicketRow['status']; expires_at: Int | null; first_seen: Int };
type EvidenceDbRow = {
  nullifier: string;
  account_id: string;
  x1: string;
  y1: string;
  x2: string;
  y2: string;
  found_at: Int;
  slash_state: SlashState;
  slash_tx: `0x${string}` | null;
  slash_error: string | null;
  slash_attempts: Int;
};
const EVIDENCE_COLUMNS = 'nullifier, account_id, x1, y1, x2, y2, found_at, slash_state, slash_tx, slash_error, slash_attempts';

/**
 * The store, written once over a `SqlDialect` (SQLite or PostgreSQL). Every method is atomic: one
 * statement, or one transaction. The chain writers are conditional on the cursor (read with a lock
 * in a write transaction), so several replicas may index at once.
 */
export class SqlStore implements Store {
  private readonly metered: MeteredSql;

  constructor(private readonly db: SqlDialect) {
    this.metered = new MeteredSql(db);
  }

  async init(deployment: DeploymentIdentity): Promise<void> {
    const record: DeploymentRecord = {
      chainId: deployment.chainId,
      contract: deployment.contract.toLowerCase(),
      deploymentBlock: deployment.deploymentBlock.toString(),
      emptyRoot: hex32(deployment.emptyRoot),
    };
    await this.db.transaction('write', async (tx) => {
      await this.db.lockSchema(tx);
      for (const sql of SCHEMA) await tx.run(sql);
      const [row] = await tx.all<{ value: string }>(`SELECT value FROM zkc_meta WHERE key = 'deployment'`);
      if (row) {
        if (row.value !== JSON.stringify(record)) {
          throw new IndexerError('deployment_mismatch', `the database belongs to another deployment: ${row.value}; point ${this.db.setting}`);
        }
        return;
      }
      await tx.insertMany('zkc_meta', ['key', 'value'], [
        ['deployment', JSON.stringify(record)],
        ['cursor', JSON.stringify({ number: (deployment.deploymentBlock - 1n).toString(), hash: null })],
      ]);
      await tx.run(`INSERT INTO zkc_roots (seq, root, block_number) VALUES (0, ?, -1)`, [record.emptyRoot]);
    });
  }

  ping(): Promise<void> {
    return this.db.ping();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---- chain index

  /** The cursor and the tree counts, read in `tx`; `lock` holds the cursor row until `tx` ends. */
  private async cursorIn(tx: SqlSession, lock: boolean): Promise<Cursor> {
    const [row] = await tx.all<{ value: string }>(`SELECT value FROM zkc_meta WHERE key = 'cursor'${lock ? this.db.forUpdate : ''}`);
    if (!row) throw new Error('store is not initialised: call init() first');
    const cursor = JSON.parse(row.value) as { number: string; hash: `0x${string}` | null };
    const [counts] = await tx.all<{ leaves: Int; roots: Int }>(
      `SELECT (SELECT COALESCE(MAX(idx) + 1, 0) FROM zkc_leaves) AS leaves, (SELECT COALESCE(MAX(seq) + 1, 0) FROM zkc_roots) AS roots`,
    );
    return { number: BigInt(cursor.number), hash: cursor.hash, leafCount: Number(counts!.leaves), rootCount: Number(counts!.roots) };
  }

  getCursor(): Promise<Cursor> {
    // One snapshot: cursor and counts must agree even while another replica writes.
    return this.db.transaction('snapshot', (tx) => this.cursorIn(tx, false));
  }

  appendBlocks(expected: Cursor, batch: BlockBatch): Promise<boolean> {
    return this.db.transaction('write', async (tx) => {
      if (!sameCursor(await this.cursorIn(tx, true), expected)) return false;
      let next = expected.leafCount;
      let seq = expected.rootCount;
      const leaves: [number, string, number][] = [];
      const roots: [number, string, number][] = [];
      const blocks = new Map<number, string>();
      for (const p of batch.purchases) {
        if (p.startIndex !== next) {
          throw new IndexerError('leaf_gap', `purchase at block ${p.blockNumber} starts at leaf ${p.startIndex}, expected ${next}`);
        }
        const block = Number(p.blockNumber);
        for (const c of p.commitments) leaves.push([next++, hex32(c), block]);
        roots.push([seq++, hex32(p.newRoot), block]);
        blocks.set(block, p.blockHash);
      }
      blocks.set(Number(batch.to.number), batch.to.hash);
      await tx.insertMany('zkc_leaves', ['idx', 'commitment', 'block_number'], leaves);
      await tx.insertMany('zkc_roots', ['seq', 'root', 'block_number'], roots);
      await tx.insertMany('zkc_blocks', ['number', 'hash'], [...blocks], 'ON CONFLICT (number) DO UPDATE SET hash = excluded.hash');
      await tx.run(`UPDATE zkc_meta SET value = ? WHERE key = 'cursor'`, [JSON.stringify({ number: batch.to.number.toString(), hash: batch.to.hash })]);
      await tx.run(`DELETE FROM zkc_blocks WHERE number < ? AND NOT EXISTS (SELECT 1 FROM zkc_leaves WHERE zkc_leaves.block_number = zkc_blocks.number)`, [
        Number(batch.to.number - CHECKPOINT_BLOCKS),
      ]);
      return true;
    });
  }

  async recentBlocks(below: bigint, limit: number): Promise<BlockRef[]> {
    const rows = await this.db.all<{ number: Int; hash: `0x${string}` }>(`SELECT number, hash FROM zkc_blocks WHERE number <= ? ORDER BY number DESC LIMIT ?`, [
      Number(below),
      limit,
    ]);
    return rows.map((r) => ({ number: BigInt(r.number), hash: r.hash }));
  }

  rollbackTo(expected: Cursor, ancestor: BlockRef): Promise<boolean> {
    return this.db.transaction('write', async (tx) => {
      if (!sameCursor(await this.cursorIn(tx, true), expected)) return false;
      const n = Number(ancestor.number);
      await tx.run(`DELETE FROM zkc_leaves WHERE block_number > ?`, [n]);
      await tx.run(`DELETE FROM zkc_roots WHERE block_number > ? AND seq > 0`, [n]);
      await tx.run(`DELETE FROM zkc_blocks WHERE number > ?`, [n]);
      await tx.run(`UPDATE zkc_meta SET value = ? WHERE key = 'cursor'`, [JSON.stringify({ number: ancestor.number.toString(), hash: ancestor.hash })]);
      return true;
    });
  }

  async getLeaves(from: number, limit: number): Promise<bigint[]> {
    const rows = await this.db.all<{ commitment: string }>(`SELECT commitment FROM zkc_leaves WHERE idx >= ? ORDER BY idx LIMIT ?`, [from, limit]);
    return rows.map((r) => BigInt(r.commitment));
  }

  async rootStatus(root: bigint, window: number): Promise<RootStatus> {
    const [row] = await this.db.all<{ seq: Int | null; latest: Int | null }>(
      `SELECT (SELECT MAX(seq) FROM zkc_roots WHERE root = ?) AS seq, (SELECT MAX(seq) FROM zkc_roots) AS latest`,
      [hex32(root)],
    );
    return classifyRoot(row!.seq, row!.latest, window);
  }

  async recentRoots(n: number): Promise<bigint[]> {
    const rows = await this.db.all<{ root: string }>(`SELECT root FROM zkc_roots ORDER BY seq DESC LIMIT ?`, [n]);
    return rows.map((r) => BigInt(r.root));
  }

  // ---- nullifiers

  async nullifierState(nullifierHash: bigint, now: number): Promise<NullifierState> {
    const [row] = await this.db.all<NullifierRow>(`SELECT state, token FROM zkc_nullifiers WHERE nullifier_hash = ? AND (state = 'spent' OR expires_at > ?)`, [
      hex32(nullifierHash),
      now,
    ]);
    return stateOf(row);
  }

  async coolingUntil(nullifierHash: bigint, now: number): Promise<number | null> {
    const [row] = await this.db.all<{ expires_at: Int }>(
      `SELECT expires_at FROM zkc_nullifiers WHERE nullifier_hash = ? AND state = 'reserved' AND token IS NULL AND expires_at > ?`,
      [hex32(nullifierHash), now],
    );
    return row ? Number(row.expires_at) : null;
  }

  reserve(nullifierHash: bigint, token: string, now: number, ttlMs: number): Promise<ReserveResult> {
    const key = hex32(nullifierHash);
    return this.db.transaction('write', async (tx) => {
      // Concurrent inserts of one key serialise on its primary key: exactly one caller gets a row back.
      const won = await tx.all(
        `INSERT INTO zkc_nullifiers (nullifier_hash, state, token, expires_at, updated_at) VALUES (?, 'reserved', ?, ?, ?)
         ON CONFLICT (nullifier_hash) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at, updated_at = excluded.updated_at
         WHERE zkc_nullifiers.state = 'reserved' AND zkc_nullifiers.expires_at <= ?
         RETURNING token`,
        [key, token, now + ttlMs, now, now],
      );
      if (won.length === 1) return { ok: true };
      const [row] = await tx.all<NullifierRow>(`SELECT state, token FROM zkc_nullifiers WHERE nullifier_hash = ?`, [key]);
      // The conflict left the row locked (PostgreSQL) or the database (SQLite): it is there. Were it
      // gone, its holder released it: "in use" makes the client retry rather than give up.
      return { ok: false, state: stateOf(row) ?? 'reserved' };
    });
  }

  async markSpent(nullifierHash: bigint, token: string, now: number): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE zkc_nullifiers SET state = 'spent', token = NULL, expires_at = NULL, updated_at = ?
       WHERE nullifier_hash = ? AND state = 'reserved' AND token = ?`,
      [now, hex32(nullifierHash), token],
    );
    return changed === 1;
  }

  release(nullifierHash: bigint, token: string, cooldown?: CooldownPolicy): Promise<boolean> {
    const key = hex32(nullifierHash);
    return this.db.transaction('write', async (tx) => {
      const held = await tx.all(`SELECT 1 AS held FROM zkc_nullifiers WHERE nullifier_hash = ? AND state = 'reserved' AND token = ?${this.db.forUpdate}`, [key, token]);
      if (held.length !== 1) return false;
      let wait = 0;
      if (cooldown) {
        const [count] = await tx.all<{ releases: Int }>(
          `INSERT INTO zkc_releases (nullifier_hash, releases) VALUES (?, 1)
           ON CONFLICT (nullifier_hash) DO UPDATE SET releases = zkc_releases.releases + 1 RETURNING releases`,
          [key],
        );
        wait = cooldownMs(Number(count!.releases), cooldown.after);
      }
      if (wait > 0) {
        // Cooling: an unheld reservation that ends with the cooldown.
        await tx.run(`UPDATE zkc_nullifiers SET token = NULL, expires_at = ?, updated_at = ? WHERE nullifier_hash = ?`, [cooldown!.now + wait, cooldown!.now, key]);
      } else {
        await tx.run(`DELETE FROM zkc_nullifiers WHERE nullifier_hash = ?`, [key]);
      }
      return true;
    });
  }

  releaseExpired(now: number): Promise<number> {
    return this.db.run(`DELETE FROM zkc_nullifiers WHERE state = 'reserved' AND expires_at <= ?`, [now]);
  }

  // ---- v2 tickets

  async lookupTicket(nullifier: bigint): Promise<TicketLookup> {
    const key = hex32(nullifier);
    // One round trip: the revoked flag beside the ticket row (if any).
    const [row] = await this.db.all<{ revoked: Int | null } & Partial<TicketDbRow>>(
      `SELECT (SELECT 1 FROM zkc_revoked_nullifiers WHERE nullifier = ?) AS revoked, t.x, t.y, t.status, t.expires_at, t.first_seen
       FROM (SELECT 1 AS one) AS probe LEFT JOIN zkc_tickets AS t ON t.nullifier = ?`,
      [key, key],
    );
    return { revoked: row?.revoked != null, ticket: row?.status ? ticketRow(row as TicketDbRow) : null };
  }

  reserveTicket(ticket: { nullifier: bigint; x: bigint; y: bigint }, token: string, now: number, ttlMs: number): Promise<TicketReserveResult> {
    const key = hex32(ticket.nullifier);
    const x = hex32(ticket.x);
    return this.db.transaction('write', async (tx) => {
      const revoked = await tx.all(`SELECT 1 AS revoked FROM zkc_revoked_nullifiers WHERE nullifier = ?`, [key]);
      if (revoked.length > 0) return { ok: false, state: 'revoked' } as const;
      // Concurrent inserts of one key serialise on its primary key: exactly one caller gets a row
      // back. A seen ticket is taken over only for the same x, never answered, not held, not cooling.
      const won = await tx.all(
        `INSERT INTO zkc_tickets (nullifier, x, y, status, token, expires_at, first_seen, updated_at) VALUES (?, ?, ?, 'reserved', ?, ?, ?, ?)
         ON CONFLICT (nullifier) DO UPDATE SET status = 'reserved', token = excluded.token, expires_at = excluded.expires_at, updated_at = excluded.updated_at
         WHERE zkc_tickets.x = excluded.x AND zkc_tickets.status <> 'spent' AND (zkc_tickets.expires_at IS NULL OR zkc_tickets.expires_at <= ?)
         RETURNING token`,
        [key, x, hex32(ticket.y), token, now + ttlMs, now, now, now],
      );
      if (won.length === 1) return { ok: true } as const;
      // The conflict left the row locked (PostgreSQL) or the database (SQLite): it is there.
      const [row] = await tx.all<TicketDbRow>(`SELECT x, y, status, expires_at, first_seen FROM zkc_tickets WHERE nullifier = ?`, [key]);
      const state = ticketState(row ? ticketRow(row) : null, ticket.x, now);
      if (state.state === 'conflict') return { ok: false, state: 'conflict', x: state.x, y: state.y } as const;
      if (state.state === 'cooling') return { ok: false, state: 'cooling', until: state.until } as const;
      return { ok: false, state: state.state === 'spent' ? 'spent' : 'in_use' } as const;
    });
  }

  async commitTicket(nullifier: bigint, token: string, now: number): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE zkc_tickets SET status = 'spent', token = NULL, expires_at = NULL, updated_at = ? WHERE nullifier = ? AND status = 'reserved' AND token = ?`,
      [now, hex32(nullifier), token],
    );
    return changed === 1;
  }

  releaseTicket(nullifier: bigint, token: string, cooldown: CooldownPolicy): Promise<boolean> {
    const key = hex32(nullifier);
    return this.db.transaction('write', async (tx) => {
      const held = await tx.all(`SELECT 1 AS held FROM zkc_tickets WHERE nullifier = ? AND status = 'reserved' AND token = ?${this.db.forUpdate}`, [key, token]);
      if (held.length !== 1) return false;
      // Counted with v1's releases: the two nullifier domains never meet (different tags).
      const [count] = await tx.all<{ releases: Int }>(
        `INSERT INTO zkc_releases (nullifier_hash, releases) VALUES (?, 1)
         ON CONFLICT (nullifier_hash) DO UPDATE SET releases = zkc_releases.releases + 1 RETURNING releases`,
        [key],
      );
      const wait = cooldownMs(Number(count!.releases), cooldown.after);
      await tx.run(`UPDATE zkc_tickets SET status = 'unserved', token = NULL, expires_at = ?, updated_at = ? WHERE nullifier = ?`, [
        wait > 0 ? cooldown.now + wait : null,
        cooldown.now,
        key,
      ]);
      return true;
    });
  }

  async isAccountRevoked(accountId: bigint): Promise<boolean> {
    return (await this.db.all(`SELECT 1 AS revoked FROM zkc_revoked_accounts WHERE account_id = ?`, [hex32(accountId)])).length > 0;
  }

  revokeAccount(r: Revocation): Promise<boolean> {
    const id = hex32(r.accountId);
    const e = r.evidence;
    return this.db.transaction('write', async (tx) => {
      const added = await tx.all(
        `INSERT INTO zkc_revoked_accounts (account_id, tickets, expiry_day, keep_until_day, revoked_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id) DO NOTHING RETURNING account_id`,
        [id, r.tickets, r.expiryDay, r.keepUntilDay, r.now],
      );
      if (added.length === 1) {
        await tx.insertMany(
          'zkc_revoked_nullifiers',
          ['nullifier', 'account_id'],
          r.nullifiers.map((nf) => [hex32(nf), id]),
          'ON CONFLICT (nullifier) DO NOTHING',
        );
      }
      await tx.run(
        `INSERT INTO zkc_evidence (nullifier, account_id, x1, y1, x2, y2, found_at, slash_state, slash_attempts, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
         ON CONFLICT (nullifier) DO NOTHING`,
        [hex32(e.nullifier), id, hex32(e.x1), hex32(e.y1), hex32(e.x2), hex32(e.y2), r.now, r.now],
      );
      return added.length === 1;
    });
  }

  async getEvidence(nullifier: bigint): Promise<EvidenceRecord | null> {
    const [row] = await this.db.all<EvidenceDbRow>(`SELECT ${EVIDENCE_COLUMNS} FROM zkc_evidence WHERE nullifier = ?`, [hex32(nullifier)]);
    return row ? evidenceRecord(row) : null;
  }

  async unsettledSlashes(now: number, limit: number): Promise<EvidenceRecord[]> {
    const rows = await this.db.all<EvidenceDbRow>(
      `SELECT ${EVIDENCE_COLUMNS} FROM zkc_evidence
       WHERE slash_state IN ('pending', 'sent') AND (lease_until IS NULL OR lease_until <= ?) ORDER BY found_at, nullifier LIMIT ?`,
      [now, limit],
    );
    return rows.map(evidenceRecord);
  }

  async claimSlash(nullifier: bigint, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE zkc_evidence SET lease_owner = ?, lease_until = ?, slash_attempts = slash_attempts + 1, updated_at = ?
       WHERE nullifier = ? AND slash_state IN ('pending', 'sent') AND (lease_until IS NULL OR lease_until <= ?)`,
      [owner, now + leaseMs, now, hex32(nullifier), now],
    );
    return changed === 1;
  }

  async markSlashSent(nullifier: bigint, owner: string, tx: `0x${string}`, now: number): Promise<boolean> {
    const changed = await this.db.run(`UPDATE zkc_evidence SET slash_state = 'sent', slash_tx = ?, slash_error = NULL, updated_at = ? WHERE nullifier = ? AND lease_owner = ?`, [
      tx,
      now,
      hex32(nullifier),
      owner,
    ]);
    return changed === 1;
  }

  async recordSlash(nullifier: bigint, owner: string, outcome: { state: SlashState; tx?: `0x${string}` | null; error?: string | null }, now: number): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE zkc_evidence SET slash_state = ?, slash_tx = COALESCE(?, slash_tx), slash_error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
       WHERE nullifier = ? AND lease_owner = ?`,
      [outcome.state, outcome.tx ?? null, outcome.error ?? null, now, hex32(nullifier), owner],
    );
    return changed === 1;
  }

  async seenNullifiers(prefix: string, after: bigint | undefined, limit: number): Promise<bigint[]> {
    if (!/^[0-9a-f]{1,64}$/.test(prefix)) throw new RangeError(`prefix must be 1-64 lowercase hex digits, got ${JSON.stringify(prefix)}`);
    // hex32 is fixed-width lowercase: text order is numeric order, and a prefix is a range.
    const low = `0x${prefix.padEnd(64, '0')}`;
    const high = `0x${prefix.padEnd(64, 'f')}`;
    const rows = await this.db.all<{ nullifier: string }>(
      `SELECT nullifier FROM zkc_tickets WHERE nullifier >= ? AND nullifier <= ? AND nullifier > ? ORDER BY nullifier LIMIT ?`,
      [low, high, after === undefined ? '' : hex32(after), limit],
    );
    return rows.map((r) => BigInt(r.nullifier));
  }

  async seenAmong(nullifiers: readonly bigint[]): Promise<Set<bigint>> {
    const out = new Set<bigint>();
    for (let i = 0; i < nullifiers.length; i += INSERT_BATCH_ROWS) {
      const batch = nullifiers.slice(i, i + INSERT_BATCH_ROWS);
      const rows = await this.db.all<{ nullifier: string }>(`SELECT nullifier FROM zkc_tickets WHERE nullifier IN (${batch.map(() => '?').join(', ')})`, batch.map(hex32));
      for (const r of rows) out.add(BigInt(r.nullifier));
    }
    return out;
  }

  deleteTicketsSeenBefore(seenBefore: number): Promise<number> {
    return this.db.transaction('write', async (tx) => {
      await this.metered.deleteReservedBefore(tx, seenBefore);
      return tx.run(`DELETE FROM zkc_tickets WHERE first_seen < ?`, [seenBefore]);
    });
  }

  // ---- v2 metered calls

  reserveMetered(call: MeteredReservation, now: number): Promise<MeteredReserveResult> {
    return this.metered.reserve(call, now);
  }

  meteredRecord(nullifier: bigint): Promise<MeteredRecord | null> {
    return this.metered.record(nullifier);
  }

  signMetered(nullifier: bigint, outcome: MeteredOutcome, now: number, penalty?: { evidenceHash: string }): Promise<{ won: boolean; record: MeteredRecord }> {
    return this.metered.sign(nullifier, outcome, now, penalty);
  }

  unsignedMetered(filter: { replica?: string; reservedBefore?: number }, limit: number): Promise<MeteredRecord[]> {
    return this.metered.unsigned(filter, limit);
  }

  penalties(after: number, limit: number): Promise<PenaltyRecord[]> {
    return this.metered.penalties(after, limit);
  }

  deleteRevokedNullifiersBefore(day: number): Promise<number> {
    return this.db.run(
      `DELETE FROM zkc_revoked_nullifiers WHERE account_id IN (SELECT account_id FROM zkc_revoked_accounts WHERE keep_until_day < ?)`,
      [day],
    );
  }
}

function ticketRow(row: TicketDbRow): TicketRow {
  return {
    x: BigInt(row.x),
    y: BigInt(row.y),
    status: row.status,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    firstSeen: Number(row.first_seen),
  };
}

function evidenceRecord(row: EvidenceDbRow): EvidenceRecord {
  return {
    nullifier: BigInt(row.nullifier),
    accountId: BigInt(row.account_id),
    x1: BigInt(row.x1),
    y1: BigInt(row.y1),
    x2: BigInt(row.x2),
    y2: BigInt(row.y2),
    foundAt: Number(row.found_at),
    slashState: row.slash_state,
    slashTx: row.slash_tx,
    slashError: row.slash_error,
    slashAttempts: Number(row.slash_attempts),
  };
}

function sameCursor(a: Cursor, b: Cursor): boolean {
  return a.number === b.number && a.hash === b.hash && a.leafCount === b.leafCount && a.rootCount === b.rootCount;
}

/** Where a root stands in the ring of the last `window` roots. */
function classifyRoot(seq: Int | null, latest: Int | null, window: number): RootStatus {
  if (seq === null || latest === null) return { status: 'unknown' };
  const s = Number(seq);
  const l = Number(latest);
  if (s === l) return { status: 'current', seq: s };
  if (s > l - window) return { status: 'recent', seq: s };
  return { status: 'expired', seq: s };
}

/** A live row's state: an unheld reservation (no token) is a cooling credit. */
function stateOf(row: NullifierRow | undefined): NullifierState {
  if (!row) return null;
  if (row.state === 'spent') return 'spent';
  return row.token === null ? 'cooling' : 'reserved';
}
