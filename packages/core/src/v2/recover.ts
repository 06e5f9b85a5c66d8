// Recovery of flat accounts from a backup (the master secret, with or without the records): find
// the accounts on chain, then learn which tickets were used from the server's bulk list of spent
// nullifiers, downloaded whole (every bucket, every page, in a fixed order: never a question about
// one nullifier, which would link the calls it paid for), and move each counter past them.
import type { Address, PublicClient } from 'viem';
import { z } from 'zod';
import { AccountError } from '../errors.js';
import { toFieldHex, type FieldHex } from '../field.js';
import { FIELD_MODULUS, SPENT_PREFIX_HEX_DIGITS } from '../generated/constants.js';
import { initPoseidon2 } from '../poseidon2.js';
import { newId } from '../vault/crypto.js';
import type { AccountRecord } from '../vault/account-record.js';
import type { AccountStore } from './account-store.js';
import { readAccount } from './open.js';
import { accountId, deriveAccountSecret, ticketNullifier } from './tickets.js';

/** A `fetch` as clients route it (their network layer: a SOCKS proxy, Tor). */
export type SpentFetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Every bucket of `GET /v2/zkcredits/spent`, in the fixed order they are downloaded: the
 * `SPENT_PREFIX_HEX_DIGITS`-digit prefixes of the 64-digit hex form that a field element can have.
 * Nullifiers are below p = 0x3064…, so with one digit these are 0, 1, 2 and 3 (about 33% of all
 * nullifiers each in 0–2, about 0.8% in 3); a prefix from 4 up would always be empty.
 */
export const SPENT_PREFIXES: readonly string[] = Array.from({ length: 16 ** SPENT_PREFIX_HEX_DIGITS }, (_, i) => i)
  // Parenthesised: in `f(x) < FIELD_MODULUS)` SWC (Next's TypeScript transform) took the `<` for a
  // type argument list and dropped the import as type-only, leaving the web app without it.
  .filter((i) => (BigInt(i) << BigInt(4 * (64 - SPENT_PREFIX_HEX_DIGITS))) < FIELD_MODULUS)
  .map((i) => i.toString(16).padStart(SPENT_PREFIX_HEX_DIGITS, '0'));

/** Pages of one bucket at most (a sanity bound against a server that never ends a bucket). */
const MAX_PAGES_PER_BUCKET = 100_000;

const NULLIFIER = /^0x[0-9a-f]{64}$/;
const page = z.object({
  nullifiers: z.array(z.string().regex(NULLIFIER)),
  next: z.string().regex(NULLIFIER).nullish(),
});

export type DownloadSpentParameters = {
  /** The zkcredits server's origin, e.g. `https://api.example`. */
  server: string;
  fetch: SpentFetch;
  signal?: AbortSignal;
};

/**
 * Downloads every nullifier the server has seen: all buckets of `GET /v2/zkcredits/spent`, every
 * page, in `SPENT_PREFIXES` order, whatever the caller looks for. Each page is checked against the
 * documented contract (sorted, in its bucket, after the cursor). Throws `AccountError`
 * (`spent_download_failed`) when the server cannot be read or breaks the contract.
 */
