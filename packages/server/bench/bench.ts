// Server benchmarks (called by the root `npm run bench`, or `npm run bench -w @zkcredits/server`).
//   server_rps          completions/s at concurrency 16, each paid by its own proof, upstream = local sim (no added latency)
//   server_p50_ms/p99   latency of those requests (verification, reservation, upstream, commit)
//   server_rps_v2       the same for protocol v2: each request paid by its own ticket of a flat account (8 accounts
//                       of 16 tickets), measured in the same run, interleaved with v1 in rounds of 32 requests (v1 v2 v2 v1 …)
//   server_p50_v2_ms/p99_v2  latency of those requests; server_rps_v2_vs_v1 = server_rps_v2 / server_rps (target ≥ 0.8)
//   server_rps_metered  the same for metered calls (16 accounts of 8 lanes, one genesis call per lane: the server's work
//                       is that of any metered call: verify, reserve, relay, price the usage, sign and store the state),
//                       in the same rounds (v1 v2 metered, then rotated); server_rps_metered_vs_v1 (target ≥ 0.8)
//   server_overhead_ms  median(one request via the server) − median(same request straight to the upstream), sequential
//   index_sync_100k_s   cold sync of 100,000 leaves (98 purchase events) from Anvil into a fresh SQLite store
//   leaves_page_1m_ms   GET /v1/zkcredits/leaves?from=… (a full 16,384-leaf JSON page, body read) over HTTP from a
//                       tree of 1,048,576 leaves, median of 21 pages spread over the tree (target ≤ 50)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MerkleTree,
  buildSpendWitness,
  credentialCommitment,
  encodeProofPayload,
  generateCredential,
  initPoseidon2,
  requestHash,
} from '@zkcredits/core';
import { createVeniceSim } from '@zkcredits/venice-sim';
import { createApp } from '../src/app.js';
import { ChainIndexer, emptyRoot, type ChainView } from '../src/chain/indexer.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createProofPools } from '../src/proof/node.js';
import { CHAT_PATH } from '../src/routes/chat.js';
import { MAX_LEAVES_PAGE } from '../src/routes/public.js';
import { startServer } from '../src/server.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { createVeniceUpstream } from '../src/upstream/venice.js';
import { openAccounts, proveTicket } from '../test/helpers/accounts.js';
import { openMeteredAccounts, TestLane } from '../test/helpers/metered.js';
import { startTestChain } from '../test/helpers/chain.js';
import { baseEnv, chatBody, meteredEnv, SIM_KEY } from '../test/helpers/stack.js';

const CONCURRENCY = 16;
const REQUESTS = 128;
const SEQUENTIAL = 25;
/** v1 and v2 take turns in rounds of this many requests (ABBA order), so both see the same machine. */
const ROUND = 32;
const ACCOUNTS = 8;
/** Metered accounts of 8 lanes each: one genesis call per lane. */
const METERED_ACCOUNTS = REQUESTS / 8;

function percentile(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! * 10) / 10;
}

