// Protocol v2 metered calls with the real entry point in separate processes, on PostgreSQL: a
// server killed with SIGKILL after the provider's answer began and before the call's state was
// returned signs a full refund for it when it starts again, before it listens; the client gets
// that state from GET /v2/zkcredits/state/{nullifier} and its lane goes on from it.
import { MerkleTree, initPoseidon2, toFieldHex, type SignedStateWire } from '@zkcredits/core';
import { createVeniceSim, type VeniceSim } from '@zkcredits/venice-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createProofPools, type ProofPools } from '../src/proof/node.js';
import { startTestChain, type TestChain } from './helpers/chain.js';
import { openMeteredAccounts, TestLane } from './helpers/metered.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { baseEnv, chatBody, errorOf, meteredEnv, SIM_KEY } from './helpers/stack.js';
import { makeStoreFactory, type StoreFactory } from './helpers/stores.js';

let chain: TestChain;
let sim: VeniceSim;
let pools: ProofPools;
let stores: StoreFactory;
const tree = new MerkleTree();
const running: ServerProcess[] = [];

beforeAll(async () => {
  await initPoseidon2();
  chain = await startTestChain();
  sim = await createVeniceSim({ apiKey: SIM_KEY });
  stores = await makeStoreFactory('postgres');
  pools = await createProofPools(loadConfig({ ...baseEnv(chain, sim, stores), ZKC_VERIFIERS: '1' }));
});
afterAll(async () => {
  for (const p of running) p.kill('SIGKILL');
  await pools?.destroy();
  await sim?.close();
  await chain?.stop();
  await stores?.cleanup();
});

async function start(): Promise<ServerProcess> {
  const p = await spawnServer({ ...baseEnv(chain, sim, stores), ...meteredEnv(chain), ZKC_REPLICA_ID: 'api-1', ZKC_VERIFIERS: '1', ZKC_LOG_LEVEL: 'info' });
  running.push(p);
  return p;
}

async function waitLeaves(url: string, n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (((await (await fetch(`${url}/v1/zkcredits/leaves?from=0&limit=1`)).json()) as { total: number }).total < n) {
    if (Date.now() > deadline) throw new Error(`the server did not index ${n} leaves`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const post = (url: string, body: object, zk: unknown) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, zkcredits: zk }) });

describe('metered calls across a crash', () => {
  it('signs a full refund before serving again for a call whose answer began when the server was killed, and the lane goes on from it', async () => {
    const a = await start();
    const [account] = await openMeteredAccounts(chain, tree, [{ dLane: 10 * chain.cMax, lanesLog2: 1, sLane: 1000 }]);
    await waitLeaves(a.url, tree.size);
    const lane = new TestLane(account!, 1, { pools, chain, tree });

    const body = chatBody('the server dies while this answer streams', { stream: true });
    const call = await lane.prove(body);
    sim.faults.once('stall-after:2');
    const res = await post(a.url, body, call.payload);
    expect(res.status).toBe(200);
    // The answer began: its first bytes reached the client, the provider holds the rest.
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('chat.completion.chunk');
    await sim.faults.whenStalled(1);
    expect(await errorOf(await fetch(`${a.url}/v2/zkcredits/state/${toFieldHex(call.nullifier)}`))).toMatchObject({ status: 409, code: 'state_pending' });

    a.kill('SIGKILL');
    await a.exited;
    await expect(
      (async () => {
        for (let r = await reader.read(); !r.done; r = await reader.read());
      })(),
    ).rejects.toThrow();
    sim.faults.release();

    // Listening means recovered: the state is there from the first request on.
    const b = await start();
    const got = await fetch(`${b.url}/v2/zkcredits/state/${toFieldHex(call.nullifier)}`);
    expect(got.status).toBe(200);
    const wire = (await got.json()) as SignedStateWire;
    const balance = lane.standing.balance;
    expect(await lane.accept(call, wire)).toMatchObject({ r: chain.cMax, p: 0 });
    expect(lane.standing).toMatchObject({ balance, n: 1 });
    expect(b.output()).toContain('signed full refunds for calls this replica held when it stopped');

    // The lane's next call proves from the recovered state.
    const next = chatBody('after the restart');
    const nextCall = await lane.prove(next);
    const served = await post(b.url, next, nextCall.payload);
    expect(served.status).toBe(200);
    const json = (await served.json()) as { zkcredits: SignedStateWire };
    expect((await lane.accept(nextCall, json.zkcredits)).r).toBeLessThan(chain.cMax);

    b.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });
});
