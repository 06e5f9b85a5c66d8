// A whole server stack for end-to-end tests: real Anvil + CreditPool, real store (SQLite or
// PostgreSQL), real bb proofs, the Venice-compatible simulator as upstream.
import { Writable } from 'node:stream';
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
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createProofPools, type ProofPools } from '../../src/proof/node.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { openAccounts, proveTicket, type TestAccount } from './accounts.js';
import { startTestChain, type TestChain } from './chain.js';
import { makeStoreFactory, type StoreFactory } from './stores.js';

export const SIM_KEY = 'sim-upstream-key';
export const MODEL = 'llama-3.3-70b';
export const E2EE_MODEL = 'e2ee-qwen3-5-122b-a10b';
export const MAX_TOKENS = 64;

/** Captures every log line so tests can assert what never appears in logs. */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.lines.push(chunk.toString('utf8'));
    cb();
  }
  get text(): string {
    return this.lines.join('');
  }
}

export type Stack = {
  chain: TestChain;
  sim: VeniceSim;
  stores: StoreFactory;
  pools: ProofPools;
  config: Config;
  env: Record<string, string>;
  server: RunningServer;
  url: string;
  logs: LogCapture;
  /** Mirror of the on-chain tree (what a client would sync). */
  tree: MerkleTree;
  /** Buys credits in one transaction and waits until the server has indexed them. */
  buyCredits(n: number): Promise<Credential[]>;
  /** A client-side proof for `body`, as the `zkcredits` body member. */
  /** A proof over `body` (and the bound E2EE `headers`, if any) for this deployment. */
  prove(credential: Credential, body: object, headers?: Record<string, string>): Promise<{ proof: string; root: string; nullifier_hash: string }>;
  /** Opens flat accounts (protocol v2) in one transaction and waits until the server has indexed them. */
  openAccounts(tickets: readonly number[]): Promise<TestAccount[]>;
  /** A ticket proof over `body` (ticket `ticket` of `account`, today by default), as the `zkcredits` body member. */
  proveTicket(account: TestAccount, ticket: number, body: object, options?: { today?: number; headers?: Record<string, string> }): ReturnType<typeof proveTicket>;
  post(body: unknown, headers?: Record<string, string>, signal?: AbortSignal): Promise<Response>;
  waitIndexed(leafCount: number): Promise<void>;
  stop(): Promise<void>;
};

/** The least configuration that loads (no chain behind it): for building proof pools outside a stack. */
export function minimalEnv(): Record<string, string> {
  return {
    ZKC_RPC_URL: 'http://127.0.0.1:1',
    ZKC_CHAIN_ID: '31337',
    ZKC_CONTRACT: `0x${'11'.repeat(20)}`,
    ZKC_UPSTREAM_API_KEY: 'k',
    ZKC_MODELS: `${MODEL}:${MAX_TOKENS}`,
  };
}

/** The metered price table of the test stacks (price units per 1M tokens; the test token has price unit 1). */
export const MODEL_PRICES = { [MODEL]: { input: 700_000, output: 2_800_000 }, [E2EE_MODEL]: { input: 400_000, output: 1_600_000 } } as const;

/** Metered calls on: the chain's state secret and a price for every model. */
export function meteredEnv(chain: TestChain): Record<string, string> {
  if (chain.stateSecret === undefined) throw new Error('the test chain was deployed without a known state secret');
  return {
    ZKC_STATE_KEY: `0x${chain.stateSecret.toString(16).padStart(64, '0')}`,
    ZKC_MODEL_PRICES: Object.entries(MODEL_PRICES)
      .map(([id, p]) => `${id}:${p.input}/${p.output}`)
      .join(','),
  };
}

export function chatBody(content = 'hello zkcredits', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: MODEL, messages: [{ role: 'user', content }], max_tokens: 16, ...extra };
}

