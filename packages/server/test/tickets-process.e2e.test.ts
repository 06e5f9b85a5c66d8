// Protocol v2 tickets with the real entry point in separate processes: kill -9 mid-request and
// restart, and two replicas on one PostgreSQL receiving one ticket with two bodies.
import { MerkleTree, initPoseidon2, ticketNullifier } from '@zkcredits/core';
import { createVeniceSim, type VeniceSim } from '@zkcredits/venice-sim';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createProofPools, type ProofPools } from '../src/proof/node.js';
import { accountStatus, openAccounts, proveTicket, SLASHER_ADDRESS, SLASHER_KEY, slashEvents } from './helpers/accounts.js';
import { startTestChain, type TestChain } from './helpers/chain.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
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
  pools = await createProofPools(loadConfig({ ...baseEnv(chain, sim, stores), ZKC_VERIFIERS: '1' }));
  await stores.cleanup();
});
afterAll(async () => {
  for (const p of running) p.kill('SIGKILL');
  await pools?.destroy();
  await sim?.close();
  await chain?.stop();
});

async function start(stores: StoreFactory, env: Record<string, string> = {}): Promise<ServerProcess> {
  const p = await spawnServer({ ...baseEnv(chain, sim, stores), ZKC_VERIFIERS: '1', ZKC_LOG_LEVEL: 'info', ZKC_SLASHER_KEY: SLASHER_KEY, ...env });
  running.push(p);
  return p;
}

async function stopAll(): Promise<void> {
  for (const p of running.splice(0)) {
    p.kill('SIGTERM');
    await p.exited;
  }
}

function post(url: string, body: object, zk: unknown): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, zkcredits: zk }) });
}

async function waitFor<T>(probe: () => Promise<T> | T, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitLeaves(url: string, n: number): Promise<void> {
  await waitFor(
    async () => ((await (await fetch(`${url}/v1/zkcredits/leaves?from=0&limit=1`)).json()) as { total: number }).total,
    (total) => total >= n,
    `the server to index ${n} leaves`,
  );
}

describe('v2 tickets across processes', () => {
  it('after kill -9 mid-request, serves the same body once the lease ran out, and catches another body as evidence', async () => {
    const stores = await makeStoreFactory('sqlite');
    // Nothing expires on its own: the lease ends when the test moves it (as if the TTL had passed).
    const env = { ZKC_RESERVATION_TTL_MS: '600000', ZKC_UPSTREAM_TIMEOUT_MS: '300000', ZKC_UPSTREAM_HEADERS_TIMEOUT_MS: '300000', ZKC_UPSTREAM_IDLE_TIMEOUT_MS: '300000' };
    try {
      const a = await start(stores, env);
      const [account] = await openAccounts(chain, tree, [3]);
      await waitLeaves(a.url, tree.size);
      const body = chatBody('crash while a ticket is in flight');
      const zk = await proveTicket(pools, chain, tree, account!, 0, body);

      sim.faults.once('hang', { route: 'chat' });
      const before = sim.state.chatRequestCount;
      const inFlight = post(a.url, body, zk).then(
        (r) => r.status,
        () => 'connection lost' as const,
      );
      await waitFor(() => sim.state.chatRequestCount, (n) => n > before, 'the request to reach the provider');
      a.kill('SIGKILL');
      expect(await inFlight).toBe('connection lost');
      await a.exited;

      const b = await start(stores, env);
      // The dead process's lease still holds the ticket...
      const held = await post(b.url, body, zk);
      expect(held.headers.get('retry-after')).toBe('1');
      expect(await errorOf(held)).toMatchObject({ status: 409, code: 'ticket_in_use' });
      // ...until it runs out: the same request is served, once.
      const db = new Database(stores.env.ZKC_SQLITE_PATH!);
      try {
        expect(db.prepare(`UPDATE zkc_tickets SET expires_at = ? WHERE status = 'reserved'`).run(Date.now()).changes).toBe(1);
      } finally {
        db.close();
      }
      expect((await post(b.url, body, zk)).status).toBe(200);
      expect(await errorOf(await post(b.url, body, zk))).toMatchObject({ status: 409, code: 'ticket_reused' });

      // The crash did not drop the share: another body on the ticket is evidence.
      const other = chatBody('another body after the crash');
      expect(await errorOf(await post(b.url, other, await proveTicket(pools, chain, tree, account!, 0, other)))).toMatchObject({ status: 403, code: 'account_revoked' });
      await waitFor(() => accountStatus(chain, account!.id), (st) => st === 2, 'the slash to land');
      expect((await slashEvents(chain, account!.id)).map((e) => e.nullifier)).toEqual([ticketNullifier(account!.k, 0)]);
      b.kill('SIGTERM');
      expect(await b.exited).toBe(0);
    } finally {
      await stopAll();
      await stores.cleanup();
    }
  });

  it('catches the evidence and slashes once when one ticket reaches two replicas on one PostgreSQL with two bodies', async () => {
    const stores = await makeStoreFactory('postgres');
    try {
      const [r1, r2] = await Promise.all([start(stores), start(stores)]);
      const accounts = await openAccounts(chain, tree, [4, 4, 4]);
      await Promise.all([waitLeaves(r1!.url, tree.size), waitLeaves(r2!.url, tree.size)]);
      const nonce = await chain.client.getTransactionCount({ address: SLASHER_ADDRESS });

      for (const [i, account] of accounts.entries()) {
        const bodyA = chatBody(`replica one, account ${i}`);
        const bodyB = chatBody(`replica two, account ${i}`);
        const [zkA, zkB] = await Promise.all([proveTicket(pools, chain, tree, account, 0, bodyA), proveTicket(pools, chain, tree, account, 0, bodyB)]);
        const [a, b] = await Promise.all([post(r1!.url, bodyA, zkA), post(r2!.url, bodyB, zkB)]);
        // One of them holds the ticket and is served; the other is the second share, whichever replica it reached.
        const outcomes = [a.status, b.status].sort();
        expect(outcomes).toEqual([200, 403]);
        expect((await errorOf(a.status === 403 ? a : b)).code).toBe('account_revoked');
        // Both replicas refuse the account's other tickets.
        for (const [url, t] of [
          [r1!.url, 1],
          [r2!.url, 2],
        ] as const) {
          const body = chatBody(`ticket ${t} of a revoked account`);
          expect(await errorOf(await post(url, body, await proveTicket(pools, chain, tree, account, t, body)))).toMatchObject({ status: 403, code: 'account_revoked' });
        }
      }
      for (const account of accounts) {
        await waitFor(() => accountStatus(chain, account.id), (st) => st === 2, 'the slash to land');
        expect(await slashEvents(chain, account.id)).toHaveLength(1);
      }
      // One transaction per account: the database decided which replica sends.
      const store = stores.open();
      try {
        for (const account of accounts) {
          await waitFor(() => store.getEvidence(ticketNullifier(account.k, 0)), (e) => e?.slashState === 'slashed', 'the slash to be recorded');
        }
      } finally {
        await store.close();
      }
      expect((await chain.client.getTransactionCount({ address: SLASHER_ADDRESS })) - nonce).toBe(accounts.length);
    } finally {
      await stopAll();
      await stores.cleanup();
    }
  });
});
