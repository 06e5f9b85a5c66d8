import { readAccount, type MeteredAccountRecord } from '@zkcredits/core';
import type { Address, PublicClient } from 'viem';
import { hasWebLocks, tryAccountLock, withVaultLock } from '../vault/locks';
import type { AccountRecord, Vault } from '../vault';

/** `accounts(id).kind` of a metered account. */
const METERED_KIND = 2;

/**
 * Brings this tab's accounts of the deployment (flat and metered) up to date with the chain: an
 * opening that was pending (the tab closed before its confirmation) or given up is `open` once the
 * chain has the account, with its leaf and expiry; an account the chain says was slashed is `revoked`. Each
 * write holds the account's Web Lock (an account another tab is using is left for later).
 * Returns the records that changed.
 */
export async function reconcileAccounts(client: Pick<PublicClient, 'readContract'>, vault: Vault, pool: Address, chainId: number): Promise<(AccountRecord | MeteredAccountRecord)[]> {
  if (!hasWebLocks()) return [];
  const all = vault.accounts();
  const mine = all.filter((a) => a.chainId === chainId && a.contract.toLowerCase() === pool.toLowerCase() && a.status !== 'revoked');
  const metered = vault.meteredAccounts();
  const mineMetered = metered.filter((a) => a.chainId === chainId && a.contract.toLowerCase() === pool.toLowerCase() && a.status !== 'revoked');
  if (mine.length === 0 && mineMetered.length === 0) return [];
  const changed: (AccountRecord | MeteredAccountRecord)[] = [];
  await withVaultLock('shared', async () => {
    for (const record of mineMetered) {
      const slot = await readAccount(client, pool, BigInt(record.accountId));
      if (slot.status === 0 || slot.kind !== METERED_KIND) continue;
      if (slot.status === 1 && record.status === 'open') continue;
      if (record.status === 'abandoned' && metered.some((a) => a !== record && a.accountId === record.accountId)) continue;
      const patch = slot.status === 2 ? { status: 'revoked' as const } : { status: 'open' as const, leafIndex: slot.leafIndex, expiryDay: slot.expiryDay };
      const r = await tryAccountLock(record.accountId, () => vault.updateMeteredAccount(record.id, patch));
      if (r.held) changed.push(r.value);
    }
    for (const record of mine) {
      const slot = await readAccount(client, pool, BigInt(record.accountId));
      if (slot.status === 0) continue;
      if (slot.status === 1 && record.status === 'open') continue;
      // A record given up on whose account another record holds (an opening race) is never revived.
      if (record.status === 'abandoned' && all.some((a) => a !== record && a.accountId === record.accountId)) continue;
      const patch = slot.status === 2 ? { status: 'revoked' as const } : { status: 'open' as const, leafIndex: slot.leafIndex, expiryDay: slot.expiryDay };
      const r = await tryAccountLock(record.accountId, () => vault.updateAccount(record.id, patch));
      if (r.held) changed.push(r.value);
    }
  });
  return changed;
}