async function benchRequests(): Promise<Record<string, number>> {
  const chain = await startTestChain();
  const sim = await createVeniceSim({ apiKey: SIM_KEY });
  const dir = mkdtempSync(join(tmpdir(), 'zkc-bench-'));
  const env = {
    ...baseEnv(chain, sim, { kind: 'sqlite', env: { ZKC_STORE: 'sqlite', ZKC_SQLITE_PATH: join(dir, 'db.sqlite') } } as never),
    ...meteredEnv(chain),
    ZKC_LOG_LEVEL: 'silent',
    ZKC_VERIFIERS: '2',
    ZKC_VERIFY_QUEUE: '1000',
    ZKC_PROVERS: '2',
    ZKC_PROVE_QUEUE: '1000',
  };
  const config = loadConfig(env);
  const pools = await createProofPools(config, { prover: true });
  const server = await startServer(config, createLogger({ level: 'silent' }), { pools });
  try {
    await initPoseidon2();
    const total = REQUESTS + SEQUENTIAL;
    const creds = Array.from({ length: total }, () => generateCredential());
    await chain.buy(creds.map(credentialCommitment));
    const tree = MerkleTree.fromLeaves(creds.map(credentialCommitment));
    const accounts = await openAccounts(chain, tree, Array.from({ length: ACCOUNTS }, () => REQUESTS / ACCOUNTS));
    const metered = await openMeteredAccounts(
      chain,
      tree,
      Array.from({ length: METERED_ACCOUNTS }, () => ({ dLane: chain.cMax * 4, lanesLog2: 3, sLane: chain.cMax })),
    );
    while (server.indexer.status.leafCount < tree.size) await new Promise((r) => setTimeout(r, 50));
    // Metered calls are on once the server has matched its state key with the chain's.
    const meteredOn = async () => ((await (await fetch(`${server.url}/v2/zkcredits/config`)).json()) as { metered: { state_key: unknown } | null }).metered?.state_key;
    while (!(await meteredOn())) await new Promise((r) => setTimeout(r, 50));

    // Client side (not measured): one proof per request, each over its own body.
    const bodies = creds.map((_, i) => chatBody(`benchmark request ${i}`));
    const payloads = await Promise.all(
      creds.map(async (c, i) => {
        const rh = requestHash({ chainId: chain.chainId, contract: chain.pool, method: 'POST', path: CHAT_PATH, body: bodies[i]! });
        return { ...bodies[i]!, zkcredits: encodeProofPayload(await pools.prover!.prove(buildSpendWitness(c, tree, rh))) };
      }),
    );
    // v2: one ticket per request, each over its own body.
    const ticketBodies = Array.from({ length: REQUESTS }, (_, i) => chatBody(`benchmark ticket request ${i}`));
    const ticketPayloads = await Promise.all(
      ticketBodies.map(async (body, i) => {
        const account = accounts[i % ACCOUNTS]!;
        return { ...body, zkcredits: await proveTicket(pools, chain, tree, account, Math.floor(i / ACCOUNTS), body) };
      }),
    );
    // Metered: one call per lane, each over its own body.
    const meteredPayloads = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const body = chatBody(`benchmark metered request ${i}`);
        const lane = new TestLane(metered[i >> 3]!, i & 7, { pools, chain, tree });
        return { ...body, zkcredits: (await lane.prove(body)).payload };
      }),
    );
    const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
      const t0 = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      const answer = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`benchmark request failed with ${res.status}: ${Buffer.from(answer).toString().slice(0, 300)}`);
      return performance.now() - t0;
    };

    // Overhead: sequential, same bodies straight to the upstream vs through the server.
    const direct: number[] = [];
    const via: number[] = [];
    for (let i = REQUESTS; i < total; i++) {
      direct.push(await post(`${sim.apiBaseUrl}/chat/completions`, bodies[i], { authorization: `Bearer ${SIM_KEY}` }));
      via.push(await post(`${server.url}${CHAT_PATH}`, payloads[i]));
    }

    // Throughput and latency at concurrency 16: v1 credits and v2 tickets take turns, ROUND requests each.
    const measured = {
      v1: { latencies: [] as number[], seconds: 0 },
      v2: { latencies: [] as number[], seconds: 0 },
      metered: { latencies: [] as number[], seconds: 0 },
    };
    type Kind = keyof typeof measured;
    const burst = async (kind: Kind, bodies: readonly unknown[]) => {
      let nextIndex = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let i = nextIndex++; i < bodies.length; i = nextIndex++) measured[kind].latencies.push(await post(`${server.url}${CHAT_PATH}`, bodies[i]));
        }),
      );
      measured[kind].seconds += (performance.now() - t0) / 1000;
    };
    const sources: Record<Kind, readonly unknown[]> = { v1: payloads, v2: ticketPayloads, metered: meteredPayloads };
    const kinds: Kind[] = ['v1', 'v2', 'metered'];
    for (let from = 0, round = 0; from < REQUESTS; from += ROUND, round++) {
      // Rotate who goes first each round, so no kind always meets a warmer or colder machine.
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[(round + j) % kinds.length]!;
        await burst(kind, sources[kind].slice(from, from + ROUND));
      }
    }
    const rps = (kind: Kind) => Math.round((REQUESTS / measured[kind].seconds) * 10) / 10;
    return {
      server_rps: rps('v1'),
      server_p50_ms: percentile(measured.v1.latencies, 50),
      server_p99_ms: percentile(measured.v1.latencies, 99),
      server_overhead_ms: Math.round((percentile(via, 50) - percentile(direct, 50)) * 10) / 10,
      server_rps_v2: rps('v2'),
      server_p50_v2_ms: percentile(measured.v2.latencies, 50),
      server_p99_v2_ms: percentile(measured.v2.latencies, 99),
      server_rps_v2_vs_v1: Math.round((rps('v2') / rps('v1')) * 100) / 100,
      server_rps_metered: rps('metered'),
      server_p50_metered_ms: percentile(measured.metered.latencies, 50),
      server_p99_metered_ms: percentile(measured.metered.latencies, 99),
      server_rps_metered_vs_v1: Math.round((rps('metered') / rps('v1')) * 100) / 100,
    };
  } finally {
    await server.stop();
    await pools.destroy();
    await sim.close();
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchIndexSync(): Promise<Record<string, number>> {
  const LEAVES = 100_000;
  const BATCH = 1024;
  const chain = await startTestChain({ gasLimit: 1_000_000_000n });
  const dir = mkdtempSync(join(tmpdir(), 'zkc-bench-index-'));
  const store = new SqliteStore(join(dir, 'db.sqlite'));
  try {
    await initPoseidon2();
    let value = 1n;
    for (let done = 0; done < LEAVES; done += BATCH) {
      const n = Math.min(BATCH, LEAVES - done);
      await chain.buy(Array.from({ length: n }, () => (value = (value * 6364136223846793005n + 1442695040888963407n) % (1n << 248n)) || 1n));
    }
    await store.init({ chainId: chain.chainId, contract: chain.pool, deploymentBlock: chain.deploymentBlock, emptyRoot: emptyRoot() });
    const indexer = new ChainIndexer({
      client: chain.client,
      store,
      contract: chain.pool,
      deploymentBlock: chain.deploymentBlock,
      confirmations: 0,
      pollIntervalMs: 1000,
      logBlockRange: 5000,
      logger: createLogger({ level: 'silent' }),
    });
    const t0 = performance.now();
    await indexer.pollOnce();
    const seconds = (performance.now() - t0) / 1000;
    if (indexer.tree.size !== LEAVES) throw new Error(`indexed ${indexer.tree.size} leaves, expected ${LEAVES}`);
    return { index_sync_100k_s: Math.round(seconds * 100) / 100 };
  } finally {
    await store.close();
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The real app (routes, HTTP stack) serving an in-memory tree of `leaves` leaves and nothing else
 * of a chain index; `fn` gets its URL. Used by the leaves-page and client-sync benchmarks.
 */
export async function withLeavesServer<T>(leaves: number, fn: (url: string) => Promise<T>): Promise<T> {
  await initPoseidon2();
  // Building the tree hashes every node once (the indexer does the same when it loads).
  const tree = MerkleTree.fromLeaves(Array.from({ length: leaves }, (_, i) => BigInt(i + 1)));
  const dir = mkdtempSync(join(tmpdir(), 'zkc-bench-leaves-'));
  const config = loadConfig({
    ZKC_HOST: '127.0.0.1',
    ZKC_PORT: '0',
    ZKC_METRICS_ADDR: 'off',
    ZKC_RPC_URL: 'http://127.0.0.1:8545',
    ZKC_CHAIN_ID: '31337',
    ZKC_CONTRACT: `0x${'11'.repeat(20)}`,
    ZKC_UPSTREAM_API_KEY: SIM_KEY,
    ZKC_MODELS: 'llama-3.3-70b:64',
    ZKC_SQLITE_PATH: join(dir, 'db.sqlite'),
    ZKC_RATE_LIMIT_PER_MINUTE: '1000000',
    ZKC_LOG_LEVEL: 'silent',
  });
  const store = new SqliteStore(config.store.kind === 'sqlite' ? config.store.sqlitePath : '');
  await store.init({ chainId: config.chain.chainId, contract: config.chain.contract, deploymentBlock: 0n, emptyRoot: emptyRoot() });
  // The route reads the tree and nothing else of the chain index.
  const chain: ChainView = {
    status: { head: 1n, synced: 1n, leafCount: tree.size, lastPollAt: Date.now(), lastError: null, halted: null, reorgs: 0, pricePerCredit: 1n, paymentToken: null, pricePerTicket: null, ttlDays: null, metered: null },
    tree,
    isSynced: () => true,
    start() {},
    stop: async () => {},
  };
  const app = createApp({
    config,
    store,
    chain,
    verifier: { verify: async () => false, verifyTicket: async () => false, verifyMetered: async () => false },
    upstream: createVeniceUpstream(config.upstream),
    logger: createLogger({ level: 'silent' }),
  });
  const { url } = await app.start();
  try {
    return await fn(url);
  } finally {
    await app.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A page of leaves through the real route and HTTP stack, from an in-memory tree of 2^20 leaves. */
export async function benchLeavesPage(): Promise<Record<string, number>> {
  const LEAVES = 1 << 20;
  const PAGES = 21;
  return withLeavesServer(LEAVES, async (url) => {
    const page = async (from: number) => {
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/zkcredits/leaves?from=${from}`);
      const body = (await res.json()) as { count: number; total: number };
      const ms = performance.now() - t0;
      if (res.status !== 200 || body.count !== MAX_LEAVES_PAGE || body.total !== LEAVES) throw new Error(`leaves page from ${from}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      return ms;
    };
    const step = Math.floor((LEAVES - MAX_LEAVES_PAGE) / (PAGES - 1));
    for (let i = 0; i < 3; i++) await page(i * step); // warm-up
    const times: number[] = [];
    for (let i = 0; i < PAGES; i++) times.push(await page(i * step));
    return { leaves_page_1m_ms: percentile(times, 50) };
  });
}

/** Only the request benchmarks (v1 and v2 throughput, latency, overhead). */
export const benchServerRequests = benchRequests;

export async function benchServer(): Promise<Record<string, number>> {
  return { ...(await benchRequests()), ...(await benchIndexSync()), ...(await benchLeavesPage()) };
}
