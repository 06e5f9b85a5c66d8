/**
 * Web Locks over this browser's tabs (one origin, one vault): one writer per v2 account.
 *
 * - `zkcredits-account:<account id>` (exclusive): held by the one tab that takes, sends and
 *   settles a ticket of that account, from the journal write to the answer. Another tab uses
 *   another account or a v1 credit, or waits; it never gets the same ticket.
 * - `zkcredits-vault`: shared while a ticket is on its way (with the account's lock); exclusive
 *   for the writes that rewrite accounts wholesale from a stale copy (unlock burning in-flight
 *   tickets, restore, import, recovery), so none of them lands between another tab's read and
 *   write of a ticket counter.
 * - `zkcredits-open` (exclusive): one account opening at a time, so two tabs never derive the
 *   same account secret for two openings.
 *
 * Without Web Locks (an old browser, a page not served over https) accounts are neither used nor
 * opened: failing closed, since two tabs could otherwise spend one ticket on two requests.
 */
import { AppError } from '../errors';

const VAULT_LOCK = 'zkcredits-vault';
const OPEN_LOCK = 'zkcredits-open';

/** The lock of one account, by its public id (two records of one account share it). */
export function accountLockName(accountId: string): string {
  return `zkcredits-account:${accountId.toLowerCase()}`;
}

/** Whether this browser has Web Locks (accounts need them). */
export function hasWebLocks(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.locks?.request === 'function';
}

function locks(): LockManager {
  if (!hasWebLocks()) {
    throw new AppError('no_web_locks', 'This browser cannot make sure only one tab uses an account (it lacks Web Locks), so accounts are not used here. Use a current browser, over https.');
  }
  return navigator.locks;
}

/**
 * `navigator.locks.request`: the lock is held until `fn`'s promise settles, and the request
 * resolves with its value (the DOM typings say `Promise<Promise<T>>`).
 */
function request<T>(name: string, options: LockOptions, fn: (lock: Lock | null) => Promise<T>): Promise<T> {
  return locks().request(name, options, fn) as unknown as Promise<T>;
}

/** Runs `fn` holding the vault lock in `mode`. */
export function withVaultLock<T>(mode: LockMode, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return request(VAULT_LOCK, { mode, ...(signal ? { signal } : {}) }, () => fn());
}

/** Runs `fn` holding the lock for account openings. */
export function withOpenLock<T>(fn: () => Promise<T>): Promise<T> {
  return request(OPEN_LOCK, {}, () => fn());
}

/** Runs `fn` holding account `accountId`'s lock, waiting for it if another tab holds it. */
export function withAccountLock<T>(accountId: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return request(accountLockName(accountId), { ...(signal ? { signal } : {}) }, () => fn());
}

/** Runs `fn` holding account `accountId`'s lock if no tab holds it now; `{ held: false }` (and `fn` not run) otherwise. */
export function tryAccountLock<T>(accountId: string, fn: () => Promise<T>): Promise<{ held: true; value: T } | { held: false }> {
  return request(accountLockName(accountId), { ifAvailable: true }, async (lock) => (lock ? { held: true as const, value: await fn() } : { held: false as const }));
}
