/**
 * One credit as a client keeps it: the credential (secret: holding it *is* holding the credit),
 * its commitment, its deployment and its status. The record is the vault's
 * (`@zkcredits/core/vault`), so the web app's backups and the CLI's vault hold the same thing.
 *
 * Status moves one way: `pending` (saved before the purchase was sent) → `unspent` (its
 * commitment is on chain) → `spent` (the server accepted it, or said it was used). `abandoned`:
 * the purchase never reached the chain; nothing was paid.
 */
import { credentialCommitment, toFieldHex, type Credential } from '@zkcredits/core';
import { newId, type CreditRecord } from '@zkcredits/core/vault';

export type { CreditRecord, CreditStatus } from '@zkcredits/core/vault';

export type Hex = `0x${string}`;

/** Which deployment a credit belongs to. */
export type DeploymentRef = { chainId: number; contract: Hex };

export type CreditCounts = { pending: number; unspent: number; spent: number; abandoned: number; archived: number };

/** Whether `record` belongs to `deployment` and is not archived. */
export function belongsTo(record: CreditRecord, deployment: DeploymentRef): boolean {
  return record.archivedAt === undefined && record.chainId === deployment.chainId && record.contract.toLowerCase() === deployment.contract.toLowerCase();
}

/** The credential of a record. */
export function credentialOf(record: CreditRecord): Credential {
  return { nullifier: BigInt(record.nullifier), secret: BigInt(record.secret) };
}

/** A `pending` record for a freshly drawn credential (Poseidon2 must be initialised). */
export function pendingRecord(credential: Credential, deployment: DeploymentRef, batch: { id: string; fromBlock: bigint; deploymentBlockHash?: Hex; now: number }): CreditRecord {
  return {
    id: newId(),
    nullifier: toFieldHex(credential.nullifier),
    secret: toFieldHex(credential.secret),
    commitment: toFieldHex(credentialCommitment(credential)),
    status: 'pending',
    chainId: deployment.chainId,
    contract: deployment.contract,
    batch: batch.id,
    fromBlock: batch.fromBlock.toString(),
    ...(batch.deploymentBlockHash ? { deploymentBlockHash: batch.deploymentBlockHash } : {}),
    createdAt: batch.now,
  };
}

/** Counts by status; archived records are counted only as archived. */
export function countCredits(records: Iterable<CreditRecord>): CreditCounts {
  const counts: CreditCounts = { pending: 0, unspent: 0, spent: 0, abandoned: 0, archived: 0 };
  for (const r of records) {
    if (r.archivedAt !== undefined) counts.archived++;
    else counts[r.status]++;
  }
  return counts;
}
