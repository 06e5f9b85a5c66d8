// Which metered accounts can pay, and what they hold (PROTOCOL.md "Client rules": the balance in
// money and the calls it still covers at C_max).
import { meteredBalance, utcDay, type MeteredAccountRecord, type MeteredBalance } from '@zkcredits/core';
import type { Address } from 'viem';
import type { MeteredParams } from './money';

/** How a metered account looks to the user. */
export type MeteredState = 'active' | 'used up' | 'expired' | 'checking used calls' | 'waiting for confirmation' | 'not paid' | 'revoked' | 'frozen';

export function ofDeployment(a: MeteredAccountRecord, chainId: number, pool: Address): boolean {
  return a.chainId === chainId && a.contract.toLowerCase() === pool.toLowerCase();
}

export function meteredState(a: MeteredAccountRecord, balance: MeteredBalance | undefined, today = utcDay(Date.now())): MeteredState {
  switch (a.status) {
    case 'pending':
      return 'waiting for confirmation';
    case 'abandoned':
      return 'not paid';
    case 'revoked':
      return 'revoked';
    case 'open':
      if (a.expiryDay !== undefined && today > a.expiryDay) return 'expired';
      if (a.recoveryNeeded) return 'checking used calls';
      if (!balance) return 'active';
      if (balance.callsAtCmax > 0 || balance.pending > 0) return 'active';
      return balance.lanes.some((l) => !l.stale && l.frozen) ? 'frozen' : 'used up';
  }
}

/**
 * The metered accounts of this deployment that may pay a call today, fullest first: open, opened on
 * chain, not expired, not waiting for recovery, with a lane that can pay C_max or a pending lane
 * whose state may bring one back. Two records of one account are both left out (their lanes would
 * be separate copies of one chain).
 */
export function usableMetered(accounts: readonly MeteredAccountRecord[], chainId: number, pool: Address, params: MeteredParams, today = utcDay(Date.now())): MeteredAccountRecord[] {
  const mine = accounts.filter((a) => ofDeployment(a, chainId, pool) && a.status !== 'abandoned');
  const copies = new Map<string, number>();
  for (const a of mine) copies.set(a.accountId, (copies.get(a.accountId) ?? 0) + 1);
  const open = mine.filter((a) => copies.get(a.accountId) === 1 && a.status === 'open' && a.leafIndex !== undefined && a.expiryDay !== undefined && today <= a.expiryDay && !a.recoveryNeeded);
  return open
    .map((a) => ({ a, b: meteredBalance(a, params) }))
    .filter(({ b }) => b.lanes.some((l) => !l.stale && (l.pending || (!l.frozen && l.balance >= params.cMax))))
    .sort((x, y) => y.b.priceUnits - x.b.priceUnits || x.a.createdAt - y.a.createdAt)
    .map(({ a }) => a);
}

/** Whether metered accounts of this deployment wait for recovery (from a backup: their lanes may be behind). */
export function meteredNeedsRecovery(accounts: readonly MeteredAccountRecord[], chainId: number, pool: Address): boolean {
  return accounts.some((a) => ofDeployment(a, chainId, pool) && a.recoveryNeeded === true);
}

/** Σ over the usable accounts of this deployment: price units and calls at C_max. */
export function totalMetered(accounts: readonly MeteredAccountRecord[], chainId: number, pool: Address, params: MeteredParams, today = utcDay(Date.now())): { priceUnits: number; calls: number } {
  let priceUnits = 0;
  let calls = 0;
  for (const a of accounts) {
    if (!ofDeployment(a, chainId, pool) || a.status !== 'open' || (a.expiryDay !== undefined && today > a.expiryDay)) continue;
    const b = meteredBalance(a, params);
    priceUnits += b.priceUnits;
    calls += b.callsAtCmax;
  }
  return { priceUnits, calls };
}
