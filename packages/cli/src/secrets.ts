/**
 * Where secrets come from. Never from argv (other local users can read a process's arguments):
 * - the vault passphrase: `ZKC_PASSPHRASE`, `--passphrase-file`, or a prompt on a terminal (no echo);
 *   or a random one kept in the OS keychain (`@napi-rs/keyring`, entry `zkcredits` / <vault id>);
 * - the wallet key for `buy` and `open`: `ZKC_WALLET_KEY`, `--wallet-key-file`, or the keychain entry
 *   `zkcredits` / `wallet-key` (put there by `wallet-key set`, from a file or `ZKC_WALLET_KEY`).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Entry, type EntryOptions } from '@napi-rs/keyring';
import { CliError } from './errors.js';

const SERVICE = 'zkcredits';
/**
 * On Linux, the Secret Service only: the library's fallback, the kernel keyring, forgets everything
 * at reboot, and a vault key lost there would lock the credits away for good.
 */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };
const entry = (name: string) => new Entry(SERVICE, name, ENTRY_OPTIONS);
const WALLET_ENTRY = 'wallet-key';

/** A secret from a file: its first line (so `echo pass > f` works). */
async function readSecretFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CliError('file_error', `Could not read the ${what} file ${path}.`, { details: (cause as NodeJS.ErrnoException).code ?? undefined, cause });
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new CliError('file_error', `The ${what} file ${path} is empty.`);
  return line;
}

/** Reads a line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolvePromise, reject) => {
    process.stderr.write(question);
    let value = '';
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error) => {
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolvePromise(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new CliError('passphrase_required', 'Interrupted.'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export type PassphraseSource = { passphraseFile?: string | undefined; env?: NodeJS.ProcessEnv };

/** The vault passphrase: `ZKC_PASSPHRASE`, the file, or a hidden prompt (twice when `confirm`). */
export async function readPassphrase(source: PassphraseSource, prompt = 'Vault passphrase: ', confirm = false): Promise<string> {
  const env = source.env ?? process.env;
  if (env.ZKC_PASSPHRASE) return env.ZKC_PASSPHRASE;
  if (source.passphraseFile) return readSecretFile(source.passphraseFile, 'passphrase');
  if (!process.stdin.isTTY) {
    throw new CliError('passphrase_required', 'The vault passphrase is needed.', {
      details: 'Set ZKC_PASSPHRASE, pass --passphrase-file <file>, or run on a terminal to be asked.',
    });
  }
  const first = await promptHidden(prompt);
  if (confirm && (await promptHidden('Again: ')) !== first) throw new CliError('passphrase_required', 'The two passphrases differ.');
  return first;
}

/** A backup's passphrase: `ZKC_BACKUP_PASSPHRASE`, the file, else `fallback` (the vault's), else a prompt. */
export async function readBackupPassphrase(file: string | undefined, fallback: string | undefined, prompt: string): Promise<string> {
  if (process.env.ZKC_BACKUP_PASSPHRASE) return process.env.ZKC_BACKUP_PASSPHRASE;
  if (file) return readSecretFile(file, 'backup passphrase');
  if (fallback !== undefined) return fallback;
  if (!process.stdin.isTTY) {
    throw new CliError('passphrase_required', 'The backup passphrase is needed.', { details: 'Set ZKC_BACKUP_PASSPHRASE or pass --backup-passphrase-file <file>.' });
  }
  return promptHidden(prompt);
}

/** Whether an OS keychain answers (a Secret Service on D-Bus, macOS Keychain, Windows Credential Manager), and why not. */
export function probeKeychain(): { ok: true } | { ok: false; reason: string } {
  const probe = `probe-${randomBytes(6).toString('hex')}`;
  try {
    const probeEntry = entry(probe);
    probeEntry.setPassword('probe');
    const back = probeEntry.getPassword();
    probeEntry.deletePassword();
    return back === 'probe' ? { ok: true } : { ok: false, reason: 'the keychain did not return what was stored' };
  } catch (error) {
    return { ok: false, reason: (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200) };
  }
}

export const NO_KEYCHAIN = 'No OS keychain is available here (on Linux: a Secret Service such as gnome-keyring on the D-Bus session bus).';

/** A fresh random vault passphrase for keychain mode (256 bits). */
export function randomVaultPassphrase(): string {
  return randomBytes(32).toString('base64url');
}

export function storeVaultKey(vaultId: string, passphrase: string): void {
  try {
    entry(vaultId).setPassword(passphrase);
  } catch (cause) {
    throw new CliError('keychain_unavailable', 'Could not store the vault key in the OS keychain.', { details: (cause as Error).message, cause });
  }
}

