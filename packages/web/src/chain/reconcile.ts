import type { Address, PublicClient } from 'viem';
import { fetchPurchases, type Purchase } from '@zkcredits/core';
import { isActive, type CreditRecord, type Vault } from '../vault';

/** Blocks per eth_getLogs call (public RPCs cap the range). */
const CHUNK = 9_000n;

/**
 * Marks vault credits whose commitments appear in these purchases (decoded by core from a
 * receipt or from chain logs) as unspent, with their leaf index. Returns the credits that changed.
 */
export async function markPurchased(vault: Vault, purchases: readonly Purchase[], pool: Address): Promise<CreditRecord[]> {
  const index = new Map<string, number>();
  for (const p of purchases) {
    p.commitments.forEach((c, i) => index.set(`0x${c.toString(16).padStart(64, '0')}`, p.startIndex + i));
  }
  const changed: CreditRecord[] = [];
  for (const r of vault.list()) {
    if (!isActive(r) || r.contract.toLowerCase() !== pool.toLowerCase()) continue;
    const leafIndex = index.get(r.commitment);
    if (leafIndex === undefined) continue;
    if (r.status === 'pending' || r.status === 'abandoned' || r.leafIndex === undefined) {
      changed.push(await vault.update(r.id, { status: r.status === 'spent' ? 'spent' : 'unspent', leafIndex }));
    }
  }
  return changed;
}

/**
 * Looks for the commitments of pending (and abandoned, not archived) credits in chain events, e.g. after
 * a reload or a crash mid-purchase. Scans from the earliest block such a credit was created at.
 */
export async function reconcilePending(client: PublicClient, vault: Vault, pool: Address, chainId: number): Promise<CreditRecord[]> {
  const open = vault
    .list()
    .filter((r) => isActive(r) && (r.status === 'pending' || r.status === 'abandoned') && r.chainId === chainId && r.contract.toLowerCase() === pool.toLowerCase());
  if (open.length === 0) return [];
  const latest = await client.getBlockNumber({ cacheTime: 0 });
  const from = open.reduce((m, r) => (BigInt(r.fromBlock) < m ? BigInt(r.fromBlock) : m), latest);
  return markPurchased(vault, await fetchPurchases({ client, address: pool, fromBlock: from, toBlock: latest, chunkSize: CHUNK }), pool);
}
