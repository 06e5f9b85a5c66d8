import { utcDay } from '@zkcredits/core';
import type { Address } from 'viem';
import type { AccountRecord } from '../vault';

/** How an account looks to the user. */
export type AccountState = 'active' | 'used up' | 'expired' | 'checking used calls' | 'waiting for confirmation' | 'not paid' | 'revoked';

export function accountState(a: AccountRecord, today = utcDay(Date.now())): AccountState {
  switch (a.status) {
    case 'pending':
      return 'waiting for confirmation';
    case 'abandoned':
      return 'not paid';
    case 'revoked':
      return 'revoked';
    case 'open':
      if (a.expiryDay !== undefined && today > a.expiryDay) return 'expired';
      // From a backup: its counter may be behind the calls it made until recovery has run.
      if (a.recoveryNeeded) return 'checking used calls';
      return a.nextTicket >= a.tickets ? 'used up' : 'active';
  }
}

/** Calls this account can still pay for today (0 unless open and not expired): `N − nextTicket`. */
export function callsLeft(a: AccountRecord, today = utcDay(Date.now())): number {
  return accountState(a, today) === 'active' ? a.tickets - a.nextTicket : 0;
}

export function ofDeployment(a: AccountRecord, chainId: number, pool: Address): boolean {
  return a.chainId === chainId && a.contract.toLowerCase() === pool.toLowerCase();
}

/**
 * The accounts of this deployment that can pay a call today, the one expiring first first. Two
 * records of one account (an opening race between tabs that crashed) are both left out: their
 * counters are separate, so either could reuse a ticket of the other.
 */
export function usableAccounts(accounts: readonly AccountRecord[], chainId: number, pool: Address, today = utcDay(Date.now())): AccountRecord[] {
  const mine = accounts.filter((a) => ofDeployment(a, chainId, pool) && a.status !== 'abandoned');
  const copies = new Map<string, number>();
  for (const a of mine) copies.set(a.accountId, (copies.get(a.accountId) ?? 0) + 1);
  return mine
    .filter((a) => copies.get(a.accountId) === 1 && a.leafIndex !== undefined && callsLeft(a, today) > 0)
    .sort((a, b) => a.expiryDay! - b.expiryDay! || a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

/** Whether accounts of this deployment wait for recovery (from a backup: their counters may be behind). */
export function needsRecovery(accounts: readonly AccountRecord[], chainId: number, pool: Address): boolean {
  return accounts.some((a) => ofDeployment(a, chainId, pool) && a.recoveryNeeded === true);
}

/** Calls left over every usable account of this deployment. */
export function totalCallsLeft(accounts: readonly AccountRecord[], chainId: number, pool: Address, today = utcDay(Date.now())): number {
  return usableAccounts(accounts, chainId, pool, today).reduce((sum, a) => sum + callsLeft(a, today), 0);
}

/** The last day an account can be used, as a date (its expiry is a UTC day number). */
export function expiryDate(expiryDay: number): string {
  return new Date(expiryDay * 86_400_000).toLocaleDateString('en-US', { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' });
}
