// Pending lanes after a reload (or a tab that closed mid-call): each lane whose last call has no
// known state asks the server for it, for that call only (`GET /v2/zkcredits/state/{nullifier}`),
// through the prover worker's `MeteredSpender`, holding the account's Web Lock.
import type { MeteredAccountRecord } from '@zkcredits/core';
import type { Address, PublicClient } from 'viem';
import type { ProverApi } from '../prover/types';
import { hasWebLocks, tryAccountLock, withVaultLock } from '../vault/locks';
import type { Vault } from '../vault';
import { meteredContext } from './deployment';
import { notifyMeteredChange } from './events';
import { ofDeployment } from './usable';

/** Calls the server said it never took (404), asked about once per tab: they wait for the same request again. */
const unknownCalls = new Set<string>();

/** The pending calls of this deployment's open metered accounts still worth asking about. */
function pendingCalls(a: MeteredAccountRecord): string[] {
  return a.lanes.flatMap((l) => (l.pending && !l.stale && !unknownCalls.has(l.pending.nullifier) ? [l.pending.nullifier] : []));
}

/** Whether some lane of this deployment waits for the state of its last call (and the server has not said it never took it). */
export function hasPendingLanes(vault: Vault, chainId: number, pool: Address): boolean {
  return vault.meteredAccounts().some((a) => ofDeployment(a, chainId, pool) && a.status === 'open' && !a.recoveryNeeded && pendingCalls(a).length > 0);
}

/**
 * Asks for the state of every pending lane of this deployment's metered accounts that no tab is
 * using (an account another tab holds is left to it), and commits the states that come back,
 * checked under the on-chain key. Returns how many lanes got their state.
 */
export async function recoverPendingLanes(vault: Vault, prover: Pick<ProverApi, 'meteredRecover'>, client: Pick<PublicClient, 'readContract'>, pool: Address, chainId: number): Promise<number> {
  if (!hasWebLocks() || !hasPendingLanes(vault, chainId, pool)) return 0;
  const ctx = meteredContext(vault, client, pool, chainId);
  let committed = 0;
  await withVaultLock('shared', async () => {
    for (const a of vault.meteredAccounts()) {
      if (!ofDeployment(a, chainId, pool) || a.status !== 'open' || a.recoveryNeeded || pendingCalls(a).length === 0) continue;
      await tryAccountLock(a.accountId, async () => {
        const current = await vault.meteredAccount(a.id);
        const result = await prover.meteredRecover(a.id, ctx);
        if (!result.ok) return;
        for (const r of result.value) {
          if (r.outcome === 'committed') committed++;
          const nullifier = current.lanes[r.lane]?.pending?.nullifier;
          if (r.outcome === 'unknown' && nullifier) unknownCalls.add(nullifier);
        }
      });
    }
  });
  if (committed > 0) notifyMeteredChange();
  return committed;
}
