/// <reference lib="webworker" />
/**
 * The prover Web Worker: Poseidon2 hashing, the local Merkle tree mirror and UltraHonk
 * proving with multithreaded WASM (needs cross-origin isolation), for v1 credits and v2 tickets
 * on one bb instance. Credentials and account secrets reach this worker only to build a witness;
 * nothing here talks to anyone but the app's own origin.
 *
 * v2 tickets go through core's `TicketSpender`, whose journal is the page's vault (a Comlink
 * proxy): each ticket is journaled before it is proven, and its proved payload stays in this
 * worker's memory (never at rest), so a retry in this tab re-sends the same bytes and no other
 * request ever gets that ticket. When the tab goes, so does the payload: the next unlock burns the
 * ticket.
 *
 * Metered calls go through core's `MeteredSpender` (lane scheduler, lane journal, signed-state
 * checks against the on-chain key, recovery by `GET /v2/zkcredits/state/{nullifier}`), proved by
 * the metered circuit on the same bb instance (loaded on first use). Its store is the page's vault
 * and the deployment (C_max, state keys) the page reads from the chain, both Comlink proxies; the
 * calls in flight (with the opening of their new commitment) stay in this worker's memory.
 */
import * as Comlink from 'comlink';
import {
  MerkleTree,
  TicketSpender,
  accountId,
  buildSpendWitness,
  encodeProofPayload,
  flatAccountLeaf,
  hashLeaf,
  hashNullifier,
  initPoseidon2,
  isZkCreditsError,
  MeteredSpender,
  fetchMeteredState,
  meteredAccountLeaf,
  parseField,
  requestDigest,
  requestHash,
  toFieldHex,
  type AccountRecord,
  type MeteredAccountRecord,
  type MeteredAccountStore,
  type MeteredCall,
} from '@zkcredits/core';
import { bytesToHex } from 'viem';
import {
  CREDIT_CRS_POINTS,
  CreditProver,
  METERED_CRS_POINTS,
  MeteredProver,
  TICKET_CRS_POINTS,
  TicketProver,
  createBackend,
} from '@zkcredits/core/prover';
import { API_BASE } from '../api/client';
import { AppError, type AppErrorCode } from '../errors';
import type { Wire, WireError } from '../e2ee/types';
import type { Hex, MeteredContext, ProgressEvent, ProveRequest, ProveResult, ProverApi, SecretPair, TicketJournal, TreeState } from './types';

/** End-to-end encryption (verifier, sessions), loaded on first use: see src/e2ee/worker-side.ts. */
const e2ee = () => import('../e2ee/worker-side');

let tree: MerkleTree | undefined;
/**
 * The credit and the ticket prover, sharing one bb backend (one CRS load, one set of threads); the
 * metered prover joins them on that backend on first use (its CRS is loaded with the others').
 */
type Provers = { credit: CreditProver; ticket: TicketProver; backend: Awaited<ReturnType<typeof createBackend>> };
let prover: Promise<Provers> | undefined;
let meteredProver: Promise<MeteredProver> | undefined;

