/** Keep block-hash checkpoints this far back (reorg detection); blocks with leaves are kept. */
export const CHECKPOINT_BLOCKS = 2048n;

/** Schema shared by both stores (types chosen to mean the same in SQLite and PostgreSQL). */
export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS zkc_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS zkc_blocks (number BIGINT PRIMARY KEY, hash TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS zkc_leaves (idx BIGINT PRIMARY KEY, commitment TEXT NOT NULL, block_number BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS zkc_leaves_block ON zkc_leaves (block_number)`,
  `CREATE TABLE IF NOT EXISTS zkc_roots (seq BIGINT PRIMARY KEY, root TEXT NOT NULL, block_number BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS zkc_roots_root ON zkc_roots (root)`,
  `CREATE TABLE IF NOT EXISTS zkc_nullifiers (
     nullifier_hash TEXT PRIMARY KEY,
     state TEXT NOT NULL CHECK (state IN ('reserved', 'spent')),
     token TEXT,
     expires_at BIGINT,
     updated_at BIGINT NOT NULL
   )`,
  // How often each credit was released after a failed provider call (release cooldown).
  `CREATE TABLE IF NOT EXISTS zkc_releases (nullifier_hash TEXT PRIMARY KEY, releases BIGINT NOT NULL)`,
];

export type DeploymentRecord = { chainId: number; contract: string; deploymentBlock: string; emptyRoot: string };
