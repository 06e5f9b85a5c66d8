import type { Config } from '../config.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { SqliteStore } from './sqlite.js';
export { PostgresStore } from './postgres.js';

/** The store chosen by configuration: SQLite (one server) or PostgreSQL (several replicas). */
export function createStore(config: Config['store']): Store {
  return config.kind === 'postgres' ? new PostgresStore(config.databaseUrl) : new SqliteStore(config.sqlitePath);
}
