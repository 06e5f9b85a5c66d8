import { parseEventLogs, type Address, type Log, type PublicClient } from 'viem';
import { isActive, type CreditRecord, type Vault } from '../vault';
import { creditPoolAbi } from './abi';

/** Blocks per eth_getLogs call (public RPCs cap the range). */
const CHUNK = 9_000n;

/**
 * Marks vault credits whose commitments appear in these `CreditsPurchased` logs as unspent,
 * with their leaf index. Returns the credits that changed.
 */
export async function applyPurchaseLogs(vault: Vault, logs: Log[], pool: Address): Promise<CreditRecord[]> {
  const events = parseEventLogs({ abi: creditPoolAbi, logs, eventName: 'CreditsPurchased', strict: true }).filter(
    (l) => l.address.toLowerCase() === pool.toLowerCase(),
  );
  const index = new Map<string, number>();
  for (const e of events) {
    e.args.commitments.forEach((c, i) => index.set(`0x${c.toString(16).padStart(64, '0')}`, Number(e.args.startIndex) + i));
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
  let from = open.reduce((m, r) => (BigInt(r.fromBlock) < m ? BigInt(r.fromBlock) : m), latest);
  const changed: CreditRecord[] = [];
  for (; from <= latest; from += CHUNK) {
    const to = from + CHUNK - 1n < latest ? from + CHUNK - 1n : latest;
    const logs = await client.getLogs({
      address: pool,
      event: creditPoolAbi.find((x) => x.type === 'event' && x.name === 'CreditsPurchased') as Extract<
        (typeof creditPoolAbi)[number],
        { type: 'event' }
      >,
      fromBlock: from,
      toBlock: to,
    });
    changed.push(...(await applyPurchaseLogs(vault, logs as Log[], pool)));
  }
  return changed;
}
