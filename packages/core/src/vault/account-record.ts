// Protocol v2 flat accounts as a client keeps them (encrypted at rest in the vault, like credits),
// and the one definition of the ticket journal: pure transitions every store applies, so the vault,
// the SDK's memory store and any other store move tickets by the same rules.
import { z } from 'zod';
import { MAX_TICKETS } from '../generated/constants.js';
import { AccountError, VaultError } from '../errors.js';

type Hex = `0x${string}`;
const hex = (re: RegExp, message: string) => z.string().regex(re, message).pipe(z.custom<Hex>());
const fieldHex = hex(/^0x[0-9a-f]{64}$/, 'expected 0x + 64 lower-case hex digits');
const address = hex(/^0x[0-9a-fA-F]{40}$/, 'expected an address');
const txHash = hex(/^0x[0-9a-fA-F]{64}$/, 'expected a transaction hash');
const ticketIndex = z.number().int().nonnegative().lt(MAX_TICKETS);

/**
 * Status of one flat account:
 * - `pending`: its secret was derived and saved before the opening was sent; not seen on chain yet.
 * - `open`: its leaf is in the tree at `leafIndex`; tickets can be spent until `expiryDay`.
 * - `revoked`: a server refused it (`account_revoked`) or the chain says it was slashed.
 * - `abandoned`: the opening was rejected in the wallet or reverted; nothing was paid.
 */
export const accountStatus = z.enum(['pending', 'open', 'revoked', 'abandoned']);
export type AccountStatus = z.infer<typeof accountStatus>;

/**
 * One write-ahead journal entry: ticket `ticket` was taken for the request whose `requestDigest`
 * is `digest` (64 lower-case hex digits). Never the body: the body lives only in the memory of the
 * process that sends it.
 */
