import type { SqlDialect, SqlSession } from './sql.js';
import { hex32, type MeteredOutcome, type MeteredRecord, type MeteredReservation, type MeteredReserveResult, type PenaltyRecord } from './types.js';

/** An integer column as either driver returns it (SQLite: number; PostgreSQL BIGINT: string). */
type Int = number | string;
type MeteredDbRow = {
  nullifier: string;
  x: string;
  y: string;
  cm_new: string;
  c_max: Int;
  r: Int | null;
  p: Int | null;
  sig_rx: string | null;
  sig_ry: string | null;
  sig_s: string | null;
  reason: string | null;
  response_status: Int | null;
  replica: string;
  reserved_at: Int;
  signed_at: Int | null;
};
const COLUMNS = 'nullifier, x, y, cm_new, c_max, r, p, sig_rx, sig_ry, sig_s, reason, response_status, replica, reserved_at, signed_at';

/**
 * The metered-call half of the SQL store (protocol v2 step 2), written once for both dialects.
 * A reserved nullifier gets exactly one signed state: signing is a compare-and-set on
 * `signed_at IS NULL`, so of two signers (two replicas, or a replica and the sweeper) the first
 * wins and the second reads the stored state.
 */
export class MeteredSql {
  constructor(private readonly db: SqlDialect) {}

  reserve(call: MeteredReservation, now: number): Promise<MeteredReserveResult> {
    const key = hex32(call.nullifier);
    return this.db.transaction('write', async (tx) => {
      const revoked = await tx.all(`SELECT 1 AS revoked FROM zkc_revoked_nullifiers WHERE nullifier = ?`, [key]);
      if (revoked.length > 0) return { ok: false, state: 'revoked' } as const;
      // The shared nullifier space: concurrent inserts of one key serialise on its primary key.
      // A metered ticket is "spent" from its reservation on: it is never served again, whatever happens.
      const won = await tx.all(
        `INSERT INTO zkc_tickets (nullifier, x, y, status, token, expires_at, first_seen, updated_at) VALUES (?, ?, ?, 'spent', NULL, NULL, ?, ?)
         ON CONFLICT (nullifier) DO NOTHING RETURNING nullifier`,
        [key, hex32(call.x), hex32(call.y), now, now],
      );
      if (won.length === 1) {
        await tx.run(`INSERT INTO zkc_metered_states (nullifier, x, y, cm_new, c_max, replica, reserved_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
          key,
          hex32(call.x),
          hex32(call.y),
          hex32(call.cmNew),
          call.cMax,
          call.replica,
          now,
        ]);
        return { ok: true } as const;
      }
      const [seen] = await tx.all<{ x: string; y: string }>(`SELECT x, y FROM zkc_tickets WHERE nullifier = ?${this.db.forUpdate}`, [key]);
      if (seen && BigInt(seen.x) !== call.x) return { ok: false, state: 'conflict', x: BigInt(seen.x), y: BigInt(seen.y) } as const;
      return { ok: false, state: 'seen', record: await this.recordIn(tx, key) } as const;
    });
  }

  record(nullifier: bigint): Promise<MeteredRecord | null> {
    return this.recordIn(this.db, hex32(nullifier));
  }

  sign(nullifier: bigint, o: MeteredOutcome, now: number, penalty?: { evidenceHash: string }): Promise<{ won: boolean; record: MeteredRecord }> {
    const key = hex32(nullifier);
    return this.db.transaction('write', async (tx) => {
      const changed = await tx.run(
        `UPDATE zkc_metered_states SET r = ?, p = ?, sig_rx = ?, sig_ry = ?, sig_s = ?, reason = ?, response_status = ?, signed_at = ?
         WHERE nullifier = ? AND signed_at IS NULL`,
        [o.r, o.p, hex32(o.sig.rx), hex32(o.sig.ry), hex32(o.sig.s), o.reason, o.responseStatus, now, key],
      );
      const won = changed === 1;
      if (won && o.p > 0) {
        // The counter row's lock orders concurrent signers: a later seq is always committed later.
        const [next] = await tx.all<{ value: string }>(`UPDATE zkc_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'policy_seq' RETURNING value`);
        await tx.run(`INSERT INTO zkc_policy_log (seq, nullifier, p, reason, evidence_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`, [
          Number(next!.value),
          key,
          o.p,
          o.reason ?? 'unspecified',
          penalty?.evidenceHash ?? '',
          now,
        ]);
      }
      const record = await this.recordIn(tx, key);
      if (!record?.signed) throw new Error(`no metered call is reserved under nullifier ${key}`);
      return { won, record };
    });
  }

  async unsigned(filter: { replica?: string; reservedBefore?: number }, limit: number): Promise<MeteredRecord[]> {
    const where = ['signed_at IS NULL'];
    const params: unknown[] = [];
    if (filter.replica !== undefined) {
      where.push('replica = ?');
      params.push(filter.replica);
    }
    if (filter.reservedBefore !== undefined) {
      where.push('reserved_at < ?');
      params.push(filter.reservedBefore);
    }
    const rows = await this.db.all<MeteredDbRow>(`SELECT ${COLUMNS} FROM zkc_metered_states WHERE ${where.join(' AND ')} ORDER BY reserved_at, nullifier LIMIT ?`, [
      ...params,
      limit,
    ]);
    return rows.map(meteredRecord);
  }

  async penalties(after: number, limit: number): Promise<PenaltyRecord[]> {
    const rows = await this.db.all<{ seq: Int; nullifier: string; p: Int; reason: string; evidence_hash: string; created_at: Int }>(
      `SELECT seq, nullifier, p, reason, evidence_hash, created_at FROM zkc_policy_log WHERE seq > ? ORDER BY seq LIMIT ?`,
      [after, limit],
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      nullifier: BigInt(r.nullifier),
      p: Number(r.p),
      reason: r.reason,
      evidenceHash: r.evidence_hash,
      createdAt: Number(r.created_at),
    }));
  }

  /** Retention, in `tx`: the metered states of calls reserved before `before` (their tickets go too). */
  deleteReservedBefore(tx: SqlSession, before: number): Promise<number> {
    return tx.run(`DELETE FROM zkc_metered_states WHERE reserved_at < ?`, [before]);
  }

  private async recordIn(s: SqlSession, key: string): Promise<MeteredRecord | null> {
    const [row] = await s.all<MeteredDbRow>(`SELECT ${COLUMNS} FROM zkc_metered_states WHERE nullifier = ?`, [key]);
    return row ? meteredRecord(row) : null;
  }
}

function meteredRecord(row: MeteredDbRow): MeteredRecord {
  return {
    nullifier: BigInt(row.nullifier),
    x: BigInt(row.x),
    y: BigInt(row.y),
    cmNew: BigInt(row.cm_new),
    cMax: Number(row.c_max),
    replica: row.replica,
    reservedAt: Number(row.reserved_at),
    signed:
      row.signed_at === null
        ? null
        : {
            r: Number(row.r),
            p: Number(row.p),
            sig: { rx: BigInt(row.sig_rx!), ry: BigInt(row.sig_ry!), s: BigInt(row.sig_s!) },
            reason: row.reason,
            responseStatus: row.response_status === null ? null : Number(row.response_status),
            signedAt: Number(row.signed_at),
          },
  };
}
