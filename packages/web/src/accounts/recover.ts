import { recoverAccounts, recoverMeteredAccounts, type RecoveredAccount, type RecoveredMeteredAccount } from '@zkcredits/core';
import type { Address, PublicClient } from 'viem';
import { API_BASE } from '../api/client';
import { meteredNeedsRecovery } from '../metered/usable';
import { notifyMeteredChange } from '../metered/events';
import { withVaultLock } from '../vault/locks';
import type { Vault } from '../vault';
import { needsRecovery } from './usable';

/**
 * One recovery's `fetch`: each URL is fetched once and its answer shared (flat and metered recovery
 * both read every `/spent` bucket; the network sees each bucket once).
 */
function sharedFetch(): (input: string, init?: RequestInit) => Promise<Response> {
  const seen = new Map<string, Promise<Response>>();
  return (input, init) => {
    let answer = seen.get(input);
    if (!answer) {
      answer = fetch(input, init);
      seen.set(input, answer);
      answer.catch(() => seen.delete(input));
    }
    return answer.then((r) => r.clone());
  };
}

/**
 * Recovery of v2 accounts after a backup was restored or imported: core's `recoverAccounts` (flat)
 * and `recoverMeteredAccounts` find the accounts of the vault's master secret on chain and download
 * every nullifier the server has seen (all `/v2/zkcredits/spent` buckets, once, through the app's
 * own `/api/zk` pass-through: never a question about one nullifier), so each flat counter starts
 * after the last ticket used and each metered lane used elsewhere is marked stale, wherever that
 * happened; `recoveryNeeded` is cleared. Until then the vault refuses those accounts' tickets and
 * lanes (`recovery_needed`).
 *
 * Runs when accounts of this deployment are `recoveryNeeded` (also after a reload mid-recovery),
 * or when `force`d (right after a restore or an import that brought a master secret: accounts may
 * be on chain without a record). Holds the vault lock exclusively: no tab takes a ticket meanwhile.
 * Returns undefined when there was nothing to do.
 */
export async function recoverVaultAccounts(
  vault: Vault,
  publicClient: Pick<PublicClient, 'readContract' | 'getLogs'>,
  pool: Address,
  chainId: number,
  options: { force?: boolean; signal?: AbortSignal } = {},
): Promise<(RecoveredAccount | RecoveredMeteredAccount)[] | undefined> {
  return withVaultLock('exclusive', async () => {
    const wanted =
      needsRecovery(vault.accounts(), chainId, pool) || meteredNeedsRecovery(vault.meteredAccounts(), chainId, pool) || (options.force === true && vault.hasMaster);
    if (!wanted) return undefined;
    const common = {
      store: vault,
      publicClient,
      pool,
      chainId,
      server: `${window.location.origin}${API_BASE}`,
      fetch: sharedFetch(),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const flat = await recoverAccounts(common);
    const metered = await recoverMeteredAccounts(common);
    notifyMeteredChange();
    return [...flat, ...metered];
  });
}
