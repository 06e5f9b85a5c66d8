// Spending one ticket of a flat account: the one flow every client uses (SDK, CLI, web app).
// Journal first (the ticket is bound to the request's digest before anything is proven or sent),
// then the witness and the proof; the payload stays in this process's memory so that a retry of
// the same request re-sends the same bytes, and no other request ever gets that ticket.
import { bytesToHex } from '@noble/hashes/utils.js';
import { AccountError } from '../errors.js';
import type { TicketWitness } from '../prover/ticket-prover.js';
import { requestDigest, requestHash, type RequestHashParameters } from '../request-hash.js';
import type { MerkleTree } from '../tree.js';
import type { AccountRecord, TicketOutcome } from '../vault/account-record.js';
import type { AccountStore } from './account-store.js';
import { encodeTicketPayload, type TicketPayload, type TicketProof } from './ticket-payload.js';
import { buildTicketWitness } from './ticket-witness.js';

/** Anything that proves a flat ticket: `TicketProver` (`@zkcredits/core/prover`, or `createNodeTicketProver`). */
export interface TicketProverLike {
  prove(witness: TicketWitness): Promise<TicketProof>;
}

/** The request a ticket pays for, as `requestHash` takes it without the deployment (the account's own is used). */
export type TicketRequest = Omit<RequestHashParameters, 'chainId' | 'contract'>;

/** One ticket on its way: the `zkcredits` member to send, and what `settle`/`release` need. */
export type TicketSpend = {
  /** The account record id. */
  account: string;
  ticket: number;
  /** The request digest (hex) the ticket is journaled for. */
  digest: string;
  /** The v2 `zkcredits` body member. The same object (so the same JSON) on every retry of this request. */
  payload: TicketPayload;
  /** True when this is the in-flight ticket of an earlier attempt of the same request, re-sent as it was. */
  retry: boolean;
};

export type SpendTicketParameters = {
  /** An open account of the store. */
  account: AccountRecord;
  /** The tree mirror holding the account's leaf, checked against the chain by the caller. */
  tree: MerkleTree;
  request: TicketRequest;
  /** UTC day number (`utcDay(Date.now())`). */
  today: number;
  /**
   * Prove the in-flight ticket of this request again (same ticket, same request, so the same
   * nullifier and share) with the current tree and day: after `unknown_root`, `expired_root` or
   * `invalid_today`. Never takes another ticket for it.
   */
  reprove?: boolean;
};

type InFlight = { account: string; ticket: number; digest: string; today: number; payload: TicketPayload; busy: boolean };

/**
 * Spends tickets of the accounts in one `AccountStore`, keeping each in-flight ticket's proved
 * payload in memory (never at rest) keyed by (account, ticket).
 *
 * Each `spend` must end with exactly one of:
 * - `settle(spend, 'served')`: the server answered it (or said `ticket_reused`);
 * - `settle(spend, 'burned')`: a final refusal for this request; the ticket is given up;
 * - `release(spend)`: no outcome known (no answer, or a refusal worth retrying): the ticket stays
 *   in flight, and the next `spend` of the same request on the same account re-sends it byte for
 *   byte. If this process ends first, the next one burns it (`Vault.unlock`).
 *
 * @example
 * const spend = await spender.spend({ account, tree, request: { method: 'POST', path: CHAT_PATH, body }, today: utcDay(Date.now()) });
 * const res = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, zkcredits: spend.payload }) });
 * await (res.ok ? spender.settle(spend, 'served') : spender.release(spend));
 */
export class TicketSpender {
  readonly #inFlight = new Map<string, InFlight>();

  constructor(
    private readonly store: Pick<AccountStore, 'takeTicket' | 'settleTicket'>,
    private readonly prover: () => Promise<TicketProverLike>,
  ) {}

  /**
   * A ticket of `account` for `request`: the in-flight one of an earlier attempt of the same
   * request (same digest) when there is one and no other attempt holds it, else the next one
   * from the journal. Errors: `AccountError` (`account_not_open`, `account_expired`,
   * `no_tickets`), the store's and the prover's (a ticket taken for a proof that failed is burned:
   * it was never sent).
   */
  async spend({ account, tree, request, today, reprove = false }: SpendTicketParameters): Promise<TicketSpend> {
    const digest = bytesToHex(requestDigest(request));
    const x = requestHash({ ...request, chainId: account.chainId, contract: account.contract });
    const held = [...this.#inFlight.values()].find((f) => f.account === account.id && f.digest === digest && !f.busy);
    if (held) {
      held.busy = true;
      try {
        // A proof stays good on the server's day d for today ∈ {d − 1, d}.
        if (reprove || (held.today !== today && held.today !== today - 1)) {
          held.payload = await this.#prove(account, tree, held.ticket, x, today);
          held.today = today;
        }
      } catch (error) {
        held.busy = false;
        throw error;
      }
      return { account: account.id, ticket: held.ticket, digest, payload: held.payload, retry: true };
    }
    if (account.expiryDay === undefined || account.status !== 'open') {
      throw new AccountError('account_not_open', `This account is ${account.status}; no ticket can be spent from it.`, { details: `account record ${account.id}` });
    }
    const { ticket } = await this.store.takeTicket(account.id, digest, today);
    let payload: TicketPayload;
    try {
      payload = await this.#prove(account, tree, ticket, x, today);
    } catch (error) {
      // Journaled but never sent: burned, never given to another request.
      await this.store.settleTicket(account.id, ticket, 'burned').catch(() => undefined);
      throw error;
    }
    this.#inFlight.set(key(account.id, ticket), { account: account.id, ticket, digest, today, payload, busy: true });
    return { account: account.id, ticket, digest, payload, retry: false };
  }

  /** The outcome of `spend` is known: its journal entry is settled and the payload forgotten. */
  async settle(spend: TicketSpend, outcome: TicketOutcome): Promise<AccountRecord> {
    const record = await this.store.settleTicket(spend.account, spend.ticket, outcome);
    this.#inFlight.delete(key(spend.account, spend.ticket));
    return record;
  }

  /** No outcome known: the ticket stays in flight for a byte-identical retry of the same request. */
  release(spend: TicketSpend): void {
    const held = this.#inFlight.get(key(spend.account, spend.ticket));
    if (held) held.busy = false;
  }

  /** Tickets this process holds in flight (for balances and tests); never their payloads. */
  inFlight(): { account: string; ticket: number; digest: string }[] {
    return [...this.#inFlight.values()].map(({ account, ticket, digest }) => ({ account, ticket, digest }));
  }

  async #prove(account: AccountRecord, tree: MerkleTree, ticket: number, x: bigint, today: number): Promise<TicketPayload> {
    const witness = buildTicketWitness({ k: BigInt(account.secret), tickets: account.tickets, expiryDay: account.expiryDay! }, tree, ticket, x, today);
    return encodeTicketPayload(await (await this.prover()).prove(witness));
  }
}

function key(account: string, ticket: number): string {
  return `${account}:${ticket}`;
}
