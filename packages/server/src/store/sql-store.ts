import { IndexerError } from '../errors.js';
import { CHECKPOINT_BLOCKS, SCHEMA, type DeploymentRecord } from './schema.js';
import type { SqlDialect, SqlSession } from './sql.js';
import {
  cooldownMs,
  hex32,
  type BlockBatch,
  type BlockRef,
  type CooldownPolicy,
  type Cursor,
  type DeploymentIdentity,
  type NullifierState,
  type ReserveResult,
  type RootStatus,
  type Store,
} from './types.js';

/** An integer column as either driver returns it (SQLite: number; PostgreSQL BIGINT: string). */
type Int = number | string;
type NullifierRow = { state: 'reserved' | 'spent'; token: string | null };

/**
 * The store, written once over a `SqlDialect` (SQLite or PostgreSQL). Every method is atomic: one
 * statement, or one transaction. The chain writers are conditional on the cursor (read with a lock
 * in a write transaction), so several replicas may index at once.
 */
export class SqlStore implements Store {
  constructor(private readonly db: SqlDialect) {}

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