export async function downloadSpentNullifiers({ server, fetch, signal }: DownloadSpentParameters): Promise<Set<bigint>> {
  const origin = server.replace(/\/+$/, '');
  const spent = new Set<bigint>();
  for (const prefix of SPENT_PREFIXES) {
    let after: string | undefined;
    for (let pages = 0; ; pages++) {
      if (pages >= MAX_PAGES_PER_BUCKET) throw failed(`bucket ${prefix} did not end after ${MAX_PAGES_PER_BUCKET} pages`);
      const url = `${origin}/v2/zkcredits/spent?prefix=${prefix}${after ? `&after=${after}` : ''}`;
      let res: Response;
      try {
        res = await fetch(url, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
      } catch (cause) {
        if (signal?.aborted) throw cause;
        throw failed(`GET /v2/zkcredits/spent?prefix=${prefix}: ${briefly(cause)}`, cause);
      }
      if (!res.ok) throw failed(`GET /v2/zkcredits/spent?prefix=${prefix} answered ${res.status}`);
      const parsed = page.safeParse(await res.json().catch(() => undefined));
      if (!parsed.success) throw failed(`bucket ${prefix}: the answer is not {"nullifiers": [0x…64 hex], "next": 0x…64 hex | null}`);
      let last = after;
      for (const nf of parsed.data.nullifiers) {
        if (!nf.startsWith(`0x${prefix}`)) throw failed(`bucket ${prefix} holds ${nf.slice(0, 8)}…, outside it`);
        if (last !== undefined && nf <= last) throw failed(`bucket ${prefix} is not sorted after its cursor`);
        last = nf;
        spent.add(BigInt(nf));
      }
      const next = parsed.data.next ?? undefined;
      if (next === undefined) break;
      if ((after !== undefined && next <= after) || parsed.data.nullifiers.length === 0) throw failed(`bucket ${prefix}: the cursor does not move forward`);
      after = next;
    }
  }
  return spent;
}

export type RecoverAccountsParameters = {
  store: AccountStore;
  publicClient: Pick<PublicClient, 'readContract'>;
  /** The CreditPool holding the accounts. */
  pool: Address;
  chainId: number;
  /** The zkcredits server whose `/v2/zkcredits/spent` is downloaded, and the fetch to reach it through. */
  server: string;
  fetch: SpentFetch;
  /** Derivation indices in a row with no account on chain before the scan stops (default 20). */
  gap?: number;
  signal?: AbortSignal;
  /** Clock for `createdAt` of accounts found on chain (ms); default `Date.now`. */
  now?: () => number;
};

/** What recovery found for one account of the deployment. */
export type RecoveredAccount = { id: string; accountId: FieldHex; index: number; status: AccountRecord['status']; tickets: number; nextTicket: number; found: 'store' | 'chain' };

/**
 * Rebuilds this deployment's accounts from the store's master secret (and the records it already
 * holds, e.g. from a backup):
 * 1. For `j = 0, 1, …` reads `accounts(H(TAG_ID, k_j))` on chain until `gap` indices in a row are
 *    unused; accounts the store lacks are added, the others get their on-chain status and terms
 *    (`open`, or `revoked` when slashed). Records the store holds under other secrets are read too.
 * 2. Downloads every spent nullifier (`downloadSpentNullifiers`) and moves each open account's
 *    counter past the highest ticket found used (never back), clearing `recoveryNeeded`.
 */
export async function recoverAccounts(params: RecoverAccountsParameters): Promise<RecoveredAccount[]> {
  const { store, publicClient, pool, chainId, gap = 20 } = params;
  const now = params.now ?? Date.now;
  await initPoseidon2();
  const mine = (r: AccountRecord) => r.chainId === chainId && r.contract.toLowerCase() === pool.toLowerCase();
  const master = await store.masterSecret();
  const byAccount = new Map((await store.listAccounts()).filter(mine).map((r) => [r.accountId, r]));
  const found = new Map<string, 'store' | 'chain'>();

  const refresh = async (record: AccountRecord | undefined, id: FieldHex, index: number, secret: bigint): Promise<boolean> => {
    let slot: Awaited<ReturnType<typeof readAccount>>;
    try {
      slot = await readAccount(publicClient, pool, BigInt(id));
    } catch (cause) {
      throw new AccountError('chain_unavailable', 'The chain could not be read to recover the accounts.', { details: briefly(cause), cause });
    }
    if (slot.status === 0) return false;
    // A metered account at this index (`recoverMeteredAccounts` restores those): the index is used, nothing flat here.
    if (slot.kind === 2) return true;
    // A server may have revoked an account before its slash landed: revoked stays revoked.
    const revoked = slot.status === 2 || record?.status === 'revoked';
    const terms = { status: revoked ? ('revoked' as const) : ('open' as const), leafIndex: slot.leafIndex, expiryDay: slot.expiryDay };
    if (record) {
      const updated = record.status === terms.status && record.leafIndex === terms.leafIndex && record.expiryDay === terms.expiryDay ? record : await store.updateAccount(record.id, terms);
      byAccount.set(id, updated);
      found.set(updated.id, 'store');
    } else {
      const created: AccountRecord = {
        id: newId(),
        kind: 'flat',
        accountId: id,
        secret: toFieldHex(secret),
        index,
        chainId,
        contract: pool,
        tickets: slot.tickets,
        fromBlock: '0',
        nextTicket: 0,
        journal: [],
        burned: 0,
        createdAt: now(),
        ...terms,
      };
      await store.addAccounts([created]);
      byAccount.set(id, created);
      found.set(created.id, 'chain');
    }
    return true;
  };

  for (let j = 0, unused = 0; unused < gap; j++) {
    const k = deriveAccountSecret(master, j);
    const id = toFieldHex(accountId(k));
    unused = (await refresh(byAccount.get(id), id, j, k)) ? 0 : unused + 1;
  }
  // Records under other secrets (imported from another vault's backup).
  for (const record of [...byAccount.values()]) {
    if (!found.has(record.id) && record.status !== 'revoked') await refresh(record, record.accountId, record.index, BigInt(record.secret));
  }

  const spent = await downloadSpentNullifiers(params);
  const out: RecoveredAccount[] = [];
  for (let record of byAccount.values()) {
    if (record.status === 'open') {
      const k = BigInt(record.secret);
      let next = record.nextTicket;
      for (let i = record.nextTicket; i < record.tickets; i++) {
        if (spent.has(ticketNullifier(k, i))) next = i + 1;
        if (i % 2048 === 2047) await new Promise((r) => setTimeout(r, 0)); // keep a page responsive
      }
      if (next > record.nextTicket || record.recoveryNeeded) record = await store.updateAccount(record.id, { nextTicket: next, recoveryNeeded: false });
    } else if (record.recoveryNeeded) {
      record = await store.updateAccount(record.id, { recoveryNeeded: false });
    }
    out.push({
      id: record.id,
      accountId: record.accountId,
      index: record.index,
      status: record.status,
      tickets: record.tickets,
      nextTicket: record.nextTicket,
      found: found.get(record.id) ?? 'store',
    });
  }
  return out;
}

function failed(details: string, cause?: unknown): AccountError {
  return new AccountError('spent_download_failed', 'The list of spent tickets could not be downloaded; no counter was changed.', { details, cause });
}

function briefly(error: unknown): string | undefined {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined;
}