export function loadVaultKey(vaultId: string): string {
  let value: string | null;
  try {
    value = entry(vaultId).getPassword();
  } catch (cause) {
    throw new CliError('keychain_unavailable', `${NO_KEYCHAIN} This vault's key is kept there, so it cannot be unlocked now.`, { details: (cause as Error).message, cause });
  }
  if (!value) {
    // Some platforms answer "no entry" when the keychain itself is missing: tell the two apart.
    const probe = probeKeychain();
    if (!probe.ok) throw new CliError('keychain_unavailable', `${NO_KEYCHAIN} This vault's key is kept there, so it cannot be unlocked now.`, { details: probe.reason });
  }
  if (!value) throw new CliError('keychain_missing', 'The OS keychain has no key for this vault.', { details: `entry ${SERVICE} / ${vaultId}` });
  return value;
}

export function deleteVaultKey(vaultId: string): void {
  try {
    entry(vaultId).deletePassword();
  } catch {
    // nothing to delete
  }
}

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

/** The wallet's private key: `ZKC_WALLET_KEY`, `--wallet-key-file`, or the keychain entry. */
export async function readWalletKey(file: string | undefined): Promise<{ key: `0x${string}`; source: string }> {
  let key: string | undefined;
  let source: string;
  if (process.env.ZKC_WALLET_KEY) {
    key = process.env.ZKC_WALLET_KEY.trim();
    source = 'ZKC_WALLET_KEY';
  } else if (file) {
    key = (await readSecretFile(file, 'wallet key')).trim();
    source = file;
  } else {
    source = 'the OS keychain';
    try {
      key = entry(WALLET_ENTRY).getPassword() ?? undefined;
    } catch {
      key = undefined;
    }
    if (!key) {
      throw new CliError('wallet_key_required', 'A wallet key is needed to pay.', {
        details: `Set ZKC_WALLET_KEY, pass --wallet-key-file <file>, or keep it in the OS keychain (entry ${SERVICE} / ${WALLET_ENTRY}). Never on the command line.`,
      });
    }
  }
  return { key: checkWalletKey(key, source), source };
}

/** A 32-byte hex private key (`0x` optional), or `wallet_key_invalid` naming where it came from (never the key). */
function checkWalletKey(raw: string, source: string): `0x${string}` {
  const key = raw.startsWith('0x') ? raw : `0x${raw}`;
  if (!PRIVATE_KEY.test(key)) throw new CliError('wallet_key_invalid', `The wallet key from ${source} is not a 32-byte hex private key.`);
  return key as `0x${string}`;
}

/** The key for `wallet-key set`: `--from-file` (first line), else `ZKC_WALLET_KEY`; never argv, never the keychain itself. */
export async function readNewWalletKey(file: string | undefined): Promise<{ key: `0x${string}`; source: string }> {
  if (file) return { key: checkWalletKey((await readSecretFile(file, 'wallet key')).trim(), file), source: file };
  const env = process.env.ZKC_WALLET_KEY?.trim();
  if (env) return { key: checkWalletKey(env, 'ZKC_WALLET_KEY'), source: 'ZKC_WALLET_KEY' };
  throw new CliError('wallet_key_required', 'Which wallet key? None was given.', {
    details: 'Pass --from-file <file> (its first line) or set ZKC_WALLET_KEY. Never on the command line.',
  });
}

const NO_KEYCHAIN_WALLET = `${NO_KEYCHAIN} The wallet key cannot be kept there; use ZKC_WALLET_KEY or --wallet-key-file with buy or open.`;

/** Keeps the wallet key in the keychain entry `buy` and `open` read (`zkcredits` / `wallet-key`), replacing any. */
export function storeWalletKey(key: `0x${string}`): void {
  try {
    entry(WALLET_ENTRY).setPassword(key);
  } catch (cause) {
    throw new CliError('keychain_unavailable', NO_KEYCHAIN_WALLET, { details: (cause as Error).message.split('\n')[0], cause });
  }
  let back: string | null;
  try {
    back = entry(WALLET_ENTRY).getPassword();
  } catch {
    back = null;
  }
  if (back !== key) throw new CliError('keychain_unavailable', 'The OS keychain did not keep the wallet key.', { details: `entry ${SERVICE} / ${WALLET_ENTRY}` });
}

/** Removes the keychain's wallet key; whether there was one. Errors only when there is no keychain. */
export function deleteWalletKey(): boolean {
  try {
    return entry(WALLET_ENTRY).deletePassword();
  } catch (cause) {
    const probe = probeKeychain();
    if (!probe.ok) throw new CliError('keychain_unavailable', NO_KEYCHAIN, { details: probe.reason, cause });
    return false; // the keychain answers: there was no entry
  }
}
