import Database from 'better-sqlite3';
import { IndexerError } from '../errors.js';
import { CHECKPOINT_BLOCKS, SCHEMA, type DeploymentRecord } from './schema.js';
import {
  cooldownMs,
  hex32,
  type BlockBatch,
  type CooldownPolicy,
  type BlockRef,
  type Cursor,
  type DeploymentIdentity,
  type NullifierState,
  type ReserveResult,
  type RootStatus,
  type Store,
} from './types.js';

type Db = Database.Database;

/**
 * Embedded store on SQLite (WAL, one file). Suitable for one server process; several
 * processes on the same file are still safe (every write is one IMMEDIATE transaction).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Db;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = NORMAL');
    this.db.defaultSafeIntegers(false);
  }

  async init(deployment: DeploymentIdentity): Promise<void> {
    const record: DeploymentRecord = {
      chainId: deployment.chainId,
      contract: deployment.contract.toLowerCase(),
      deploymentBlock: deployment.deploymentBlock.toString(),
      emptyRoot: hex32(deployment.emptyRoot),
    };
    this.db
      .transaction(() => {
        for (const sql of SCHEMA) this.db.exec(sql);
        const row = this.db.prepare(`SELECT value FROM zkc_meta WHERE key = 'deployment'`).get() as { value: string } | undefined;
        if (row) {
          if (row.value !== JSON.stringify(record)) {
            throw new IndexerError('deployment_mismatch', `the database belongs to another deployment: ${row.value}; point ZKC_SQLITE_PATH at a fresh file`);
          }
          return;
        }
        const ins = this.db.prepare(`INSERT INTO zkc_meta (key, value) VALUES (?, ?)`);
        ins.run('deployment', JSON.stringify(record));
        ins.run('cursor', JSON.stringify({ number: (deployment.deploymentBlock - 1n).toString(), hash: null }));
        this.db.prepare(`INSERT INTO zkc_roots (seq, root, block_number) VALUES (0, ?, -1)`).run(record.emptyRoot);
      })
      .immediate();
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private cursorSync(): Cursor {
    const row = this.db.prepare(`SELECT value FROM zkc_meta WHERE key = 'cursor'`).get() as { value: string } | undefined;
    if (!row) throw new Error('store is not initialised: call init() first');
    const c = JSON.parse(row.value) as { number: string; hash: `0x${string}` | null };
    const leaves = this.db.prepare(`SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM zkc_leaves`).get() as { n: number };
    const roots = this.db.prepare(`SELECT COALESCE(MAX(seq) + 1, 0) AS n FROM zkc_roots`).get() as { n: number };
    return { number: BigInt(c.number), hash: c.hash, leafCount: Number(leaves.n), rootCount: Number(roots.n) };
  }

  async getCursor(): Promise<Cursor> {
    return this.cursorSync();
  }

  private sameCursor(a: Cursor, b: Cursor): boolean {
    return a.number === b.number && a.hash === b.hash && a.leafCount === b.leafCount && a.rootCount === b.rootCount;
  }

  async appendBlocks(expected: Cursor, batch: BlockBatch): Promise<boolean> {
    return this.db
      .transaction((): boolean => {
        const cursor = this.cursorSync();
        if (!this.sameCursor(cursor, expected)) return false;
        let next = cursor.leafCount;
        let seq = cursor.rootCount;
        const insLeaf = this.db.prepare(`INSERT INTO zkc_leaves (idx, commitment, block_number) VALUES (?, ?, ?)`);
        const insRoot = this.db.prepare(`INSERT INTO zkc_roots (seq, root, block_number) VALUES (?, ?, ?)`);
        const insBlock = this.db.prepare(`INSERT INTO zkc_blocks (number, hash) VALUES (?, ?) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash`);
        for (const p of batch.purchases) {
          if (p.startIndex !== next) {
            throw new IndexerError('leaf_gap', `purchase at block ${p.blockNumber} starts at leaf ${p.startIndex}, expected ${next}`);
          }
          const block = Number(p.blockNumber);
          for (const c of p.commitments) insLeaf.run(next++, hex32(c), block);
          insRoot.run(seq++, hex32(p.newRoot), block);
          insBlock.run(block, p.blockHash);
        }
        insBlock.run(Number(batch.to.number), batch.to.hash);
        this.db
          .prepare(`UPDATE zkc_meta SET value = ? WHERE key = 'cursor'`)
          .run(JSON.stringify({ number: batch.to.number.toString(), hash: batch.to.hash }));
        this.db
          .prepare(
            `DELETE FROM zkc_blocks WHERE number < ? AND NOT EXISTS (SELECT 1 FROM zkc_leaves WHERE block_number = zkc_blocks.number)`,
          )
          .run(Number(batch.to.number - CHECKPOINT_BLOCKS));
        return true;
      })
      .immediate();
  }

  async recentBlocks(below: bigint, limit: number): Promise<BlockRef[]> {
    const rows = this.db
      .prepare(`SELECT number, hash FROM zkc_blocks WHERE number <= ? ORDER BY number DESC LIMIT ?`)
      .all(Number(below), limit) as { number: number; hash: `0x${string}` }[];
    return rows.map((r) => ({ number: BigInt(r.number), hash: r.hash }));
  }

  async rollbackTo(expected: Cursor, ancestor: BlockRef): Promise<boolean> {
    return this.db
      .transaction((): boolean => {
        if (!this.sameCursor(this.cursorSync(), expected)) return false;
        const n = Number(ancestor.number);
        this.db.prepare(`DELETE FROM zkc_leaves WHERE block_number > ?`).run(n);
        this.db.prepare(`DELETE FROM zkc_roots WHERE block_number > ? AND seq > 0`).run(n);
        this.db.prepare(`DELETE FROM zkc_blocks WHERE number > ?`).run(n);
        this.db
          .prepare(`UPDATE zkc_meta SET value = ? WHERE key = 'cursor'`)
          .run(JSON.stringify({ number: ancestor.number.toString(), hash: ancestor.hash }));
        return true;
      })
      .immediate();
  }

  async getLeaves(from: number, limit: number): Promise<bigint[]> {
    const rows = this.db
      .prepare(`SELECT commitment FROM zkc_leaves WHERE idx >= ? ORDER BY idx LIMIT ?`)
      .all(from, limit) as { commitment: string }[];
    return rows.map((r) => BigInt(r.commitment));
  }

  async findLeaf(commitment: bigint): Promise<number | null> {
    const row = this.db.prepare(`SELECT MIN(idx) AS idx FROM zkc_leaves WHERE commitment = ?`).get(hex32(commitment)) as { idx: number | null };
    return row.idx ?? null;
  }

  async rootStatus(root: bigint, window: number): Promise<RootStatus> {
    const row = this.db
      .prepare(`SELECT (SELECT MAX(seq) FROM zkc_roots WHERE root = ?) AS seq, (SELECT MAX(seq) FROM zkc_roots) AS latest`)
      .get(hex32(root)) as { seq: number | null; latest: number | null };
    return classifyRoot(row.seq, row.latest, window);
  }

  async recentRoots(n: number): Promise<bigint[]> {
    const rows = this.db.prepare(`SELECT root FROM zkc_roots ORDER BY seq DESC LIMIT ?`).all(n) as { root: string }[];
    return rows.map((r) => BigInt(r.root));
  }

  async nullifierState(nullifierHash: bigint, now: number): Promise<NullifierState> {
    const row = this.db
      .prepare(`SELECT state, token FROM zkc_nullifiers WHERE nullifier_hash = ? AND (state = 'spent' OR expires_at > ?)`)
      .get(hex32(nullifierHash), now) as { state: 'reserved' | 'spent'; token: string | null } | undefined;
    return stateOf(row);
  }

  async coolingUntil(nullifierHash: bigint, now: number): Promise<number | null> {
    const row = this.db
      .prepare(`SELECT expires_at FROM zkc_nullifiers WHERE nullifier_hash = ? AND state = 'reserved' AND token IS NULL AND expires_at > ?`)
      .get(hex32(nullifierHash), now) as { expires_at: number } | undefined;
    return row ? Number(row.expires_at) : null;
  }

  async reserve(nullifierHash: bigint, token: string, now: number, ttlMs: number): Promise<ReserveResult> {
    const key = hex32(nullifierHash);
    return this.db
      .transaction((): ReserveResult => {
        const won = this.db
          .prepare(
            `INSERT INTO zkc_nullifiers (nullifier_hash, state, token, expires_at, updated_at) VALUES (?, 'reserved', ?, ?, ?)
             ON CONFLICT (nullifier_hash) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at, updated_at = excluded.updated_at
             WHERE zkc_nullifiers.state = 'reserved' AND zkc_nullifiers.expires_at <= ?
             RETURNING token`,
          )
          .get(key, token, now + ttlMs, now, now) as { token: string } | undefined;
        if (won) return { ok: true };
        const row = this.db.prepare(`SELECT state, token FROM zkc_nullifiers WHERE nullifier_hash = ?`).get(key) as { state: 'reserved' | 'spent'; token: string | null };
        return { ok: false, state: stateOf(row)! };
      })
      .immediate();
  }

  async markSpent(nullifierHash: bigint, token: string, now: number): Promise<boolean> {
    const r = this.db
      .prepare(
        `UPDATE zkc_nullifiers SET state = 'spent', token = NULL, expires_at = NULL, updated_at = ?
         WHERE nullifier_hash = ? AND state = 'reserved' AND token = ?`,
      )
      .run(now, hex32(nullifierHash), token);
    return r.changes === 1;
  }

  async release(nullifierHash: bigint, token: string, cooldown?: CooldownPolicy): Promise<boolean> {
    const key = hex32(nullifierHash);
    return this.db
      .transaction((): boolean => {
        const held = this.db.prepare(`SELECT 1 FROM zkc_nullifiers WHERE nullifier_hash = ? AND state = 'reserved' AND token = ?`).get(key, token);
        if (!held) return false;
        const wait = cooldown ? cooldownMs(this.countRelease(key), cooldown.after) : 0;
        if (wait > 0) {
          // Cooling: an unheld reservation that ends with the cooldown.
          this.db.prepare(`UPDATE zkc_nullifiers SET token = NULL, expires_at = ?, updated_at = ? WHERE nullifier_hash = ?`).run(cooldown!.now + wait, cooldown!.now, key);
        } else {
          this.db.prepare(`DELETE FROM zkc_nullifiers WHERE nullifier_hash = ?`).run(key);
        }
        return true;
      })
      .immediate();
  }

  private countRelease(key: string): number {
    const row = this.db
      .prepare(`INSERT INTO zkc_releases (nullifier_hash, releases) VALUES (?, 1) ON CONFLICT (nullifier_hash) DO UPDATE SET releases = releases + 1 RETURNING releases`)
      .get(key) as { releases: number };
    return Number(row.releases);
  }

  async releaseExpired(now: number): Promise<number> {
    return this.db.prepare(`DELETE FROM zkc_nullifiers WHERE state = 'reserved' AND expires_at <= ?`).run(now).changes;
  }
}

/** Shared by both stores: where a root stands in the ring of the last `window` roots. */
export function classifyRoot(seq: number | string | null, latest: number | string | null, window: number): RootStatus {
  if (seq === null || latest === null) return { status: 'unknown' };
  const s = Number(seq);
  const l = Number(latest);
  if (s === l) return { status: 'current', seq: s };
  if (s > l - window) return { status: 'recent', seq: s };
  return { status: 'expired', seq: s };
}

/** A live row's state: an unheld reservation (no token) is a cooling credit. Shared by both stores. */
export function stateOf(row: { state: 'reserved' | 'spent'; token: string | null } | undefined): NullifierState {
  if (!row) return null;
  if (row.state === 'spent') return 'spent';
  return row.token === null ? 'cooling' : 'reserved';
}
