// The real entry point in separate processes: crash mid-request and restart, graceful
// shutdown, and two replicas on one PostgreSQL.
import {
  CHAT_PATH,
  MerkleTree,
  buildSpendWitness,
  credentialCommitment,
  encodeProofPayload,
  generateCredential,
  initPoseidon2,
  requestHash,
  type Credential,
} from '@zkcredits/core';
import { createVeniceSim, type VeniceSim } from '@zkcredits/venice-sim';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createProofPools, type ProofPools } from '../src/proof/node.js';
import { startTestChain, type TestChain } from './helpers/chain.js';
import { startUpstreamGate } from './helpers/gate.js';
import { childProcesses, processExists, spawnServer, type ServerProcess } from './helpers/process.js';
import { baseEnv, chatBody, errorOf, SIM_KEY } from './helpers/stack.js';
import { makeStoreFactory, type StoreFactory } from './helpers/stores.js';

let chain: TestChain;
let sim: VeniceSim;
let pools: ProofPools;
const tree = new MerkleTree();
const running: ServerProcess[] = [];

beforeAll(async () => {
  await initPoseidon2();
  chain = await startTestChain();
  sim = await createVeniceSim({ apiKey: SIM_KEY });
  const stores = await makeStoreFactory('sqlite');
  pools = await createProofPools(loadConfig({ ...baseEnv(chain, sim, stores), ZKC_VERIFIERS: '1' }), { prover: true });
  await stores.cleanup();
});
afterAll(async () => {
  for (const p of running) p.kill('SIGKILL');
  await pools?.destroy();
  await sim?.close();
  await chain?.stop();
});

async function buy(n: number): Promise<Credential[]> {
  const creds = Array.from({ length: n }, () => generateCredential());
  await chain.buy(creds.map(credentialCommitment));
  tree.insertMany(creds.map(credentialCommitment));
  return creds;
}