export function baseEnv(chain: TestChain, sim: VeniceSim, stores: StoreFactory): Record<string, string> {
  return {
    ...stores.env,
    ZKC_HOST: '127.0.0.1',
    ZKC_PORT: '0',
    ZKC_RPC_URL: chain.rpcUrl,
    ZKC_CHAIN_ID: String(chain.chainId),
    ZKC_CONTRACT: chain.pool,
    ZKC_DEPLOYMENT_BLOCK: chain.deploymentBlock.toString(),
    ZKC_CONFIRMATIONS: '0',
    ZKC_POLL_INTERVAL_MS: '100',
    ZKC_UPSTREAM_URL: sim.apiBaseUrl,
    ZKC_UPSTREAM_API_KEY: SIM_KEY,
    // Nothing times out or expires on its own, however loaded the machine: suites that test a
    // timeout set a short one on a stack of its own, with a provider that never answers.
    ZKC_UPSTREAM_HEADERS_TIMEOUT_MS: '120000',
    ZKC_UPSTREAM_IDLE_TIMEOUT_MS: '120000',
    ZKC_UPSTREAM_TIMEOUT_MS: '300000',
    ZKC_RESERVATION_TTL_MS: '600000',
    ZKC_MODELS: `${MODEL}:${MAX_TOKENS},${E2EE_MODEL}:${MAX_TOKENS}`,
    ZKC_API_KEY_MODE: 'true',
    // Suites that retry one proof through several provider failures; the cooldown has its own test.
    ZKC_RELEASES_BEFORE_COOLDOWN: '20',
    ZKC_VERIFIERS: '2',
    ZKC_VERIFY_QUEUE: '64',
    ZKC_RATE_LIMIT_PER_MINUTE: '100000',
    ZKC_LOG_LEVEL: 'debug',
    ZKC_SHUTDOWN_GRACE_MS: '2000',
  };
}

export async function startStack(
  kind: 'sqlite' | 'postgres',
  options: { env?: Record<string, string>; pools?: ProofPools; chain?: TestChain; stores?: StoreFactory; now?: () => number } = {},
): Promise<Stack> {
  await initPoseidon2();
  const chain = options.chain ?? (await startTestChain());
  const sim = await createVeniceSim({ apiKey: SIM_KEY });
  const stores = options.stores ?? (await makeStoreFactory(kind));
  const env = { ...baseEnv(chain, sim, stores), ...options.env };
  const config = loadConfig(env);
  const pools = options.pools ?? (await createProofPools(config, { prover: true }));
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs });
  const server = await startServer(config, logger, { pools, now: options.now });
  const tree = new MerkleTree();

  const stack: Stack = {
    chain,
    sim,
    stores,
    pools,
    config,
    env,
    server,
    url: server.url,
    logs,
    tree,
    async buyCredits(n) {
      const creds = Array.from({ length: n }, () => generateCredential());
      const commitments = creds.map(credentialCommitment);
      await chain.buy(commitments);
      tree.insertMany(commitments);
      await stack.waitIndexed(tree.size);
      return creds;
    },
    async openAccounts(tickets) {
      const accounts = await openAccounts(chain, tree, tickets);
      await stack.waitIndexed(tree.size);
      return accounts;
    },
    proveTicket(account, ticket, body, opts) {
      return proveTicket(pools, chain, tree, account, ticket, body, opts);
    },
    async prove(credential, body, headers) {
      const rh = requestHash({ chainId: chain.chainId, contract: chain.pool, method: 'POST', path: CHAT_PATH, headers, body });
      const p = await pools.prover!.prove(buildSpendWitness(credential, tree, rh));
      return encodeProofPayload(p);
    },
    post(body, headers = {}, signal) {
      return fetch(`${server.url}${CHAT_PATH}`, {
        method: 'POST',
        signal,
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async waitIndexed(leafCount) {
      const deadline = Date.now() + 20_000;
      // status.leafCount moves only once the store has committed the leaves and their roots
      // (the in-memory tree moves first).
      while (server.indexer.status.leafCount < leafCount) {
        if (Date.now() > deadline) throw new Error(`server did not index ${leafCount} leaves (has ${server.indexer.status.leafCount})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await server.stop();
      await sim.close();
      if (!options.pools) await pools.destroy();
      if (!options.chain) await chain.stop();
      if (!options.stores) await stores.cleanup();
    },
  };
  return stack;
}

export async function errorOf(res: Response): Promise<{ status: number; code: string; type: string; param: string | null; message: string }> {
  const json = (await res.json()) as { error: { code: string; type: string; param: string | null; message: string } };
  return { status: res.status, ...json.error };
}
