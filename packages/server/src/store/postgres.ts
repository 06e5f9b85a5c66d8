import pg from 'pg';
import { IndexerError } from '../errors.js';
import { CHECKPOINT_BLOCKS, SCHEMA, type DeploymentRecord } from './schema.js';
import { classifyRoot, stateOf } from './sqlite.js';
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

/** Advisory lock key serialising schema creation across replicas ("zkc-init"). */
const INIT_LOCK = 0x7a6b632d696e6974n;

/**
 * PostgreSQL store for several replicas. Atomicity comes from single statements
 * (`INSERT … ON CONFLICT … RETURNING`) and from row-locking the cursor in index writers.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(connectionString: string, options: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async init(deployment: DeploymentIdentity): Promise<void> {
    const record: DeploymentRecord = {
      chainId: deployment.chainId,
      contract: deployment.contract.toLowerCase(),
      deploymentBlock: deployment.deploymentBlock.toString(),
      emptyRoot: hex32(deployment.emptyRoot),
    };
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [INIT_LOCK.toString()]);
      for (const sql of SCHEMA) await c.query(sql);
      const { rows } = await c.query<{ value: string }>(`SELECT value FROM zkc_meta WHERE key = 'deployment'`);
      if (rows[0]) {
        if (rows[0].value !== JSON.stringify(record)) {
          throw new IndexerError('deployment_mismatch', `the database belongs to another deployment: ${rows[0].value}; point ZKC_DATABASE_URL at a fresh database`);
        }
        return;
      }
      await c.query(`INSERT INTO zkc_meta (key, value) VALUES ($1, $2), ($3, $4)`, [
        'deployment',
        JSON.stringify(record),
        'cursor',
        JSON.stringify({ number: (deployment.deploymentBlock - 1n).toString(), hash: null }),
      ]);
      await c.query(`INSERT INTO zkc_roots (seq, root, block_number) VALUES (0, $1, -1)`, [record.emptyRoot]);
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async cursorOf(c: pg.ClientBase, lock: boolean): Promise<Cursor> {
    const { rows } = await c.query<{ value: string }>(`SELECT value FROM zkc_meta WHERE key = 'cursor'${lock ? ' FOR UPDATE' : ''}`);
    if (!rows[0]) throw new Error('store is not initialised: call init() first');
    const cur = JSON.parse(rows[0].value) as { number: string; hash: `0x${string}` | null };
    const { rows: counts } = await c.query<{ leaves: string; roots: string }>(
      `SELECT (SELECT COALESCE(MAX(idx) + 1, 0) FROM zkc_leaves) AS leaves, (SELECT COALESCE(MAX(seq) + 1, 0) FROM zkc_roots) AS roots`,
    );
    return { number: BigInt(cur.number), hash: cur.hash, leafCount: Number(counts[0]!.leaves), rootCount: Number(counts[0]!.roots) };
  }

  async getCursor(): Promise<Cursor> {
    // One snapshot: cursor and counts must agree even while another replica writes.
    return this.tx(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      return this.cursorOf(c, false);
    });
  }

  private same(a: Cursor, b: Cursor): boolean {
    return a.number === b.number && a.hash === b.hash && a.leafCount === b.leafCount && a.rootCount === b.rootCount;
  }

  async appendBlocks(expected: Cursor, batch: BlockBatch): Promise<boolean> {
    return this.tx(async (c) => {
      if (!this.same(await this.cursorOf(c, true), expected)) return false;
      let next = expected.leafCount;
      let seq = expected.rootCount;
      const idx: string[] = [];
      const commitments: string[] = [];
      const leafBlocks: string[] = [];
      const rootSeqs: string[] = [];
      const roots: string[] = [];
      const rootBlocks: string[] = [];
      const blocks = new Map<string, string>();
      for (const p of batch.purchases) {
        if (p.startIndex !== next) {
          throw new IndexerError('leaf_gap', `purchase at block ${p.blockNumber} starts at leaf ${p.startIndex}, expected ${next}`);
        }
        for (const cm of p.commitments) {
          idx.push(String(next++));
          commitments.push(hex32(cm));
          leafBlocks.push(p.blockNumber.toString());
        }
        rootSeqs.push(String(seq++));
        roots.push(hex32(p.newRoot));
        rootBlocks.push(p.blockNumber.toString());
        blocks.set(p.blockNumber.toString(), p.blockHash);
      }
      blocks.set(batch.to.number.toString(), batch.to.hash);
      if (idx.length > 0) {
        await c.query(
          `INSERT INTO zkc_leaves (idx, commitment, block_number) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])`,
          [idx, commitments, leafBlocks],
        );
      }
      if (roots.length > 0) {
        await c.query(`INSERT INTO zkc_roots (seq, root, block_number) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])`, [
          rootSeqs,
          roots,
          rootBlocks,
        ]);
      }
      await c.query(
        `INSERT INTO zkc_blocks (number, hash) SELECT * FROM unnest($1::bigint[], $2::text[])
         ON CONFLICT (number) DO UPDATE SET hash = excluded.hash`,
        [[...blocks.keys()], [...blocks.values()]],
      );
      await c.query(`UPDATE zkc_meta SET value = $1 WHERE key = 'cursor'`, [
        JSON.stringify({ number: batch.to.number.toString(), hash: batch.to.hash }),
      ]);
      await c.query(
        `DELETE FROM zkc_blocks b WHERE b.number < $1 AND NOT EXISTS (SELECT 1 FROM zkc_leaves l WHERE l.block_number = b.number)`,
        [(batch.to.number - CHECKPOINT_BLOCKS).toString()],
      );
      return true;
    });
  }

  async recentBlocks(below: bigint, limit: number): Promise<BlockRef[]> {
    const { rows } = await this.pool.query<{ number: string; hash: `0x${string}` }>(
      `SELECT number, hash FROM zkc_blocks WHERE number <= $1 ORDER BY number DESC LIMIT $2`,
      [below.toString(), limit],
    );
    return rows.map((r) => ({ number: BigInt(r.number), hash: r.hash }));
  }

  async rollbackTo(expected: Cursor, ancestor: BlockRef): Promise<boolean> {
    return this.tx(async (c) => {
      if (!this.same(await this.cursorOf(c, true), expected)) return false;
      const n = ancestor.number.toString();
      await c.query(`DELETE FROM zkc_leaves WHERE block_number > $1`, [n]);
      await c.query(`DELETE FROM zkc_roots WHERE block_number > $1 AND seq > 0`, [n]);
      await c.query(`DELETE FROM zkc_blocks WHERE number > $1`, [n]);
      await c.query(`UPDATE zkc_meta SET value = $1 WHERE key = 'cursor'`, [JSON.stringify({ number: n, hash: ancestor.hash })]);
      return true;
    });
  }

  async getLeaves(from: number, limit: number): Promise<bigint[]> {
    const { rows } = await this.pool.query<{ commitment: string }>(
      `SELECT commitment FROM zkc_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2`,
      [from, limit],
    );
    return rows.map((r) => BigInt(r.commitment));
  }

  async findLeaf(commitment: bigint): Promise<number | null> {
    const { rows } = await this.pool.query<{ idx: string | null }>(`SELECT MIN(idx) AS idx FROM zkc_leaves WHERE commitment = $1`, [
      hex32(commitment),
    ]);
    return rows[0]?.idx == null ? null : Number(rows[0].idx);
  }

  async rootStatus(root: bigint, window: number): Promise<RootStatus> {
    const { rows } = await this.pool.query<{ seq: string | null; latest: string | null }>(
      `SELECT (SELECT MAX(seq) FROM zkc_roots WHERE root = $1) AS seq, (SELECT MAX(seq) FROM zkc_roots) AS latest`,
      [hex32(root)],
    );
    return classifyRoot(rows[0]!.seq, rows[0]!.latest, window);
  }

  async recentRoots(n: number): Promise<bigint[]> {
    const { rows } = await this.pool.query<{ root: string }>(`SELECT root FROM zkc_roots ORDER BY seq DESC LIMIT $1`, [n]);
    return rows.map((r) => BigInt(r.root));
  }

  async nullifierState(nullifierHash: bigint, now: number): Promise<NullifierState> {
    const { rows } = await this.pool.query<{ state: 'reserved' | 'spent'; token: string | null }>(
      `SELECT state, token FROM zkc_nullifiers WHERE nullifier_hash = $1 AND (state = 'spent' OR expires_at > $2)`,
      [hex32(nullifierHash), now],
    );
    return stateOf(rows[0]);
  }

  async coolingUntil(nullifierHash: bigint, now: number): Promise<number | null> {
    const { rows } = await this.pool.query<{ expires_at: string }>(
      `SELECT expires_at FROM zkc_nullifiers WHERE nullifier_hash = $1 AND state = 'reserved' AND token IS NULL AND expires_at > $2`,
      [hex32(nullifierHash), now],
    );
    return rows[0] ? Number(rows[0].expires_at) : null;
  }

  async reserve(nullifierHash: bigint, token: string, now: number, ttlMs: number): Promise<ReserveResult> {
    const key = hex32(nullifierHash);
    // One statement: concurrent inserts of the same key serialise on the unique index,
    // so exactly one caller gets a row back.
    const { rows } = await this.pool.query(
      `INSERT INTO zkc_nullifiers (nullifier_hash, state, token, expires_at, updated_at) VALUES ($1, 'reserved', $2, $3, $4)
       ON CONFLICT (nullifier_hash) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at, updated_at = excluded.updated_at
       WHERE zkc_nullifiers.state = 'reserved' AND zkc_nullifiers.expires_at <= $4
       RETURNING token`,
      [key, token, now + ttlMs, now],
    );
    if (rows.length === 1) return { ok: true };
    const state = await this.nullifierState(nullifierHash, now);
    // Gone between the two statements: its holder released it. Report "in use" so the
    // client retries rather than believing the credit is spent.
    return { ok: false, state: state ?? 'reserved' };
  }

  async markSpent(nullifierHash: bigint, token: string, now: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE zkc_nullifiers SET state = 'spent', token = NULL, expires_at = NULL, updated_at = $1
       WHERE nullifier_hash = $2 AND state = 'reserved' AND token = $3`,
      [now, hex32(nullifierHash), token],
    );
    return r.rowCount === 1;
  }

  async release(nullifierHash: bigint, token: string, cooldown?: CooldownPolicy): Promise<boolean> {
    const key = hex32(nullifierHash);
    if (!cooldown) {
      const r = await this.pool.query(`DELETE FROM zkc_nullifiers WHERE nullifier_hash = $1 AND state = 'reserved' AND token = $2`, [key, token]);
      return r.rowCount === 1;
    }
    return this.tx(async (c) => {
      const held = await c.query(`SELECT 1 FROM zkc_nullifiers WHERE nullifier_hash = $1 AND state = 'reserved' AND token = $2 FOR UPDATE`, [key, token]);
      if (held.rowCount !== 1) return false;
      const { rows } = await c.query<{ releases: string }>(
        `INSERT INTO zkc_releases (nullifier_hash, releases) VALUES ($1, 1)
         ON CONFLICT (nullifier_hash) DO UPDATE SET releases = zkc_releases.releases + 1 RETURNING releases`,
        [key],
      );
      const wait = cooldownMs(Number(rows[0]!.releases), cooldown.after);
      if (wait > 0) {
        // Cooling: an unheld reservation that ends with the cooldown.
        await c.query(`UPDATE zkc_nullifiers SET token = NULL, expires_at = $2, updated_at = $3 WHERE nullifier_hash = $1`, [key, cooldown.now + wait, cooldown.now]);
      } else {
        await c.query(`DELETE FROM zkc_nullifiers WHERE nullifier_hash = $1`, [key]);
      }
      return true;
    });
  }

  async releaseExpired(now: number): Promise<number> {
    const r = await this.pool.query(`DELETE FROM zkc_nullifiers WHERE state = 'reserved' AND expires_at <= $1`, [now]);
    return r.rowCount ?? 0;
  }
}