async function ready(): Promise<MerkleTree> {
  await initPoseidon2();
  tree ??= new MerkleTree();
  return tree;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`could not load ${url} (HTTP ${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
}

function threads(): number {
  const isolated = (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return isolated ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 16)) : 1;
}

async function loadProver(): Promise<Provers> {
  const points = Math.max(CREDIT_CRS_POINTS, TICKET_CRS_POINTS, METERED_CRS_POINTS);
  const [g1, g2] = await Promise.all([fetchBytes(`/crs/g1?points=${points}`), fetchBytes('/crs/g2')]);
  const backend = await createBackend({ kind: 'wasm', crs: { g1, g2 }, numPoints: points, threads: threads() });
  try {
    const [credit, ticket] = await Promise.all([CreditProver.create({ kind: 'wasm', backend }), TicketProver.create({ kind: 'wasm', backend })]);
    return { credit, ticket, backend };
  } catch (error) {
    await backend.destroy().catch(() => undefined);
    throw error;
  }
}

/** Loads the provers once; the time it took (0 when they were loaded already). */
async function provers(tick?: (stage: ProgressEvent['stage']) => void): Promise<{ provers: Provers; loadMs: number }> {
  if (prover) return { provers: await prover, loadMs: 0 };
  tick?.('loading');
  const { loadMs } = await api.warmup();
  return { provers: await prover!, loadMs };
}

/** The metered prover on the provers' backend, made on first use. */
async function metered(tick?: (stage: ProgressEvent['stage']) => void): Promise<{ prover: MeteredProver; loadMs: number }> {
  const t0 = performance.now();
  const { provers: loaded, loadMs } = await provers(tick);
  const fresh = !meteredProver;
  if (fresh) tick?.('loading');
  meteredProver ??= MeteredProver.create({ kind: 'wasm', backend: loaded.backend }).catch((e: unknown) => {
    meteredProver = undefined;
    throw e;
  });
  const p = await meteredProver;
  return { prover: p, loadMs: fresh || loadMs > 0 ? performance.now() - t0 : 0 };
}

/** Core's codes of the metered witness (`buildMeteredWitness`) that say something to the user. */
const METERED_CODES = new Set(['state_signature_invalid', 'insufficient_balance', 'lane_frozen']);

/** An error as a value for the page (Comlink keeps only an Error's message): its code, or `prover_failed`. */
function wireError(error: unknown): WireError {
  if (isZkCreditsError(error) && (['AccountError', 'VaultError', 'AppError', 'MeteredError'].includes(error.name) || METERED_CODES.has(error.code))) {
    return { code: error.code as AppErrorCode, message: error.shortMessage, ...(error.details ? { details: error.details } : {}) };
  }
  const details = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined;
  return { code: 'prover_failed', message: 'This device could not make the ticket proof. The ticket was not sent.', ...(details ? { details } : {}) };
}

function unwire<T>(wire: Wire<T>): T {
  if (wire.ok) return wire.value;
  throw new AppError(wire.error.code, wire.error.message, { details: wire.error.details });
}

/** The page's vault journal of the call in progress (one tab, one vault). */
let journal: TicketJournal | undefined;
const spender = new TicketSpender(
  {
    takeTicket: async (id, digest, today) => unwire(await journal!.takeTicket(id, digest, today)),
    settleTicket: async (id, ticket, outcome) => unwire(await journal!.settleTicket(id, ticket, outcome)),
  },
  async () => (await provers()).provers.ticket,
);

/** The page's side of the metered call in progress (one tab, one vault). */
let meteredContext: MeteredContext | undefined;
const meteredStore: MeteredAccountStore = {
  listMeteredAccounts: async () => unwire(await meteredContext!.store.listMeteredAccounts()),
  meteredAccount: async (id) => unwire(await meteredContext!.store.meteredAccount(id)),
  addMeteredAccounts: async (records) => unwire(await meteredContext!.store.addMeteredAccounts(records)),
  updateMeteredAccount: async (id, patch) => unwire(await meteredContext!.store.updateMeteredAccount(id, patch)),
  journalLane: async (id, lane, pending) => unwire(await meteredContext!.store.journalLane(id, lane, pending)),
  commitLane: async (id, lane, nullifier, signed) => unwire(await meteredContext!.store.commitLane(id, lane, nullifier, signed)),
};
const meteredSpender = new MeteredSpender({
  store: meteredStore,
  prover: async () => (await metered()).prover,
  deployment: async (fresh) => unwire(await meteredContext!.deployment(fresh)),
  // Asked through the app's own origin, for the pending call of one of this vault's lanes only.
  fetchState: (nullifier, signal) => fetchMeteredState({ server: `${self.location.origin}${API_BASE}`, fetch: (input, init) => fetch(input, init), nullifier, ...(signal ? { signal } : {}) }),
});
/** Metered calls in flight from this tab, by nullifier (their commitment openings never leave the worker). */
const meteredCalls = new Map<string, MeteredCall>();

/** Whether a metered account's leaf is in the mirror (else a call would wait for nothing). */
function meteredInTree(t: MerkleTree, account: MeteredAccountRecord): boolean {
  if (account.expiryDay === undefined) return false;
  const terms = { dLane: account.dLane, lanesLog2: account.lanesLog2, sLane: account.sLane, expiryDay: account.expiryDay };
  return t.indexOf(meteredAccountLeaf(accountId(parseField(account.secret, 'secret')), terms)) >= 0;
}

/** Whether the account's leaf is in the mirror (else taking a ticket would only burn it). */
function inTree(t: MerkleTree, account: AccountRecord): boolean {
  if (account.expiryDay === undefined) return false;
  return t.indexOf(flatAccountLeaf(accountId(parseField(account.secret, 'secret')), account.tickets, account.expiryDay)) >= 0;
}

function pair(p: SecretPair): { nullifier: bigint; secret: bigint } {
  return { nullifier: parseField(p.nullifier, 'nullifier'), secret: parseField(p.secret, 'secret') };
}

const api: ProverApi = {
  async commitments(pairs) {
    await ready();
    return pairs.map((p) => {
      const { nullifier, secret } = pair(p);
      return { commitment: toFieldHex(hashLeaf(nullifier, secret)), nullifierHash: toFieldHex(hashNullifier(nullifier)) };
    });
  },

  async appendLeaves(startIndex, leaves): Promise<TreeState> {
    const t = await ready();
    if (startIndex > t.size) throw new Error(`leaves start at ${startIndex} but the mirror has ${t.size}`);
    const fresh = leaves.slice(t.size - startIndex).map((l) => parseField(l, 'leaf'));
    t.insertMany(fresh);
    return { size: t.size, root: toFieldHex(t.root) };
  },

  async tree() {
    const t = await ready();
    return { size: t.size, root: toFieldHex(t.root) };
  },

  async resetTree() {
    tree = undefined;
  },

  async indexOf(commitment) {
    const t = await ready();
    return t.indexOf(parseField(commitment, 'commitment'));
  },

  async warmup(onProgress) {
    const t0 = performance.now();
    onProgress?.({ stage: 'loading', elapsedMs: 0 });
    await ready();
    prover ??= loadProver().catch((e) => {
      prover = undefined;
      throw e;
    });
    await prover;
    return { loadMs: performance.now() - t0, threads: threads() };
  },

  async prove(req: ProveRequest, onProgress?: (e: ProgressEvent) => void): Promise<ProveResult> {
    const t0 = performance.now();
    const tick = (stage: ProgressEvent['stage']) => onProgress?.({ stage, elapsedMs: performance.now() - t0 });
    const { provers: loaded, loadMs } = await provers(tick);
    const backend = loaded.credit;
    const t = await ready();
    tick('witness');
    const tw = performance.now();
    const rh = requestHash({ chainId: req.chainId, contract: req.contract, method: req.method, path: req.path, headers: req.headers, body: req.body });
    const witness = buildSpendWitness(pair(req), t, rh);
    const witnessMs = performance.now() - tw;
    tick('proving');
    const tp = performance.now();
    const proof = await backend.prove(witness);
    const proveMs = performance.now() - tp;
    tick('done');
    return {
      payload: encodeProofPayload(proof),
      requestHash: toFieldHex(rh) as Hex,
      leafIndex: witness.leafIndex,
      loadMs,
      witnessMs,
      proveMs,
    };
  },

  async ticketSpend(req, j, onProgress) {
    const t0 = performance.now();
    const tick = (stage: ProgressEvent['stage']) => onProgress?.({ stage, elapsedMs: performance.now() - t0 });
    try {
      journal = j;
      const { loadMs } = await provers(tick);
      const t = await ready();
      if (!inTree(t, req.account)) {
        return { ok: false, error: { code: 'account_not_in_tree', message: 'The server has not seen this account’s opening yet. Try again in a few seconds.' } };
      }
      tick('proving');
      const tp = performance.now();
      const spend = await spender.spend({ account: req.account, tree: t, request: req.request, today: req.today, reprove: req.reprove === true });
      tick('done');
      return { ok: true, value: { spend, loadMs, proveMs: performance.now() - tp } };
    } catch (error) {
      return { ok: false, error: wireError(error) };
    }
  },

  async ticketSettle(spend, outcome, j) {
    try {
      journal = j;
      return { ok: true, value: await spender.settle(spend, outcome) };
    } catch (error) {
      return { ok: false, error: wireError(error) };
    }
  },

  async ticketRelease(spend) {
    spender.release(spend);
  },

  async ticketHeld(request) {
    await ready();
    const digest = bytesToHex(requestDigest(request)).slice(2); // as TicketSpender writes it: hex without 0x
    return spender.inFlight().find((f) => f.digest === digest)?.account;
  },

  async meteredSpend(req, context, onProgress) {
    const t0 = performance.now();
    const tick = (stage: ProgressEvent['stage']) => onProgress?.({ stage, elapsedMs: performance.now() - t0 });
    try {
      meteredContext = context;
      const { loadMs } = await metered(tick);
      const t = await ready();
      if (!meteredInTree(t, req.account)) {
        return { ok: false, error: { code: 'account_not_in_tree', message: 'The server has not seen this account’s opening yet. Try again in a few seconds.' } };
      }
      tick('proving');
      const tp = performance.now();
      const x = requestHash({ ...req.request, chainId: req.account.chainId, contract: req.account.contract });
      const call = await meteredSpender.spend({ account: req.account, tree: t, x, today: req.today });
      const nullifier = toFieldHex(call.nullifier) as Hex;
      meteredCalls.set(nullifier, call);
      tick('done');
      return {
        ok: true,
        value: {
          call: { nullifier, account: call.account, lane: call.lane, retry: call.retry, cMax: call.cMax, payload: call.payload },
          loadMs,
          proveMs: performance.now() - tp,
        },
      };
    } catch (error) {
      return { ok: false, error: wireError(error) };
    }
  },

  async meteredSettle(nullifier, state, context) {
    const call = meteredCalls.get(nullifier);
    if (!call) return { ok: false, error: { code: 'state_mismatch', message: 'No call of this tab has that nullifier.' } };
    try {
      meteredContext = context;
      const settled = await meteredSpender.settle(call, state);
      meteredCalls.delete(nullifier);
      const { record, lane, r, p, cost, reason } = settled;
      return { ok: true, value: { account: record, lane, r, p, cost, ...(reason ? { reason } : {}) } };
    } catch (error) {
      // Refused (another call's state, a signature under another key): the lane stays pending.
      meteredCalls.delete(nullifier);
      return { ok: false, error: wireError(error) };
    }
  },

  async meteredRelease(nullifier) {
    const call = meteredCalls.get(nullifier);
    meteredCalls.delete(nullifier);
    if (call) meteredSpender.release(call);
  },

  async meteredRecover(account, context) {
    try {
      meteredContext = context;
      const out = await meteredSpender.recover(account ? { account } : {});
      return { ok: true, value: out.map(({ error, ...rest }) => ({ ...rest, ...(error ? { error: wireError(error) } : {}) })) };
    } catch (error) {
      return { ok: false, error: wireError(error) };
    }
  },

  async e2eeOpen(model) {
    return (await e2ee()).open(model);
  },

  async e2eeEncrypt(sessionId, messages) {
    return (await e2ee()).encrypt(sessionId, messages);
  },

  async e2eeDecrypt(sessionId, contents) {
    return (await e2ee()).decrypt(sessionId, contents);
  },

  async e2eeClose(sessionId) {
    (await e2ee()).close(sessionId);
  },
};

// Test builds only: a production build compiles this condition to false and drops the branch,
// its dynamic import and @zkcredits/attest/testing (test/production-build.test.ts checks).
if (process.env.NEXT_PUBLIC_ZKC_TEST_WALLET === '1') {
  api.e2eeTrustTestRoot = async (rootCaDerHex) => {
    const [{ testRootVerifier }, side] = await Promise.all([import('../e2ee/test-trust'), e2ee()]);
    side.setVerifier(testRootVerifier(rootCaDerHex));
  };
  api.e2eeBenchVerify = async (model) => {
    const { report, verifyMs } = await (await e2ee()).attest(model);
    return { ok: report.ok, verifyMs };
  };
}

Comlink.expose(api);
