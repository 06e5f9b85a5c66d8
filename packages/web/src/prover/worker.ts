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
  parseField,
  requestDigest,
  requestHash,
  toFieldHex,
  type AccountRecord,
} from '@zkcredits/core';
import { bytesToHex } from 'viem';
import { CREDIT_CRS_POINTS, CreditProver, TICKET_CRS_POINTS, TicketProver, createBackend } from '@zkcredits/core/prover';
import { AppError, type AppErrorCode } from '../errors';
import type { Wire, WireError } from '../e2ee/types';
import type { Hex, ProgressEvent, ProveRequest, ProveResult, ProverApi, SecretPair, TicketJournal, TreeState } from './types';

/** End-to-end encryption (verifier, sessions), loaded on first use: see src/e2ee/worker-side.ts. */
const e2ee = () => import('../e2ee/worker-side');

let tree: MerkleTree | undefined;
/** The credit and the ticket prover, sharing one bb backend (one CRS load, one set of threads). */
type Provers = { credit: CreditProver; ticket: TicketProver };
let prover: Promise<Provers> | undefined;

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
  const points = Math.max(CREDIT_CRS_POINTS, TICKET_CRS_POINTS);
  const [g1, g2] = await Promise.all([fetchBytes(`/crs/g1?points=${points}`), fetchBytes('/crs/g2')]);
  const backend = await createBackend({ kind: 'wasm', crs: { g1, g2 }, numPoints: points, threads: threads() });
  try {
    const [credit, ticket] = await Promise.all([CreditProver.create({ kind: 'wasm', backend }), TicketProver.create({ kind: 'wasm', backend })]);
    return { credit, ticket };
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

/** An error as a value for the page (Comlink keeps only an Error's message): its code, or `prover_failed`. */
function wireError(error: unknown): WireError {
  if (isZkCreditsError(error) && ['AccountError', 'VaultError', 'AppError'].includes(error.name)) {
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
