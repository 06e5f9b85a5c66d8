// Recovery of metered accounts from a backup (the master secret, with or without the records):
// find them on chain, then check every lane against the server's bulk list of spent nullifiers
// (downloaded whole, never a question about one nullifier): a lane whose next position was used
// elsewhere (another copy of the vault went on with it) is marked `stale` and never used from here,
// since proving that position again for another request would publish the account secret.
//
// The lane states themselves cannot be rebuilt from the server: a state is signed on a commitment
// whose salt only the copy that made the call knows, and asking for old states one by one would
// link them. A lane continues from the state the backup holds, or not at all.
import { parseEventLogs, type Address, type PublicClient } from 'viem';
import { AccountError } from '../errors.js';
import { toFieldHex, type FieldHex } from '../field.js';
import { creditPoolAbi } from '../generated/abis.js';
import { initPoseidon2 } from '../poseidon2.js';
import { newId } from '../vault/crypto.js';
import { genesisLanes, lanePosition, type MeteredAccountRecord } from '../vault/metered-record.js';
import type { AccountStore } from './account-store.js';
import { meteredNullifier } from './metered.js';
import type { MeteredAccountStore } from './metered-store.js';
import { readAccount } from './open.js';
import { downloadSpentNullifiers, type SpentFetch } from './recover.js';
import { readMeteredParams } from './state-keys.js';
import { accountId, deriveAccountSecret } from './tickets.js';

/** Account kinds in the contract's `accounts(id)` slot. */
const KIND_METERED = 2;

export type RecoverMeteredAccountsParameters = {
  store: Pick<AccountStore, 'masterSecret' | 'listAccounts'> & MeteredAccountStore;
  publicClient: Pick<PublicClient, 'readContract' | 'getLogs'>;
  pool: Address;
  chainId: number;
  /** The zkcredits server whose `/v2/zkcredits/spent` is downloaded, and the fetch to reach it through. */
  server: string;
  fetch: SpentFetch;
  /** The spent set when the caller has just downloaded it (e.g. for flat recovery too): not downloaded again. */
  spent?: ReadonlySet<bigint>;
  /** Derivation indices in a row with no account on chain (of either kind) before the scan stops (default 20). */
  gap?: number;
  signal?: AbortSignal;
  /** Clock for `createdAt` of accounts found on chain (ms); default `Date.now`. */
  now?: () => number;
};

/** What recovery found for one metered account of the deployment. */
export type RecoveredMeteredAccount = {
  id: string;
  accountId: FieldHex;
  index: number;
  status: MeteredAccountRecord['status'];
  lanes: number;
  /** Lanes found continued elsewhere (marked stale now or before). */
  staleLanes: number;
  /** Lanes with a call whose state is still to be asked for. */
  pendingLanes: number;
  found: 'store' | 'chain';
};

/**
 * Rebuilds this deployment's metered accounts from the store's master secret and records:
 * 1. For `j = 0, 1, …` reads `accounts(H(TAG_ID, k_j))` until `gap` indices in a row are unused by
 *    either kind; metered accounts the store lacks are added from their `MeteredAccountOpened`
 *    event (every lane at genesis), the others get their on-chain status and terms.
 * 2. With every spent nullifier (downloaded whole unless given), marks stale each lane whose next
 *    position was used: for a lane at rest its next call's nullifier, for a lane with a pending call
 *    the position after it (the pending call itself is this copy's; its state is asked for later).
 *    `recoveryNeeded` is cleared.
 * Errors: `AccountError` (`chain_unavailable`, `spent_download_failed`).
 */
