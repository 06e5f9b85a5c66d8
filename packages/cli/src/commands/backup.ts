/**
 * `export <file>` and `import <file>`: the web app's backup format (`@zkcredits/core/vault`), so a
 * file made by either imports in the other. A backup holds the vault's ciphertexts, readable only
 * with its passphrase: the vault's own, or (`ZKC_BACKUP_PASSPHRASE`, `--backup-passphrase-file`,
 * and always for a keychain vault, whose key nobody knows) a backup passphrase it is re-encrypted to.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MAX_BACKUP_BYTES, MIN_PASSPHRASE_LENGTH, MemoryVaultStorage, Vault } from '@zkcredits/core/vault';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { createFileAtomic, isErrno, writeFileAtomic } from '../files.js';
import { readBackupPassphrase } from '../secrets.js';

export async function exportBackup(ctx: Context, file: string, options: { backupPassphraseFile?: string; force?: boolean }): Promise<void> {
  const config = await ctx.home.readConfig();
  const vault = await ctx.vault(config, 'export');
  const explicit = process.env.ZKC_BACKUP_PASSPHRASE !== undefined || options.backupPassphraseFile !== undefined;
  let text: string;
  if (explicit || config.keyStorage === 'keychain') {
    const passphrase = await readBackupPassphrase(options.backupPassphraseFile, undefined, 'Backup passphrase: ');
    if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new CliError('usage', `Use a backup passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`);
    const copy = await Vault.create(new MemoryVaultStorage(), passphrase);
    await copy.add(vault.list());
    text = copy.exportBackup();
    copy.lock();
  } else {
    text = vault.exportBackup();
  }
  const path = resolve(file);
  try {
    if (options.force) await writeFileAtomic(path, text);
    else await createFileAtomic(path, text);
  } catch (cause) {
    if (isErrno(cause, 'EEXIST')) throw new CliError('file_error', `${path} exists; pass --force to replace it.`);
    throw new CliError('file_error', `Could not write ${path}.`, { details: (cause as Error).message, cause });
  }
  const count = vault.list().length;
  ctx.out.result({ ok: true, file: path, credits: count });
  ctx.out.line(`Exported ${count} credit${count === 1 ? '' : 's'} to ${path} (encrypted; mode 0600).`);
}

export async function importBackup(ctx: Context, file: string, options: { backupPassphraseFile?: string }): Promise<void> {
  const config = await ctx.home.readConfig();
  const path = resolve(file);
  let text: string;
  try {
    if ((await stat(path)).size > MAX_BACKUP_BYTES) throw new CliError('file_error', `${path} is too large to be a backup.`);
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (cause instanceof CliError) throw cause;
    throw new CliError('file_error', `Could not read ${path}.`, { details: (cause as NodeJS.ErrnoException).code, cause });
  }
  const vault = await ctx.vault(config, 'import');
  const fallback = config.keyStorage === 'passphrase' ? await ctx.passphrase(config) : undefined;
  const passphrase = await readBackupPassphrase(options.backupPassphraseFile, fallback, 'Backup passphrase: ');
  const result = await ctx.out.step('Importing the backup', () => vault.importBackup(text, passphrase));
  ctx.out.result({ ok: true, ...result });
  ctx.out.line(`Imported ${result.added} new credit${result.added === 1 ? '' : 's'}, updated ${result.updated}.`);
}
