import { recoverAccounts, type RecoveredAccount } from '@zkcredits/core';
import type { Address, PublicClient } from 'viem';
import { API_BASE } from '../api/client';
import { withVaultLock } from '../vault/locks';
import type { Vault } from '../vault';
import { needsRecovery } from './usable';

/**
 * Recovery of v2 accounts after a backup was restored or imported: core's `recoverAccounts`
 * finds the accounts of the vault's master secret on chain and downloads every nullifier the
 * server has seen (all `/v2/zkcredits/spent` buckets, through the app's own `/api/zk`
 * pass-through: never a question about one nullifier), so each counter starts after the last
 * ticket used, wherever it was used, and clears core's `recoveryNeeded`. Until then the vault
 * refuses those accounts' tickets (`recovery_needed`).
 *
 * Runs when accounts of this deployment are `recoveryNeeded` (also after a reload mid-recovery),
 * or when `force`d (right after a restore or an import that brought a master secret: accounts may
 * be on chain without a record). Holds the vault lock exclusively: no tab takes a ticket meanwhile.
 * Returns undefined when there was nothing to do.
 */
export async function recoverVaultAccounts(
  vault: Vault,
  publicClient: Pick<PublicClient, 'readContract'>,
  pool: Address,
  chainId: number,
  options: { force?: boolean; signal?: AbortSignal } = {},
): Promise<RecoveredAccount[] | undefined> {
  return withVaultLock('exclusive', async () => {
    const wanted = needsRecovery(vault.accounts(), chainId, pool) || (options.force === true && vault.hasMaster);
    if (!wanted) return undefined;
    return recoverAccounts({
      store: vault,
      publicClient,
      pool,
      chainId,
      server: `${window.location.origin}${API_BASE}`,
      fetch: (input, init) => fetch(input, init),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  });
}
