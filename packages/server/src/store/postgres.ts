import pg from 'pg';
import { SqlStore } from './sql-store.js';
import { INSERT_BATCH_ROWS, type Row, type SqlDialect, type SqlSession, type TransactionMode } from './sql.js';

/** Advisory lock key serialising schema creation across replicas ("zkc-init"). */
const INIT_LOCK = 0x7a6b632d696e6974n;

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the statements hold no `?` in string literals). */
function positional(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function session(client: pg.Pool | pg.PoolClient): SqlSession {
  const s: SqlSession = {
    async all<T extends Row>(sql: string, params: readonly unknown[] = []) {
      return (await client.query<T>(positional(sql), params as unknown[])).rows;
    },
    async run(sql, params = []) {
      return (await client.query(positional(sql), params as unknown[])).rowCount ?? 0;
    },
    async insertMany(table, columns, rows, suffix = '') {
      for (let i = 0; i < rows.length; i += INSERT_BATCH_ROWS) {
        const batch = rows.slice(i, i + INSERT_BATCH_ROWS);
        const values = batch.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
        await s.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values} ${suffix}`, batch.flat());
      }
    },
  };
  return s;
}

/**
 * PostgreSQL under the SQL store, for several replicas. Atomicity comes from single statements
 * (`INSERT … ON CONFLICT … RETURNING`) and, in write transactions, from row locks (`FOR UPDATE`).
 */
export class PostgresDialect implements SqlDialect {
  readonly kind = 'postgres' as const;
  readonly setting = 'ZKC_DATABASE_URL at a fresh database';
  readonly forUpdate = ' FOR UPDATE';
  private readonly pool: pg.Pool;
  private readonly direct: SqlSession;

  constructor(connectionString: string, options: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
    this.direct = session(this.pool);
  }

  all<T extends Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  insertMany(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], suffix?: string): Promise<void> {
    return this.direct.insertMany(table, columns, rows, suffix);
  }

  async transaction<T>(mode: TransactionMode, fn: (tx: SqlSession) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(mode === 'write' ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const out = await fn(session(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async lockSchema(tx: SqlSession): Promise<void> {
    await tx.all('SELECT pg_advisory_xact_lock(?)', [INIT_LOCK.toString()]);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The store on PostgreSQL: several replicas on one database. */
export class PostgresStore extends SqlStore {
  constructor(connectionString: string, options: { max?: number } = {}) {
    super(new PostgresDialect(connectionString, options));
  }
}
