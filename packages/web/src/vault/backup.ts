import { z } from 'zod';
import { KDF_MAX_ITERATIONS, KDF_MIN_ITERATIONS } from './crypto';

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/).max(1_000_000);
const sealed = z.object({ iv: b64, ct: b64 });

export const BACKUP_FORMAT = 'zkcredits-vault-backup';

/** The exported file: the vault's own ciphertexts plus what is needed to derive its key. */
export const backupFile = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(1),
  vault: z.string().regex(/^[0-9a-f]{32}$/),
  kdf: z.object({
    name: z.literal('PBKDF2'),
    hash: z.literal('SHA-256'),
    iterations: z.number().int().min(KDF_MIN_ITERATIONS).max(KDF_MAX_ITERATIONS),
    salt: b64,
  }),
  check: sealed,
  credits: z.array(sealed.extend({ id: z.string().regex(/^[0-9a-f]{32}$/) })).max(100_000),
  exportedAt: z.string(),
});
export type BackupFile = z.infer<typeof backupFile>;

/** Largest backup file accepted (bytes). */
export const MAX_BACKUP_BYTES = 64 * 1024 * 1024;
