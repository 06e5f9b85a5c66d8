/**
 * The backup file (`zkcredits-vault-backup`): the vault's own ciphertexts plus what is needed to
 * derive its key, as JSON. Readable only with the vault's passphrase; the same file moves between
 * the web app and the CLI.
 *
 * - Version 1: `credits` only. Still written, byte for byte as before, by a vault without v2
 *   accounts, so older apps keep reading its backups.
 * - Version 2: version 1 plus `master` (the sealed master secret every account secret derives
 *   from: one backup covers every account, also those opened after it) and `accounts` (the sealed
 *   flat account records: counters, journals, terms). Older apps refuse it by its version rather
 *   than drop the accounts silently. Still written when the vault has no metered account.
 * - Version 3: version 2 plus `metered` (the sealed metered account records: terms and each lane's
 *   signed state and pending call). Written only when the vault holds a metered account, so apps
 *   that read version 2 keep reading every backup without one; they refuse a version 3 file by its
 *   version.
 *
 * Every version is read.
 */
import { z } from 'zod';
import { VaultError } from '../errors.js';
import { type FieldHex } from '../field.js';
import { accountRecord, type AccountRecord } from './account-record.js';
import { KDF_MAX_ITERATIONS, KDF_MIN_ITERATIONS, accountAad, checkAad, creditAad, deriveKey, masterAad, open, type Sealed } from './crypto.js';
import { meteredAccountRecord, type MeteredAccountRecord } from './metered-record.js';
import { creditRecord, type CreditRecord } from './record.js';
import type { StoredAccount, StoredCredit, VaultMeta } from './storage.js';

export const BACKUP_FORMAT = 'zkcredits-vault-backup' as const;
/** The newest version: written when the vault holds a metered account (2 with a master secret or flat accounts only, 1 otherwise). */
export const BACKUP_VERSION = 3;
/** The versions this code reads. */
export const BACKUP_VERSIONS: readonly number[] = [1, 2, 3];
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
export const storedAccount = sealed.extend({ id: id32 });
/** The sealed master secret's plaintext. */
export const masterValue = z.strictObject({ master: z.string().regex(/^0x[0-9a-f]{64}$/).pipe(z.custom<FieldHex>()) });
/** The vault header as stored (IndexedDB's `meta` row, a file's `meta`). */
export const vaultMeta = z.object({ id: id32, version: z.literal(1), kdf: kdfParams, check: sealed, createdAt: z.number() });

const backupV1 = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(1),
  vault: id32,
  kdf: kdfParams,
  check: sealed,
  credits: z.array(storedCredit).max(100_000),
  exportedAt: z.string(),
});
const backupV2 = backupV1.extend({
  version: z.literal(2),
  master: sealed.optional(),
  accounts: z.array(storedAccount).max(100_000),
});
const backupV3 = backupV2.extend({
  version: z.literal(3),
  metered: z.array(storedAccount).max(100_000),
});
export const backupFile = z.discriminatedUnion('version', [backupV1, backupV2, backupV3]);
export type BackupFile = z.infer<typeof backupFile>;

/** What a backup holds, decrypted. */
export type BackupContents = {
  credits: CreditRecord[];
  master: FieldHex | undefined;
  accounts: AccountRecord[];
  /** The metered accounts of a version 3 backup (absent in older versions). */
  metered?: MeteredAccountRecord[];
};

/**
 * The backup file of a vault: its header's KDF and check, its credits' (and accounts' and master
 * secret's) ciphertexts as stored. Version 1 when there is no master and no account.
 */