export const journalEntry = z.strictObject({ ticket: ticketIndex, digest: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits') });
export type JournalEntry = z.infer<typeof journalEntry>;

/**
 * The fields every account record starts with, flat or metered (part of the vault format): the
 * record's own id (random, 32 hex digits, like a credit's), its kind, the public account id
 * `H(TAG_ID, k)` as the opening took it, the account secret `k = H(TAG_ACCOUNT_KEY, master, index)`
 * (derivable from the vault's master for its own accounts; kept so an account imported from another
 * vault's backup still works), the derivation index `j` (one index space for both kinds), the
 * status and the deployment.
 */
export function accountRecordHead<const K extends 'flat' | 'metered'>(kind: K) {
  return {
    id: z.string().regex(/^[0-9a-f]{32}$/),
    kind: z.literal(kind),
    accountId: fieldHex,
    secret: fieldHex,
    index: z.number().int().nonnegative(),
    status: accountStatus,
    chainId: z.number().int().positive(),
    contract: address,
  };
}

/** One flat account as kept in a client store (the vault seals it). The shape is part of the vault format. */
export const accountRecord = z
  .object({
    ...accountRecordHead('flat'),
    /** Tickets bought (`N`): tickets `0 .. N-1` can be spent. */
    tickets: z.number().int().positive().max(MAX_TICKETS),
    /** Last UTC day a ticket can be spent, as the contract set it (known once opened). */
    expiryDay: z.number().int().nonnegative().optional(),
    leafIndex: z.number().int().nonnegative().optional(),
    /** First block that could hold the opening (lower bound of an event scan). */
    fromBlock: z.string().regex(/^[0-9]+$/),
    txHash: txHash.optional(),
    /** The next ticket to take: every ticket below it was taken (served, burned or in flight). */
    nextTicket: z.number().int().nonnegative().max(MAX_TICKETS),
    /** Tickets taken and not settled yet, with the digest of the one request each may carry. */
    journal: z.array(journalEntry).max(1024),
    /** Tickets given up without an answer (in flight when a process ended, or a final refusal). */
    burned: z.number().int().nonnegative(),
    /**
     * The counter may be behind the tickets really used (the record came from a backup): no ticket
     * is taken until recovery (`recoverAccounts`) has read the server's spent list and cleared it.
     */
    recoveryNeeded: z.literal(true).optional(),
    createdAt: z.number().int(),
  })
  .superRefine((r, ctx) => {
    if (r.nextTicket > r.tickets) ctx.addIssue({ code: 'custom', path: ['nextTicket'], message: `at most tickets (${r.tickets})` });
    if (r.journal.some((e) => e.ticket >= r.nextTicket)) ctx.addIssue({ code: 'custom', path: ['journal'], message: 'a journaled ticket must be below nextTicket' });
  });
export type AccountRecord = z.infer<typeof accountRecord>;

/**
 * The fields of an account record that may change after it is made. Tickets are taken only
 * through the journal; `nextTicket` here only moves the counter forward (recovery), never back.
 */
export type AccountPatch = Partial<Pick<AccountRecord, 'status' | 'expiryDay' | 'leafIndex' | 'txHash' | 'fromBlock' | 'nextTicket'>> & {
  /** `false` once recovery has brought the counter up to date. */
  recoveryNeeded?: boolean;
};

/** How a taken ticket ended: `served` (the server answered it) or `burned` (given up; never sent again with another request). */
export type TicketOutcome = 'served' | 'burned';

const NEXT: Record<AccountStatus, readonly AccountStatus[]> = {
  pending: ['pending', 'open', 'abandoned', 'revoked'],
  // An opening given up for lost can still turn up on chain.
  abandoned: ['abandoned', 'open', 'revoked'],
  open: ['open', 'revoked'],
  revoked: ['revoked'],
};

/** Whether an account may move from `from` to `to` (never backwards: a revoked account stays revoked). */
export function canMoveAccount(from: AccountStatus, to: AccountStatus): boolean {
  return NEXT[from].includes(to);
}

/** Parses an account record; `invalid_account` (where and what, never the value) otherwise. */
export function parseAccountRecord(value: unknown): AccountRecord {
  const parsed = accountRecord.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VaultError('invalid_account', 'That is not a valid account record.', {
      details: issue ? `${issue.path.map(String).join('.') || '(value)'}: ${issue.message}` : undefined,
    });
  }
  return parsed.data;
}

/** Applies `patch`, refusing a status change backwards. */
export function patchAccount(record: AccountRecord, patch: AccountPatch): AccountRecord {
  if (patch.status && !canMoveAccount(record.status, patch.status)) {
    throw new VaultError('invalid_account', `a ${record.status} account cannot become ${patch.status}`, { details: `account record ${record.id}` });
  }
  const { recoveryNeeded, ...fields } = patch;
  const next: AccountRecord = { ...record, journal: [...record.journal] };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) (next as Record<string, unknown>)[key] = value;
  next.nextTicket = Math.max(record.nextTicket, patch.nextTicket ?? 0);
  if (recoveryNeeded === true) next.recoveryNeeded = true;
  if (recoveryNeeded === false) delete next.recoveryNeeded;
  return parseAccountRecord(next);
}

/** Tickets not taken yet. */
export function ticketsLeft(record: AccountRecord): number {
  return record.tickets - record.nextTicket;
}

/**
 * Journal step 1, before anything is sent: takes ticket `nextTicket` for the request with digest
 * `digest` (hex), journals `(ticket, digest)` and advances the counter. The caller stores the
 * returned record durably before it uses the ticket. Refuses an account that is not open
 * (`account_not_open`), expired (`account_expired`, when `today` is given) or used up (`no_tickets`).
 */