export async function recoverMeteredAccounts(params: RecoverMeteredAccountsParameters): Promise<RecoveredMeteredAccount[]> {
  const { store, publicClient, pool, chainId, gap = 20 } = params;
  const now = params.now ?? Date.now;
  await initPoseidon2();
  const mine = (r: MeteredAccountRecord) => r.chainId === chainId && r.contract.toLowerCase() === pool.toLowerCase();
  const master = await store.masterSecret();
  const byAccount = new Map((await store.listMeteredAccounts()).filter(mine).map((r) => [r.accountId, r]));
  const flat = new Set((await store.listAccounts()).map((a) => a.accountId));
  const found = new Map<string, 'store' | 'chain'>();
  let params_: { priceUnit: bigint; cMax: number } | undefined;

  const chain = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (cause) {
      throw new AccountError('chain_unavailable', `The chain could not be read to recover the metered accounts (${what}).`, { details: briefly(cause), cause });
    }
  };

  /** Reads the slot of `id`; true when the index is used by an account of either kind. */
  const refresh = async (record: MeteredAccountRecord | undefined, id: FieldHex, index: number, secret: bigint): Promise<boolean> => {
    const slot = await chain('accounts', () => readAccount(publicClient, pool, BigInt(id)));
    if (slot.status === 0) return false;
    if (slot.kind !== KIND_METERED) return true;
    const revoked = slot.status === 2 || record?.status === 'revoked';
    const status = revoked ? ('revoked' as const) : ('open' as const);
    if (record) {
      const same = record.status === status && record.leafIndex === slot.leafIndex && record.expiryDay === slot.expiryDay;
      const updated = same ? record : await store.updateMeteredAccount(record.id, { status, leafIndex: slot.leafIndex, expiryDay: slot.expiryDay });
      byAccount.set(id, updated);
      found.set(updated.id, 'store');
      return true;
    }
    // Not in the store: its terms are in its opening event.
    const logs = await chain('MeteredAccountOpened', () => publicClient.getLogs({ address: pool, event: openedEvent, args: { id: BigInt(id) }, fromBlock: 0n, toBlock: 'latest' }));
    const opened = parseEventLogs({ abi: creditPoolAbi, eventName: 'MeteredAccountOpened', logs }).find((l) => l.args.id === BigInt(id));
    if (!opened) return true;
    params_ ??= await chain('priceUnit, cMax', () => readMeteredParams(publicClient, pool));
    const a = opened.args;
    const created: MeteredAccountRecord = {
      id: newId(),
      kind: 'metered',
      accountId: id,
      secret: toFieldHex(secret),
      index,
      status,
      chainId,
      contract: pool,
      dLane: Number(a.dLane),
      lanesLog2: Number(a.lanesLog2),
      sLane: Number(a.sLane),
      cMax: params_.cMax,
      priceUnit: params_.priceUnit.toString(),
      expiryDay: Number(a.expiryDay),
      leafIndex: Number(a.leafIndex),
      fromBlock: (opened.blockNumber ?? 0n).toString(),
      ...(opened.transactionHash ? { txHash: opened.transactionHash } : {}),
      lanes: genesisLanes(Number(a.lanesLog2)),
      // Found from the master alone: its lanes may have been used; checked against the spent list below.
      recoveryNeeded: true,
      createdAt: now(),
    };
    await store.addMeteredAccounts([created]);
    byAccount.set(id, created);
    found.set(created.id, 'chain');
    return true;
  };

  for (let j = 0, unused = 0; unused < gap; j++) {
    const k = deriveAccountSecret(master, j);
    const id = toFieldHex(accountId(k));
    if (flat.has(id)) {
      unused = 0;
      continue;
    }
    unused = (await refresh(byAccount.get(id), id, j, k)) ? 0 : unused + 1;
  }
  // Records under other secrets (imported from another vault's backup).
  for (const record of [...byAccount.values()]) {
    if (!found.has(record.id) && record.status !== 'revoked') await refresh(record, record.accountId, record.index, BigInt(record.secret));
  }

  const spent = params.spent ?? (await downloadSpentNullifiers(params));
  const out: RecoveredMeteredAccount[] = [];
  for (let record of byAccount.values()) {
    if (record.status === 'open') {
      const k = BigInt(record.secret);
      const stale = record.lanes.flatMap((l, lane) => {
        if (l.stale) return [];
        const next = l.pending ? l.pending.next.n : lanePosition(l.state);
        return spent.has(meteredNullifier(k, lane, next)) ? [lane] : [];
      });
      if (stale.length > 0 || record.recoveryNeeded) record = await store.updateMeteredAccount(record.id, { staleLanes: stale, recoveryNeeded: false });
    } else if (record.recoveryNeeded) {
      record = await store.updateMeteredAccount(record.id, { recoveryNeeded: false });
    }
    out.push({
      id: record.id,
      accountId: record.accountId,
      index: record.index,
      status: record.status,
      lanes: record.lanes.length,
      staleLanes: record.lanes.filter((l) => l.stale).length,
      pendingLanes: record.lanes.filter((l) => l.pending && !l.stale).length,
      found: found.get(record.id) ?? 'store',
    });
  }
  return out;
}

const openedEvent = creditPoolAbi.find((e) => e.type === 'event' && e.name === 'MeteredAccountOpened') as Extract<(typeof creditPoolAbi)[number], { type: 'event'; name: 'MeteredAccountOpened' }>;

function briefly(error: unknown): string | undefined {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined;
}
