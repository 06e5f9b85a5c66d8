import Database from 'better-sqlite3';
import { SqlStore } from './sql-store.js';
import type { Row, SqlDialect, SqlSession, TransactionMode } from './sql.js';

/**
 * SQLite under the SQL store (WAL, one file). better-sqlite3 is synchronous, the store is not: one
 * connection runs one transaction at a time, and statements outside a transaction wait for it
 * (they would otherwise run inside it, and be rolled back with it). Several processes on one file
 * are safe: every write transaction is `BEGIN IMMEDIATE`, so writers take the file's write lock
 * before they read.
 */
export class SqliteDialect implements SqlDialect {
  readonly kind = 'sqlite' as const;
  readonly setting = 'ZKC_SQLITE_PATH at a fresh file';
  readonly forUpdate = '';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** The tail of the queue of transactions and statements waiting for the connection. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly direct: SqlSession;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = NORMAL');
    this.db.defaultSafeIntegers(false);
    this.direct = {
      all: async <T extends Row>(sql: string, params: readonly unknown[] = []) => this.prepare(sql).all(...params) as T[],
      run: async (sql, params = []) => this.prepare(sql).run(...params).changes,
      insertMany: async (table, columns, rows, suffix = '') => {
        const insert = this.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${suffix}`);
        for (const row of rows) insert.run(...row);
      },
    };
  }

  all<T extends Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.exclusive(() => this.direct.all<T>(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.exclusive(() => this.direct.run(sql, params));
  }

  insertMany(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], suffix?: string): Promise<void> {
    return this.exclusive(() => this.direct.insertMany(table, columns, rows, suffix));
  }

  transaction<T>(mode: TransactionMode, fn: (tx: SqlSession) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.db.exec(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN');
      try {
        const out = await fn(this.direct);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async lockSchema(): Promise<void> {
    // BEGIN IMMEDIATE already holds the write lock.
  }

  async ping(): Promise<void> {
    await this.all('SELECT 1');
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      if (this.db.open) this.db.close();
    });
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` once everything queued before it has finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** The store on SQLite: one server process, or several on one local file. */
export class SqliteStore extends SqlStore {
  constructor(path: string) {
    super(new SqliteDialect(path));
  }
}
