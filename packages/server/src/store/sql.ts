/**
 * The small dialect layer under the one SQL store: what SQLite and PostgreSQL do differently
 * (placeholders, drivers, how a transaction serialises writers, bulk inserts, schema locking).
 * Statements are written once, with `?` placeholders, in the SQL both understand.
 */

/** A row as the driver returns it: integers are numbers (SQLite) or strings (PostgreSQL BIGINT). */
export type Row = Record<string, unknown>;

/** Runs statements: on the database, or inside one transaction. */
export interface SqlSession {
  /** The rows of a statement. */
  all<T extends Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement; the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Inserts rows (each one value per column) in as few statements as the dialect allows; `suffix` follows each (e.g. `ON CONFLICT …`). */
  insertMany(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], suffix?: string): Promise<void>;
}

/**
 * `write`: a read-write transaction that serialises against every other writer on what it reads
 * with `FOR_UPDATE` (SQLite: the whole database, `BEGIN IMMEDIATE`; PostgreSQL: row locks).
 * `snapshot`: a read-only transaction that sees one consistent state.
 */
export type TransactionMode = 'write' | 'snapshot';

export interface SqlDialect extends SqlSession {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the database is configured, for messages that tell the operator what to change. */
  readonly setting: string;
  /** Appended to a `SELECT` in a write transaction to lock the rows it reads (PostgreSQL); empty where the transaction already holds the lock (SQLite). */
  readonly forUpdate: string;
  transaction<T>(mode: TransactionMode, fn: (tx: SqlSession) => Promise<T>): Promise<T>;
  /** Serialises schema creation across processes, inside a write transaction. */
  lockSchema(tx: SqlSession): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Rows per multi-row `INSERT` (3 columns → 3,000 parameters, far below both databases' limits). */
export const INSERT_BATCH_ROWS = 1000;
