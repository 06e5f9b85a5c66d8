import type {
  AccountRecord,
  LanePending,
  LaneRecovery,
  MeteredAccountPatch,
  MeteredAccountRecord,
  MeteredDeployment,
  MeteredPayload,
  ProofPayload,
  TicketOutcome,
  TicketSpend,
} from '@zkcredits/core';
import type { LaneSignedState } from '@zkcredits/core/vault';
import type { E2eeWorkerApi, Wire, WireError } from '../e2ee/types';

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
 * The vault's metered accounts as the worker's `MeteredSpender` reaches them (a Comlink proxy to the
 * page's vault): core's `MeteredAccountStore`, its errors as values.
 */
export interface MeteredStoreWire {
  listMeteredAccounts(): Promise<Wire<readonly MeteredAccountRecord[]>>;
  meteredAccount(id: string): Promise<Wire<MeteredAccountRecord>>;
  addMeteredAccounts(records: readonly MeteredAccountRecord[]): Promise<Wire<void>>;
  updateMeteredAccount(id: string, patch: MeteredAccountPatch): Promise<Wire<MeteredAccountRecord>>;
  journalLane(id: string, lane: number, pending: LanePending): Promise<Wire<MeteredAccountRecord>>;
  commitLane(id: string, lane: number, nullifier: bigint, signed: LaneSignedState): Promise<Wire<{ record: MeteredAccountRecord; committed: boolean }>>;
}

/**
 * The page's side of a metered call: the vault (its lane journal) and the deployment as the chain
 * holds it (C_max and the state keys, read through the app's own RPC; `fresh` reads the keys again).
 */
export type MeteredContext = { store: MeteredStoreWire; deployment(fresh: boolean): Promise<Wire<MeteredDeployment>> };

export type MeteredSpendRequest = {
  /** An open metered account of the vault (read again from the vault in the worker). */
  account: MeteredAccountRecord;
  request: TicketRequest;
  /** UTC day number. */
  today: number;
};

/** A metered call on its way, as the page sees it: nothing private (the opening of `cm_new` stays in the worker). */
export type MeteredCallInfo = {
  /** The call's nullifier: its handle for `meteredSettle` / `meteredRelease`. */
  nullifier: Hex;
  account: string;
  lane: number;
  /** The same request sent again at its lane position (the server never saw the first). */
  retry: boolean;
  cMax: number;
  /** The v2 `zkcredits` body member. */
  payload: MeteredPayload;
};

export type MeteredSpendResult = {
  call: MeteredCallInfo;
  /** Time spent loading circuit + CRS + backend (0 when already warm). */
  loadMs: number;
  /** Waiting for a lane, witness, proof and the journal write. */
  proveMs: number;
};

/** A signed state made a lane's state: the call cost `cost = cMax − r` price units, plus a penalty `p`. */
export type MeteredSettled = { account: MeteredAccountRecord; lane: number; r: number; p: number; cost: number; reason?: string };

/** What recovery did for one pending lane (errors as codes only). */
export type LaneRecoveryInfo = Omit<LaneRecovery, 'error'> & { error?: WireError };

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
  /**
   * A call of a metered account for `request` through core's `MeteredSpender` (on this worker's warm
   * bb instance): a lane that can pay C_max (pending lanes are first asked for their state), a
   * fresh commitment, the proof, and the lane's journal entry written through `context.store`
   * before the payload is returned. The caller holds the account's Web Lock.
   */
  meteredSpend(request: MeteredSpendRequest, context: MeteredContext, onProgress?: (e: ProgressEvent) => void): Promise<Wire<MeteredSpendResult>>;
  /** The server's signed state (wire form, unchecked) for the call `nullifier`: checked under the on-chain key and made its lane's state. */
  meteredSettle(nullifier: Hex, state: unknown, context: MeteredContext): Promise<Wire<MeteredSettled>>;
  /** No state known for the call `nullifier`: its lane stays pending, and is asked for its state before its next use. */
  meteredRelease(nullifier: Hex): Promise<void>;
  /** Asks the server for the state of the pending lanes of `account` (or of every metered account) that no call of this tab holds. */
  meteredRecover(account: string | undefined, context: MeteredContext): Promise<Wire<LaneRecoveryInfo[]>>;
}
