/**
 * `export <file>` and `import <file>`: the web app's backup format (`@zkcredits/core/vault`), so a
 * file made by either imports in the other. A backup holds the vault's ciphertexts (credits, and
 * since v2 the master secret and the accounts with their ticket counters), readable only with its
 * passphrase: the vault's own, or (`ZKC_BACKUP_PASSPHRASE`, `--backup-passphrase-file`, and always
 * for a keychain vault, whose key nobody knows) a backup passphrase it is re-encrypted to.
 *
 * A backup's counters may be behind: its accounts may have spent tickets since it was made. So
 * `import` first restores the backup into a vault in memory and recovers its accounts there (found
 * on chain from the master secret, then every spent ticket downloaded in bulk through the
 * network settings: never a question about one ticket), and merges only a recovered copy into
 * this vault. If recovery fails, nothing is imported: an account with a stale counter would reuse
 * a ticket, which publishes its secret. Metered accounts (backup version 3) are recovered the same
 * way: each lane whose next position was used since the backup (by another copy) is marked stale and
 * never used from here; the others continue from the states the backup holds.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VaultCreditStore } from '@zkcredits/client';
import { MAX_BACKUP_BYTES, MIN_PASSPHRASE_LENGTH, MemoryVaultStorage, Vault } from '@zkcredits/core/vault';
import type { RecoveredAccount, RecoveredMeteredAccount } from '@zkcredits/core';
import type { Context } from '../context.js';
import type { CliConfig } from '../home.js';
import { CliError } from '../errors.js';
import { createFileAtomic, isErrno, writeFileAtomic } from '../files.js';
import { readBackupPassphrase } from '../secrets.js';
import { shortId } from './accounts.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function exportBackup(ctx: Context, file: string, options: { backupPassphraseFile?: string; force?: boolean }): Promise<void> {
  const config = await ctx.home.readConfig();
  const vault = await ctx.vault(config, 'export');
  const explicit = process.env.ZKC_BACKUP_PASSPHRASE !== undefined || options.backupPassphraseFile !== undefined;
  let text: string;
  if (explicit || config.keyStorage === 'keychain') {
    const passphrase = await readBackupPassphrase(options.backupPassphraseFile, undefined, 'Backup passphrase: ');
    if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new CliError('usage', `Use a backup passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`);
    text = await vault.exportBackupAs(passphrase);
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
  const credits = vault.list().length;
  const accounts = vault.accounts().length;
  const metered = vault.meteredAccounts().length;
  ctx.out.result({ ok: true, file: path, credits, accounts, metered, masterSecret: vault.hasMaster });
  ctx.out.line(
    `Exported ${plural(credits, 'credit')}${vault.hasMaster ? ` and ${plural(accounts, 'account')}${metered > 0 ? ` and ${plural(metered, 'metered account')}` : ''} with the master secret they derive from` : ''} to ${path} (encrypted; mode 0600).`,
  );
}

/**
 * Whether a backup file carries v2 state (a master secret or accounts), from its clear-text shape.
 * Anything else (credits only, or not a backup at all) goes to the vault as it is, which checks it.
 */
function carriesAccounts(text: string): boolean {
  try {
    const file = JSON.parse(text) as { version?: unknown; master?: unknown; accounts?: unknown; metered?: unknown };
    const some = (v: unknown) => Array.isArray(v) && v.length > 0;
    return file.version !== 1 && (file.master !== undefined || some(file.accounts) || some(file.metered));
  } catch {
    return false;
  }
}

/** A backup with accounts restored into a vault in memory and its accounts recovered there; other backups as they are. */
async function stageBackup(
  ctx: Context,
  config: CliConfig,
  text: string,
  passphrase: string,
): Promise<{ text: string; recovered: RecoveredAccount[] | undefined; metered?: RecoveredMeteredAccount[] }> {
  if (!carriesAccounts(text)) return { text, recovered: undefined };
  const staged = await ctx.out.step('Reading the backup', () => Vault.restore(new MemoryVaultStorage(), text, passphrase));
  try {
    const client = await ctx.clientOver(config, new VaultCreditStore(staged));
    try {
      const recovered = await ctx.out.step(
        'Recovering the accounts (on chain, then the whole spent-ticket list)',
        () => client.recover(),
        (r) => `Recovered ${plural(r.length, 'account')}`,
      );
      const metered = await ctx.out.step(
        'Checking the metered accounts’ lanes (on chain, then the whole spent list)',
        () => client.recoverMetered(),
        (r) => `Checked ${plural(r.length, 'metered account')}`,
      );
      return { text: staged.exportBackup(), recovered, metered };
    } catch (error) {
      ctx.out.note('Nothing was imported: the backup’s accounts could not be brought up to date, and using them with old counters would reuse tickets.');
      throw error;
    } finally {
      await client.close();
    }
  } finally {
    staged.lock();
  }
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
  const staged = await stageBackup(ctx, config, text, passphrase);
  // A staged copy's counters were just recovered; a backup without accounts has none to recover.
  const result = await ctx.out.step('Importing the backup', () => vault.importBackup(staged.text, passphrase, { recovered: staged.recovered !== undefined }));
  const recovered = staged.recovered?.map((a) => ({ accountId: a.accountId, status: a.status, calls: a.tickets, nextTicket: a.nextTicket, found: a.found }));
  const metered = staged.metered?.map((a) => ({ accountId: a.accountId, status: a.status, lanes: a.lanes, staleLanes: a.staleLanes, pendingLanes: a.pendingLanes, found: a.found }));
  ctx.out.result({ ok: true, ...result, ...(recovered ? { recovered } : {}), ...(metered?.length ? { recoveredMetered: metered } : {}) });
  ctx.out.line(`Imported ${plural(result.added, 'new credit')}, updated ${result.updated}.`);
  if (recovered) {
    ctx.out.line(`Accounts: ${result.accounts.added} new, ${result.accounts.updated} updated.`);
    for (const a of recovered) ctx.out.line(`  ${shortId(a.accountId)}  ${a.status}, ${a.nextTicket} of ${a.calls} tickets already used${a.found === 'chain' ? ' (found on chain)' : ''}`);
  }
  if (metered?.length) {
    ctx.out.line(`Metered accounts: ${result.metered?.added ?? 0} new, ${result.metered?.updated ?? 0} updated.`);
    for (const a of metered) {
      ctx.out.line(
        `  ${shortId(a.accountId)}  ${a.status}, ${a.lanes - a.staleLanes} of ${plural(a.lanes, 'lane')} usable${a.staleLanes ? ` (${a.staleLanes} used by another copy since the backup)` : ''}${a.found === 'chain' ? ' (found on chain)' : ''}`,
      );
    }
  }
}