export function takeTicketIn(record: AccountRecord, digest: string, today?: number): { record: AccountRecord; ticket: number } {
  if (record.status !== 'open') {
    throw new AccountError('account_not_open', `This account is ${record.status}; no ticket can be spent from it.`, { details: `account record ${record.id}` });
  }
  if (today !== undefined && record.expiryDay !== undefined && today > record.expiryDay) {
    throw new AccountError('account_expired', 'This account has expired.', { details: `it expired after day ${record.expiryDay}; today is ${today}` });
  }
  if (record.recoveryNeeded) {
    throw new AccountError('recovery_needed', 'This account came from a backup: recover it before use, or a ticket already spent could be used again.', {
      details: `account record ${record.id}`,
    });
  }
  if (record.nextTicket >= record.tickets) {
    throw new AccountError('no_tickets', 'Every ticket of this account was used.', { details: `${record.tickets} tickets` });
  }
  const ticket = record.nextTicket;
  const next = parseAccountRecord({ ...record, nextTicket: ticket + 1, journal: [...record.journal, { ticket, digest }] });
  return { record: next, ticket };
}

/**
 * Journal step 2, once the outcome is known: removes `ticket`'s entry. `burned` counts it as lost.
 * A ticket no longer in the journal (already settled, or burned by a restart) leaves the record as is.
 */
export function settleTicketIn(record: AccountRecord, ticket: number, outcome: TicketOutcome): AccountRecord {
  if (!record.journal.some((e) => e.ticket === ticket)) return record;
  return parseAccountRecord({
    ...record,
    journal: record.journal.filter((e) => e.ticket !== ticket),
    burned: record.burned + (outcome === 'burned' ? 1 : 0),
  });
}

/**
 * What a new process does with the journal it finds: every entry was in flight in a process that
 * ended, and its body is gone, so its ticket is burned (the counter already moved past it) and can
 * never be re-sent with another body. Returns the record unchanged when the journal is empty.
 */
export function burnJournal(record: AccountRecord): AccountRecord {
  if (record.journal.length === 0) return record;
  return parseAccountRecord({ ...record, journal: [], burned: record.burned + record.journal.length });
}

/**
 * An account as it arrives from a backup: its in-flight tickets burned and, unless the caller has
 * just recovered its counter, marked `recoveryNeeded` (tickets may have been spent since the backup
 * was made; sending one of them again with another request would publish the account secret).
 */
export function fromBackup(record: AccountRecord, recovered = false): AccountRecord {
  const burned = burnJournal(record);
  if (recovered || burned.recoveryNeeded) return burned;
  return parseAccountRecord({ ...burned, recoveryNeeded: true });
}

const rank: Record<AccountStatus, number> = { abandoned: 0, pending: 1, open: 2, revoked: 3 };

/**
 * Combines two copies of one account (same `accountId`), e.g. this store's and a backup's (as
 * `fromBackup` made it): the most advanced status wins, known facts are kept, the counter is the
 * larger one (a ticket taken in either copy is never taken again), only `mine`'s journal is kept
 * (the other copy's in-flight tickets belonged to another process: they are burned), and a copy
 * not recovered that is ahead of this one leaves the account `recoveryNeeded`.
 */
export function mergeAccountRecords(mine: AccountRecord, other: AccountRecord): AccountRecord {
  const hi = rank[other.status] > rank[mine.status] ? other : mine;
  const lo = hi === mine ? other : mine;
  const nextTicket = Math.max(mine.nextTicket, other.nextTicket);
  // A copy not recovered that is ahead of this one was used elsewhere: the counter is unknown again.
  const recoveryNeeded = mine.recoveryNeeded || (other.recoveryNeeded && other.nextTicket > mine.nextTicket);
  const { recoveryNeeded: _hi, ...hiFields } = hi;
  const { recoveryNeeded: _lo, ...loFields } = lo;
  return parseAccountRecord({
    ...loFields,
    ...hiFields,
    ...(recoveryNeeded ? { recoveryNeeded: true } : {}),
    id: mine.id,
    expiryDay: hi.expiryDay ?? lo.expiryDay,
    leafIndex: hi.leafIndex ?? lo.leafIndex,
    txHash: hi.txHash ?? lo.txHash,
    nextTicket,
    journal: mine.journal,
    // The other copy's in-flight tickets that this one never took are burned.
    burned: Math.max(mine.burned, other.burned + other.journal.filter((e) => e.ticket >= mine.nextTicket).length),
    createdAt: Math.min(mine.createdAt, other.createdAt),
  });
}
