/**
 * The backup file (`zkcredits-vault-backup`, version 1): the vault's own ciphertexts plus what
 * is needed to derive its key, as JSON. Readable only with the vault's passphrase; the same file
 * moves between the web app and the CLI.
 */
import { z } from 'zod';
import { VaultError } from '../errors.js';
import { KDF_MAX_ITERATIONS, KDF_MIN_ITERATIONS, checkAad, creditAad, deriveKey, open } from './crypto.js';
import { creditRecord, type CreditRecord } from './record.js';
import type { StoredCredit, VaultMeta } from './storage.js';

export const BACKUP_FORMAT = 'zkcredits-vault-backup';
/** The only version this code reads and writes. */
export const BACKUP_VERSION = 1;
/** Largest backup file accepted (characters of JSON text). */
export const MAX_BACKUP_BYTES = 64 * 1024 * 1024;

const id32 = z.string().regex(/^[0-9a-f]{32}$/);
const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/).max(1_000_000);
const sealed = z.object({ iv: b64, ct: b64 });
/** KDF parameters as read from storage or a file: bounded, so a tampered file cannot hang us or weaken the key. */
export const kdfParams = z.object({
  name: z.literal('PBKDF2'),
  hash: z.literal('SHA-256'),
  iterations: z.number().int().min(KDF_MIN_ITERATIONS).max(KDF_MAX_ITERATIONS),
  salt: b64,
});
export const storedCredit = sealed.extend({ id: id32 });
/** The vault header as stored (IndexedDB's `meta` row, a file's `meta`). */
export const vaultMeta = z.object({ id: id32, version: z.literal(1), kdf: kdfParams, check: sealed, createdAt: z.number() });

export const backupFile = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  vault: id32,
  kdf: kdfParams,
  check: sealed,
  credits: z.array(storedCredit).max(100_000),
  exportedAt: z.string(),
});
export type BackupFile = z.infer<typeof backupFile>;

/** The backup file of a vault: its header's KDF and check, its credits' ciphertexts as stored. */
export function writeBackup(meta: VaultMeta, credits: StoredCredit[], exportedAt = new Date()): string {
  const file: BackupFile = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    vault: meta.id,
    kdf: meta.kdf,
    check: meta.check,
    credits: credits.map(({ id, iv, ct }) => ({ id, iv, ct })),
    exportedAt: exportedAt.toISOString(),
  };
  return JSON.stringify(file, null, 1);
}

/**
 * Parses, authenticates and decrypts a backup file. Throws a `VaultError` (`backup_invalid`,
 * `backup_unsupported_version`, `backup_wrong_passphrase`) before the caller writes anything.
 */
export async function readBackup(text: string, passphrase: string): Promise<CreditRecord[]> {
  if (text.length > MAX_BACKUP_BYTES) {
    throw new VaultError('backup_invalid', 'That file is too large to be a zkcredits backup.', { details: `${text.length} characters` });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new VaultError('backup_invalid', 'That file is not a zkcredits backup (it is not valid JSON).', { cause });
  }
  const head = z.object({ format: z.literal(BACKUP_FORMAT), version: z.unknown() }).safeParse(json);
  if (head.success && head.data.version !== BACKUP_VERSION) {
    throw new VaultError('backup_unsupported_version', 'That backup was written by another version of zkcredits, which this one cannot read.', {
      details: `version ${JSON.stringify(head.data.version)?.slice(0, 40)}; this version reads ${BACKUP_VERSION}`,
    });
  }
  const parsed = backupFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VaultError('backup_invalid', 'That file is not a zkcredits backup or it is damaged.', {
      details: issue ? `${issue.path.join('.') || '(file)'}: ${issue.message}` : undefined,
    });
  }
  const file = parsed.data;
  const key = await deriveKey(passphrase, file.kdf);
  if (!(await open(key, checkAad(file.vault), file.check))) {
    throw new VaultError('backup_wrong_passphrase', 'That passphrase does not open this backup.');
  }
  const records: CreditRecord[] = [];
  for (const stored of file.credits) {
    const opened = await open(key, creditAad(file.vault, stored.id), stored);
    if (!opened) throw new VaultError('backup_invalid', 'The backup is damaged: a credit could not be decrypted.', { details: `credit ${stored.id}` });
    const record = creditRecord.safeParse(opened.value);
    if (!record.success || record.data.id !== stored.id) {
      throw new VaultError('backup_invalid', 'The backup is damaged: a credit is malformed.', { details: `credit ${stored.id}` });
    }
    records.push(record.data);
  }
  return records;
}
