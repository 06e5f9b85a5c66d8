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
  // Protocol v2 flat tickets: every ticket ever seen, with its share (x, y), kept until
  // first_seen + TTL_DAYS + grace. `expires_at`: a reservation's lease end, or an unserved
  // ticket's cooldown end (NULL: none). A row is never deleted before retention: (x, y) stays.
  `CREATE TABLE IF NOT EXISTS zkc_tickets (
     nullifier TEXT PRIMARY KEY,
     x TEXT NOT NULL,
     y TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('reserved', 'unserved', 'spent')),
     token TEXT,
     expires_at BIGINT,
     first_seen BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS zkc_tickets_first_seen ON zkc_tickets (first_seen)`,
  // Accounts caught using one ticket for two requests, until their expiry + grace (their
  // nullifiers), and their precomputed nullifiers: every one is refused.
  `CREATE TABLE IF NOT EXISTS zkc_revoked_accounts (
     account_id TEXT PRIMARY KEY,
     tickets BIGINT NOT NULL,
     expiry_day BIGINT,
     keep_until_day BIGINT NOT NULL,
     revoked_at BIGINT NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS zkc_revoked_nullifiers (nullifier TEXT PRIMARY KEY, account_id TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS zkc_revoked_nullifiers_account ON zkc_revoked_nullifiers (account_id)`,
  // Two shares of one ticket (kept forever) and the state of the on-chain slash built from them.
  `CREATE TABLE IF NOT EXISTS zkc_evidence (
     nullifier TEXT PRIMARY KEY,
     account_id TEXT NOT NULL,
     x1 TEXT NOT NULL,
     y1 TEXT NOT NULL,
     x2 TEXT NOT NULL,
     y2 TEXT NOT NULL,
     found_at BIGINT NOT NULL,
     slash_state TEXT NOT NULL CHECK (slash_state IN ('pending', 'sent', 'slashed', 'already_slashed', 'failed')),
     slash_tx TEXT,
     slash_error TEXT,
     slash_attempts BIGINT NOT NULL,
     lease_owner TEXT,
     lease_until BIGINT,
     updated_at BIGINT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS zkc_evidence_state ON zkc_evidence (slash_state)`,
  // Protocol v2 metered calls: the reservation (x, y, cm_new, c_max, which replica holds it) and,
  // once signed, exactly one state (r, p, σ) per nullifier. The nullifier is also in zkc_tickets
  // (one nullifier space with flat tickets: evidence, /spent, retention). Kept as long as the ticket.
  `CREATE TABLE IF NOT EXISTS zkc_metered_states (
     nullifier TEXT PRIMARY KEY,
     x TEXT NOT NULL,
     y TEXT NOT NULL,
     cm_new TEXT NOT NULL,
     c_max BIGINT NOT NULL,
     r BIGINT,
     p BIGINT,
     sig_rx TEXT,
     sig_ry TEXT,
     sig_s TEXT,
     reason TEXT,
     response_status BIGINT,
     replica TEXT NOT NULL,
     reserved_at BIGINT NOT NULL,
     signed_at BIGINT
   )`,
  `CREATE INDEX IF NOT EXISTS zkc_metered_states_unsigned ON zkc_metered_states (reserved_at) WHERE signed_at IS NULL`,
  // The public penalty log: one row per penalised metered call, in the order the states were signed.
  `CREATE TABLE IF NOT EXISTS zkc_policy_log (
     seq BIGINT PRIMARY KEY,
     nullifier TEXT NOT NULL UNIQUE,
     p BIGINT NOT NULL,
     reason TEXT NOT NULL,
     evidence_hash TEXT NOT NULL,
     created_at BIGINT NOT NULL
   )`,
  // The penalty log's sequence counter (its row lock orders concurrent signers: seq order is commit order).
  `INSERT INTO zkc_meta (key, value) VALUES ('policy_seq', '0') ON CONFLICT (key) DO NOTHING`,
];

export type DeploymentRecord = { chainId: number; contract: string; deploymentBlock: string; emptyRoot: string };
