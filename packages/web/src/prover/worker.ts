/// <reference lib="webworker" />
/**
 * The prover Web Worker: Poseidon2 hashing, the local Merkle tree mirror and UltraHonk
 * proving with multithreaded WASM (needs cross-origin isolation). Credentials reach this
 * worker only to build a witness; nothing here talks to anyone but the app's own origin.
 */
import * as Comlink from 'comlink';
import {
  MerkleTree,
  buildSpendWitness,
  encodeProofPayload,
  hashLeaf,
  hashNullifier,
  initPoseidon2,
  parseField,
  requestHash,
  toFieldHex,
} from '@zkcredits/core';
import { CREDIT_CRS_POINTS, CreditProver } from '@zkcredits/core/prover';
import type { Hex, ProgressEvent, ProveRequest, ProveResult, ProverApi, SecretPair, TreeState } from './types';

/** End-to-end encryption (verifier, sessions), loaded on first use: see src/e2ee/worker-side.ts. */
const e2ee = () => import('../e2ee/worker-side');

let tree: MerkleTree | undefined;
let prover: Promise<CreditProver> | undefined;

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

async function loadProver(): Promise<CreditProver> {
  const [g1, g2] = await Promise.all([fetchBytes(`/crs/g1?points=${CREDIT_CRS_POINTS}`), fetchBytes('/crs/g2')]);
  return CreditProver.create({ kind: 'wasm', crs: { g1, g2 }, threads: threads() });
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
    let loadMs = 0;
    if (!prover) {
      tick('loading');
      loadMs = (await api.warmup()).loadMs;
    }
    const backend = await prover!;
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
