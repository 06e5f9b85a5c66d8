// Rate limits shared across replicas through the machine's Redis (127.0.0.1:6379): two
// servers on one chain, one PostgreSQL and one Redis prefix count one client IP together.
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createProofPools, type ProofPools } from '../src/proof/node.js';
import { startServer } from '../src/server.js';
import { startTestChain, type TestChain } from './helpers/chain.js';
import { baseEnv, errorOf, LogCapture, startStack, type Stack } from './helpers/stack.js';
import { makeStoreFactory, type StoreFactory } from './helpers/stores.js';

const REDIS_URL = process.env.ZKC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LIMIT = 10;

/** A TCP relay to the real Redis that the test can cut and restore (a Redis outage). */
async function redisRelay(target: URL): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    server.listen(port, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  };
  const cut = async () => {
    const closed = new Promise((r) => server.close(r));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

describe('rate limits across replicas (redis)', () => {
  const prefix = `zkc:test:${randomUUID()}:`;
  const redis = createClient({ url: REDIS_URL });
  let chain: TestChain;
  let stores: StoreFactory;
  let pools: ProofPools;
  let relay: Awaited<ReturnType<typeof redisRelay>>;
  const stacks: Stack[] = [];

  const replica = async (env: Record<string, string>) => {
    const s = await startStack('postgres', {
      chain,
      stores,
      pools,
      env: { ZKC_TRUST_PROXY: 'loopback', ZKC_RATE_LIMIT_PER_MINUTE: String(LIMIT), ZKC_REDIS_PREFIX: prefix, ...env },
    });
    stacks.push(s);
    return s;
  };

  beforeAll(async () => {
    await redis.connect();
    chain = await startTestChain();
    stores = await makeStoreFactory('postgres');
    pools = await createProofPools(loadConfig({ ...baseEnvFor(chain), ZKC_VERIFIERS: '1' }));
    relay = await redisRelay(new URL(REDIS_URL));
  });
  afterAll(async () => {
    for (const s of stacks) await s.stop();
    await relay?.close();
    await pools?.destroy();
    await stores?.cleanup();
    await chain?.stop();
    if (redis.isOpen) {
      for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) if (keys.length) await redis.del(keys);
      await redis.close();
    }
  });

  it('two replicas sharing one Redis together allow exactly the limit for one client IP', async () => {
    const [a, b] = [await replica({ ZKC_REDIS_URL: REDIS_URL }), await replica({ ZKC_REDIS_URL: REDIS_URL })];
    const get = (s: Stack, ip: string) => fetch(`${s.url}/v1/models`, { headers: { 'x-forwarded-for': ip } });
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 4; i++) statuses.push((await get(i % 2 ? b : a, '203.0.113.9')).status);
    expect(statuses.filter((x) => x === 200)).toHaveLength(LIMIT);
    expect(statuses.slice(LIMIT)).toEqual([429, 429, 429, 429]);
    expect(await errorOf(await get(b, '203.0.113.9'))).toMatchObject({ status: 429, code: 'rate_limited' });
    // another client is counted apart, on either replica
    expect((await get(a, '203.0.113.10')).status).toBe(200);
    expect((await get(b, '203.0.113.10')).status).toBe(200);
    // the counts live under this deployment's prefix only
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) keys.push(...batch);
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => k.startsWith(prefix))).toBe(true);
  });

  it('reports Redis unreachable in /ready and answers 503 not_ready until it is back', async () => {
    const s = await replica({ ZKC_REDIS_URL: `redis://127.0.0.1:${relay.port}`, ZKC_REDIS_PREFIX: `${prefix}outage:` });
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    await relay.cut();
    const ready = await fetch(`${s.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { problems: string[] }).problems).toContain('rate-limit store (redis) unreachable');
    const gauge = async () => /^zkc_ready (\d)$/m.exec(await (await fetch(`${s.server.metricsUrl}/metrics`)).text())?.[1];
    expect(await gauge()).toBe('0'); // alertable: the same check as /ready
    expect(await errorOf(await fetch(`${s.url}/v1/models`))).toMatchObject({ status: 503, code: 'not_ready' });
    await relay.restore();
    const deadline = Date.now() + 15_000;
    while ((await fetch(`${s.url}/ready`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('server did not see Redis come back');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await fetch(`${s.url}/v1/models`)).status).toBe(200);
    expect(await gauge()).toBe('1');
  });

  it('refuses to start when the configured Redis does not answer', async () => {
    const dead = await redisRelay(new URL(REDIS_URL));
    await dead.close();
    const noUpstream = { apiBaseUrl: 'http://127.0.0.1:9/api/v1' } as Parameters<typeof baseEnv>[1];
    const env = { ...baseEnv(chain, noUpstream, stores), ZKC_REDIS_URL: `redis://127.0.0.1:${dead.port}` };
    const started = startServer(loadConfig(env), createLogger({ level: 'silent', destination: new LogCapture() }), { pools });
    await expect(started).rejects.toThrow(/ZKC_REDIS_URL: Redis did not answer/);
  });
});

function baseEnvFor(chain: TestChain): Record<string, string> {
  return {
    ZKC_RPC_URL: chain.rpcUrl,
    ZKC_CHAIN_ID: String(chain.chainId),
    ZKC_CONTRACT: chain.pool,
    ZKC_UPSTREAM_API_KEY: 'k',
    ZKC_MODELS: 'm:1',
  };
}