async function prove(c: Credential, body: object) {
  const rh = requestHash({ chainId: chain.chainId, contract: chain.pool, method: 'POST', path: CHAT_PATH, body });
  return encodeProofPayload(await pools.prover!.prove(buildSpendWitness(c, tree, rh)));
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}${CHAT_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function start(stores: StoreFactory, env: Record<string, string> = {}): Promise<ServerProcess> {
  const p = await spawnServer({ ...baseEnv(chain, sim, stores), ZKC_VERIFIERS: '1', ZKC_LOG_LEVEL: 'info', ...env });
  running.push(p);
  return p;
}

async function waitLeaves(url: string, n: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const page = (await (await fetch(`${url}/v1/zkcredits/leaves?from=0&limit=1`)).json()) as { total: number };
    if (page.total >= n) return;
    if (Date.now() > deadline) throw new Error(`server never indexed ${n} leaves`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Moves every live reservation's expiry to now (the TTL has passed); returns how many. */
async function expireReservations(stores: StoreFactory): Promise<number> {
  const db = new Database(stores.env.ZKC_SQLITE_PATH!);
  try {
    return db.prepare(`UPDATE zkc_nullifiers SET expires_at = ? WHERE state = 'reserved' AND token IS NOT NULL`).run(Date.now()).changes;
  } finally {
    db.close();
  }
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('server process', () => {
  it('loses no credit and spends none twice when killed mid-request and restarted', async () => {
    const stores = await makeStoreFactory('sqlite');
    // Far longer than anything below takes, however loaded the machine: the reservation's expiry is
    // reached by moving it (the clock), never by waiting for it.
    const TTL_MS = 600_000;
    // The provider never answers (below) and the server never gives up on it: the request is
    // certainly in flight when the process is killed.
    const env = {
      ZKC_RESERVATION_TTL_MS: String(TTL_MS),
      ZKC_UPSTREAM_TIMEOUT_MS: '300000',
      ZKC_UPSTREAM_HEADERS_TIMEOUT_MS: '300000',
      ZKC_UPSTREAM_IDLE_TIMEOUT_MS: '300000',
    };
    try {
      const a = await start(stores, env);
      const [c] = await buy(1);
      await waitLeaves(a.url, tree.size);
      const body = chatBody('crash in the middle');
      const zk = await prove(c!, body);

      sim.faults.once('hang');
      const before = sim.state.chatRequestCount;
      const inFlight = post(a.url, { ...body, zkcredits: zk }).then(
        (r) => r.status,
        () => 'connection lost' as const,
      );
      await waitFor(() => sim.state.chatRequestCount > before, 'the request to reach the upstream');
      a.kill('SIGKILL');
      expect(await inFlight).toBe('connection lost');
      await a.exited;

      const b = await start(stores, env);
      // The dead process's reservation still holds the credit: nobody can spend it twice...
      expect(await errorOf(await post(b.url, { ...body, zkcredits: zk }))).toMatchObject({ status: 409, code: 'credit_in_use' });
      // ...until it expires: move its expiry to now, as if the TTL had passed.
      expect(await expireReservations(stores)).toBe(1);
      const served = await post(b.url, { ...body, zkcredits: zk });
      expect(served.status).toBe(200);
      expect(await errorOf(await post(b.url, { ...body, zkcredits: zk }))).toMatchObject({ status: 402, code: 'credit_spent' });
      b.kill('SIGTERM');
      expect(await b.exited).toBe(0);
    } finally {
      sim.faults.clear();
      await stores.cleanup();
    }
  });

  it('answers proof_backend_unavailable, not invalid_proof, when the verifier\'s bb process dies; spends nothing and serves the same proof on a fresh bb', async () => {
    const stores = await makeStoreFactory('sqlite');
    try {
      // No API-key mode: the server's only proof backends are its verifiers (one here).
      const p = await start(stores, { ZKC_API_KEY_MODE: 'false' });
      // Proof backends talk over a Unix socket; the Poseidon2 hasher's bb uses shared memory.
      const verifiers = () => childProcesses(p.pid, 'bb', /\.sock$/);
      const [c] = await buy(1);
      await waitLeaves(p.url, tree.size);
      const body = chatBody('the verifier dies');
      const zk = await prove(c!, body);

      const [bb, ...more] = verifiers();
      expect(bb).toBeDefined();
      expect(more).toEqual([]);
      process.kill(bb!, 'SIGKILL');
      await waitFor(() => !processExists(bb!), 'the server to reap its dead bb process');

      const res = await post(p.url, { ...body, zkcredits: zk });
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await errorOf(res)).toMatchObject({ status: 503, code: 'proof_backend_unavailable', type: 'server_error' });
      // A fresh bb took the dead one's place; the same proof is good, and was never spent.
      await waitFor(() => verifiers().some((pid) => pid !== bb), 'a replacement bb process');
      const served = await post(p.url, { ...body, zkcredits: zk });
      expect(served.status).toBe(200);
      expect(await errorOf(await post(p.url, { ...body, zkcredits: zk }))).toMatchObject({ status: 402, code: 'credit_spent' });
    } finally {
      for (const p of running.splice(0)) {
        p.kill('SIGTERM');
        await p.exited;
      }
      await stores.cleanup();
    }
  });

  it('drains an in-flight request on SIGTERM before exiting', async () => {
    const stores = await makeStoreFactory('sqlite');
    // The provider's answer waits at a gate until the server is draining, so the request is in
    // flight when SIGTERM arrives whatever the machine's speed.
    const gate = await startUpstreamGate(sim.apiBaseUrl);
    try {
      const p = await start(stores, { ZKC_SHUTDOWN_GRACE_MS: '600000', ZKC_UPSTREAM_URL: gate.url });
      const [c] = await buy(1);
      await waitLeaves(p.url, tree.size);
      const body = chatBody('finish me first');
      const zk = await prove(c!, body);
      const pending = post(p.url, { ...body, zkcredits: zk });
      await waitFor(() => gate.held() === 1, 'the request to reach the provider');
      p.kill('SIGTERM');
      await waitFor(() => p.output().includes('"msg":"draining"'), 'the server to start draining');
      gate.open();
      const res = await pending;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toContain('finish me first');
      expect(await p.exited).toBe(0);
    } finally {
      await gate.close();
      await stores.cleanup();
    }
  });

  it('never double-spends across two replicas on one PostgreSQL', async () => {
    const stores = await makeStoreFactory('postgres');
    try {
      const [r1, r2] = await Promise.all([start(stores), start(stores)]);
      const creds = await buy(4);
      await Promise.all([waitLeaves(r1!.url, tree.size), waitLeaves(r2!.url, tree.size)]);
      const before = sim.state.chatRequestCount;
      for (const [i, c] of creds.entries()) {
        const body = chatBody(`replica race ${i}`);
        const zk = await prove(c, body);
        const responses = await Promise.all(Array.from({ length: 12 }, (_, j) => post(j % 2 ? r1!.url : r2!.url, { ...body, zkcredits: zk })));
        expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
        for (const r of responses.filter((x) => x.status !== 200)) expect(['credit_spent', 'credit_in_use']).toContain((await errorOf(r)).code);
      }
      expect(sim.state.chatRequestCount - before).toBe(creds.length);
    } finally {
      for (const p of running.splice(0)) {
        p.kill('SIGTERM');
        await p.exited;
      }
      await stores.cleanup();
    }
  });
});
