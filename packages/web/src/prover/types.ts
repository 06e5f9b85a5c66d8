import type { AccountRecord, ProofPayload, TicketOutcome, TicketSpend } from '@zkcredits/core';
import type { E2eeWorkerApi, Wire } from '../e2ee/types';

export type Hex = `0x${string}`;

export type ProverStage = 'loading' | 'syncing' | 'witness' | 'proving' | 'done';
export type ProgressEvent = { stage: ProverStage; elapsedMs: number };

export type SecretPair = { nullifier: Hex; secret: Hex };

export type ProveRequest = SecretPair & {
  commitment: Hex;
  chainId: number;
  contract: Hex;
  method: 'POST';
  path: string;
  /** Request headers the request hash binds (the three Venice E2EE headers; others are ignored). */
  headers?: Record<string, string>;
  /** The JSON body without the `zkcredits` member. */
  body: unknown;
};

export type ProveResult = {
  payload: ProofPayload;
  requestHash: Hex;
  leafIndex: number;
  /** Time spent loading circuit + CRS + backend (0 when already warm). */
  loadMs: number;
  witnessMs: number;
  proveMs: number;
};

export type TreeState = { size: number; root: Hex };

/** The request a ticket pays for: what the request hash binds (the deployment comes from the account). */
export type TicketRequest = {
  method: 'POST';
  path: string;
  /** Request headers the request hash binds (the three Venice E2EE headers; others are ignored). */
  headers?: Record<string, string>;
  /** The JSON body without the `zkcredits` member. */
  body: unknown;
};

export type TicketSpendRequest = {
  /** An open account of the vault (its secret is used here, in the worker, and nowhere else). */
  account: AccountRecord;
  request: TicketRequest;
  /** UTC day number. */
  today: number;
  /** Prove this request's in-flight ticket again (new root or day): same ticket, same nullifier and share. */
  reprove?: boolean;
};

export type TicketSpendResult = {
  /** The ticket and its `zkcredits` member; `spend.retry`: the in-flight ticket of an earlier attempt, re-sent as it was. */
  spend: TicketSpend;
  /** Time spent loading circuit + CRS + backend (0 when already warm). */
  loadMs: number;
  /** Journal write, witness and proof (next to nothing for a byte-identical retry). */
  proveMs: number;
};

/**
 * The vault's ticket journal as the worker reaches it (a Comlink proxy to the page's vault; the
 * vault stays in the page). Errors come back as values: Comlink would keep only their message.
 */
export interface TicketJournal {
  takeTicket(id: string, digest: string, today?: number): Promise<Wire<{ ticket: number; account: AccountRecord }>>;
  settleTicket(id: string, ticket: number, outcome: TicketOutcome): Promise<Wire<AccountRecord>>;
}

/**
 * The API of the prover worker (all heavy work: Poseidon2, the tree mirror, proving; and
 * end-to-end encryption: attestation verification, the E2EE sessions and their keys).
 */
export interface ProverApi extends E2eeWorkerApi {
  commitments(pairs: SecretPair[]): Promise<{ commitment: Hex; nullifierHash: Hex }[]>;
  appendLeaves(startIndex: number, leaves: Hex[]): Promise<TreeState>;
  tree(): Promise<TreeState>;
  /** Drops the tree mirror (after a tree that did not check out); the next sync starts from leaf 0. */
  resetTree(): Promise<void>;
  indexOf(commitment: Hex): Promise<number>;
  warmup(onProgress?: (e: ProgressEvent) => void): Promise<{ loadMs: number; threads: number }>;
  prove(request: ProveRequest, onProgress?: (e: ProgressEvent) => void): Promise<ProveResult>;
  /**
   * A ticket of `account` for `request` through core's `TicketSpender`: the in-flight ticket of an
   * earlier attempt of this very request (the same bytes), else the next one, journaled through
   * `journal` before anything is proven. `account_not_in_tree` (nothing journaled) when the
   * account's leaf is not in the mirror yet. The caller holds the account's Web Lock.
   */
  ticketSpend(request: TicketSpendRequest, journal: TicketJournal, onProgress?: (e: ProgressEvent) => void): Promise<Wire<TicketSpendResult>>;
  /** The outcome of a ticket is known: its journal entry is settled and its payload forgotten. */
  ticketSettle(spend: TicketSpend, outcome: TicketOutcome, journal: TicketJournal): Promise<Wire<AccountRecord>>;
  /** No outcome known: the ticket stays in flight, for a byte-identical retry of the same request in this tab. */
  ticketRelease(spend: TicketSpend): Promise<void>;
  /** The account record holding an in-flight ticket for exactly this request, if any. */
  ticketHeld(request: TicketRequest): Promise<string | undefined>;
}