export function writeBackup(
  meta: VaultMeta,
  credits: StoredCredit[],
  v2: { master?: Sealed | undefined; accounts?: StoredAccount[]; metered?: StoredAccount[] } = {},
  exportedAt = new Date(),
): string {
  const head = { format: BACKUP_FORMAT as typeof BACKUP_FORMAT, vault: meta.id, kdf: meta.kdf, check: meta.check, credits: credits.map(({ id, iv, ct }) => ({ id, iv, ct })) };
  const accounts = v2.accounts ?? [];
  const metered = v2.metered ?? [];
  const file: BackupFile =
    metered.length > 0
      ? {
          format: head.format,
          version: 3,
          vault: head.vault,
          kdf: head.kdf,
          check: head.check,
          credits: head.credits,
          ...(v2.master ? { master: { iv: v2.master.iv, ct: v2.master.ct } } : {}),
          accounts: accounts.map(({ id, iv, ct }) => ({ id, iv, ct })),
          metered: metered.map(({ id, iv, ct }) => ({ id, iv, ct })),
          exportedAt: exportedAt.toISOString(),
        }
      : !v2.master && accounts.length === 0
      ? { format: head.format, version: 1, vault: head.vault, kdf: head.kdf, check: head.check, credits: head.credits, exportedAt: exportedAt.toISOString() }
      : {
          format: head.format,
          version: 2,
          vault: head.vault,
          kdf: head.kdf,
          check: head.check,
          credits: head.credits,
          ...(v2.master ? { master: { iv: v2.master.iv, ct: v2.master.ct } } : {}),
          accounts: accounts.map(({ id, iv, ct }) => ({ id, iv, ct })),
          exportedAt: exportedAt.toISOString(),
        };
  return JSON.stringify(file, null, 1);
}

/**
 * Parses, authenticates and decrypts a backup file's credits (of either version). Throws a
 * `VaultError` (`backup_invalid`, `backup_unsupported_version`, `backup_wrong_passphrase`) before
 * the caller writes anything. `readBackupContents` also returns the master secret and accounts.
 */
export async function readBackup(text: string, passphrase: string): Promise<CreditRecord[]> {
  return (await readBackupContents(text, passphrase)).credits;
}

/** `readBackup` with everything a version 2 backup adds: the master secret and the account records. */
export async function readBackupContents(text: string, passphrase: string): Promise<BackupContents> {
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
  if (head.success && !BACKUP_VERSIONS.includes(head.data.version as number)) {
    throw new VaultError('backup_unsupported_version', 'That backup was written by another version of zkcredits, which this one cannot read.', {
      details: `version ${JSON.stringify(head.data.version)?.slice(0, 40)}; this version reads ${BACKUP_VERSIONS.slice(0, -1).join(', ')} and ${BACKUP_VERSIONS.at(-1)}`,
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
  if (file.version === 1) return { credits: records, master: undefined, accounts: [] };
  let master: FieldHex | undefined;
  if (file.master) {
    const opened = await open(key, masterAad(file.vault), file.master);
    const value = opened && masterValue.safeParse(opened.value);
    if (!value?.success) throw new VaultError('backup_invalid', 'The backup is damaged: its master secret could not be read.');
    master = value.data.master;
  }
  const accounts: AccountRecord[] = [];
  for (const stored of file.accounts) {
    const opened = await open(key, accountAad(file.vault, stored.id), stored);
    const record = opened && accountRecord.safeParse(opened.value);
    if (!record?.success || record.data.id !== stored.id) {
      throw new VaultError('backup_invalid', 'The backup is damaged: an account could not be read.', { details: `account ${stored.id}` });
    }
    accounts.push(record.data);
  }
  if (file.version === 2) return { credits: records, master, accounts };
  const metered: MeteredAccountRecord[] = [];
  for (const stored of file.metered) {
    const opened = await open(key, accountAad(file.vault, stored.id), stored);
    const record = opened && meteredAccountRecord.safeParse(opened.value);
    if (!record?.success || record.data.id !== stored.id) {
      throw new VaultError('backup_invalid', 'The backup is damaged: a metered account could not be read.', { details: `account ${stored.id}` });
    }
    metered.push(record.data);
  }
  return { credits: records, master, accounts, metered };
}
