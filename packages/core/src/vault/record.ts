import { z } from 'zod';

type Hex = `0x${string}`;
const hex = (re: RegExp, message: string) => z.string().regex(re, message).pipe(z.custom<Hex>());
const fieldHex = hex(/^0x[0-9a-f]{64}$/, 'expected 0x + 64 lower-case hex digits');
const address = hex(/^0x[0-9a-fA-F]{40}$/, 'expected an address');
const txHash = hex(/^0x[0-9a-fA-F]{64}$/, 'expected a transaction hash');
const blockHash = hex(/^0x[0-9a-f]{64}$/, 'expected a lower-case block hash');

/**
 * Status of one credit in the vault:
 * - `pending`: generated and saved before the purchase was sent; not yet seen on chain.
 * - `unspent`: its commitment is in the tree at `leafIndex`.
 * - `spent`: the server accepted its nullifier (or told us it was already used).
 * - `abandoned`: the purchase was rejected in the wallet or reverted; nothing was paid.
 * Any of them can also be archived (`archivedAt`): kept, but no longer counted or used.
 */
export const creditStatus = z.enum(['pending', 'unspent', 'spent', 'abandoned']);
export type CreditStatus = z.infer<typeof creditStatus>;

/** One credit as kept in the vault (encrypted at rest). The shape is part of the vault format. */
export const creditRecord = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/),
  nullifier: fieldHex,
  secret: fieldHex,
  commitment: fieldHex,
  status: creditStatus,
  chainId: z.number().int().positive(),
  contract: address,
  /** Purchase batch: credits bought in the same transaction share it. */
  batch: z.string().regex(/^[0-9a-f]{32}$/),
  /** First block that could hold the purchase (lower bound of the event scan). */
  fromBlock: z.string().regex(/^[0-9]+$/),
  txHash: txHash.optional(),
  leafIndex: z.number().int().nonnegative().optional(),
  createdAt: z.number().int(),
  spentAt: z.number().int().optional(),
  /**
   * Hash of the block the CreditPool was deployed in, read from the chain when the credit was
   * made. A chain that was reset (e.g. a restarted Anvil) can have a CreditPool at the same
   * address, but not this block: credits from before the reset can never be found there.
   * Absent in credits made by older versions of the app.
   */
  deploymentBlockHash: blockHash.optional(),
  /** When the user archived it (e.g. it belongs to a chain that was reset): kept, never counted or used. */
  archivedAt: z.number().int().optional(),
});
export type CreditRecord = z.infer<typeof creditRecord>;

/** The fields of a credit that may change after it is made. */
export type CreditPatch = Partial<Omit<CreditRecord, 'id' | 'nullifier' | 'secret' | 'commitment'>>;

export type CreditCounts = { unspent: number; spent: number; pending: number; archived: number };

/** Whether a credit still counts: not archived. */
export function isActive(r: CreditRecord): boolean {
  return r.archivedAt === undefined;
}

const rank: Record<CreditStatus, number> = { abandoned: 0, pending: 1, unspent: 2, spent: 3 };

/**
 * Combines two copies of the same credit (same commitment), e.g. from a backup:
 * the most advanced status wins (spent > unspent > pending > abandoned), known facts are kept.
 */
export function mergeRecords(a: CreditRecord, b: CreditRecord): CreditRecord {
  const [hi, lo] = rank[b.status] > rank[a.status] ? [b, a] : [a, b];
  return {
    ...lo,
    ...hi,
    id: a.id,
    txHash: hi.txHash ?? lo.txHash,
    leafIndex: hi.leafIndex ?? lo.leafIndex,
    spentAt: hi.spentAt ?? lo.spentAt,
    deploymentBlockHash: hi.deploymentBlockHash ?? lo.deploymentBlockHash,
    archivedAt: hi.archivedAt ?? lo.archivedAt,
  };
}

export function countCredits(records: Iterable<CreditRecord>): CreditCounts {
  const counts: CreditCounts = { unspent: 0, spent: 0, pending: 0, archived: 0 };
  for (const r of records) {
    if (!isActive(r)) counts.archived++;
    else if (r.status === 'unspent') counts.unspent++;
    else if (r.status === 'spent') counts.spent++;
    else if (r.status === 'pending') counts.pending++;
  }
  return counts;
}
