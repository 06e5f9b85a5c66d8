import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresStore, SqliteStore, type Store } from '../../src/store/index.js';
import { createTestDatabase } from './postgres.js';

/** How to open (and reopen, for restart tests) one store kind, plus cleanup. */
export type StoreFactory = {
  kind: 'sqlite' | 'postgres';
  /** Opens a new handle on the same database. */
  open(): Store;
  /** The configuration that points a server process at this database. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
};

export async function makeStoreFactory(kind: 'sqlite' | 'postgres'): Promise<StoreFactory> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'zkc-sqlite-'));
    const path = join(dir, 'store.sqlite');
    return {
      kind,
      open: () => new SqliteStore(path),
      env: { ZKC_STORE: 'sqlite', ZKC_SQLITE_PATH: path },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const db = await createTestDatabase();
  return {
    kind,
    open: () => new PostgresStore(db.url),
    env: { ZKC_STORE: 'postgres', ZKC_DATABASE_URL: db.url },
    cleanup: () => db.drop(),
  };
}

export const STORE_KINDS = ['sqlite', 'postgres'] as const;
