import { initPoseidon2 } from '@zkcredits/core';
import { requireCrs } from '@zkcredits/core/node';
import { createPublicClient, createWalletClient, defineChain, http, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createApp, type App } from './app.js';
import { contractAccounts } from './chain/accounts.js';
import { ChainIndexer, emptyRoot, readDeploymentBlock } from './chain/indexer.js';
import type { Config } from './config.js';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { createProofPools, type ProofPools } from './proof/node.js';
import { createRateLimitBackend } from './ratelimit.js';
import { createStore, type Store } from './store/index.js';
import { Slasher } from './tickets/slasher.js';
import { createVeniceUpstream, type Upstream } from './upstream/venice.js';

export type RunningServer = {
  app: App;
  url: string;
  port: number;
  /** Where GET /metrics answers (ZKC_METRICS_ADDR); undefined when off. */
  metricsUrl: string | undefined;
  indexer: ChainIndexer;
  store: Store;
  stop(): Promise<void>;
};

/** The slasher's wallet: the operator key on the configured chain, through the configured RPC. */
function slasherWallet(config: Config, privateKey: `0x${string}`) {
  const chain = defineChain({
    id: config.chain.chainId,
    name: `chain ${config.chain.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.chain.rpcUrl] } },
  });
  return createWalletClient({ chain, account: privateKeyToAccount(privateKey), transport: http(config.chain.rpcUrl, { retryCount: 2 }) });
}

/**
 * Wires the real parts from a validated config (store, chain index over viem, bb proof
 * pools, Venice upstream) and starts listening. Parts can be overridden (tests, benchmarks).
 */
export async function startServer(
  config: Config,
  logger: Logger,
  overrides: { store?: Store; upstream?: Upstream; pools?: ProofPools; client?: PublicClient; now?: () => number } = {},
): Promise<RunningServer> {
  // The CRS (a read-only volume in images) must be the pinned one before anything else starts.
  const crsPath = requireCrs(config.proofs.crsPath, 'ZKC_CRS_PATH');
  await initPoseidon2();
  const client = overrides.client ?? (createPublicClient({ transport: http(config.chain.rpcUrl, { batch: true, retryCount: 2 }) }) as PublicClient);
  const nodeChainId = await client.getChainId();
  if (nodeChainId !== config.chain.chainId) {
    throw new ConfigError([`ZKC_CHAIN_ID is ${config.chain.chainId} but the node at ZKC_RPC_URL serves chain ${nodeChainId}; fix one of them`]);
  }
  const deploymentBlock = config.chain.deploymentBlock ?? (await readDeploymentBlock(client, config.chain.contract));
  const cfg: Config = { ...config, chain: { ...config.chain, deploymentBlock }, proofs: { ...config.proofs, crsPath } };

  const store = overrides.store ?? createStore(cfg.store);
  await store.init({ chainId: cfg.chain.chainId, contract: cfg.chain.contract, deploymentBlock, emptyRoot: emptyRoot() });

  const indexer = new ChainIndexer({
    client,
    store,
    contract: cfg.chain.contract,
    deploymentBlock,
    confirmations: cfg.chain.confirmations,
    pollIntervalMs: cfg.chain.pollIntervalMs,
    logBlockRange: cfg.chain.logBlockRange,
    logger,
  });
  // Catch up once before serving so the first requests see the current roots.
  await indexer.pollOnce().catch(() => {});

  const pools = overrides.pools ?? (await createProofPools(cfg));
  logger.child({ subsystem: 'proofs' }).info({ backend: pools.backend, verifiers: cfg.proofs.verifiers }, 'proof backends ready');
  const upstream = overrides.upstream ?? createVeniceUpstream(cfg.upstream);

  let rateLimit;
  try {
    rateLimit = await createRateLimitBackend(cfg.rateLimitRedis, logger);
  } catch (err) {
    if (!overrides.pools) await pools.destroy();
    if (!overrides.store) await store.close();
    throw err;
  }

  const now = overrides.now ?? Date.now;
  const accounts = contractAccounts(client, cfg.chain.contract);
  const slasher = new Slasher({
    store,
    accounts,
    client,
    wallet: cfg.slasher && slasherWallet(cfg, cfg.slasher.privateKey),
    contract: cfg.chain.contract,
    logger,
    now,
    intervalMs: cfg.tickets.slashIntervalMs,
    // Longer than a slash takes to be mined on any chain we serve; a crashed holder's lease runs out.
    leaseMs: 120_000,
  });
  if (slasher.address) logger.child({ subsystem: 'slasher' }).info({ address: slasher.address }, 'slashes are sent from this address (keep gas on it)');

  const app = createApp({ config: cfg, store, chain: indexer, verifier: pools.verifier, prover: pools.prover, upstream, logger, rateLimit, now, accounts, slasher });
  const { url, port, metricsUrl } = await app.start();
  return {
    app,
    url,
    port,
    metricsUrl,
    indexer,
    store,
    async stop() {
      await app.stop();
      await rateLimit.close();
      if (!overrides.pools) await pools.destroy();
      if (!overrides.store) await store.close();
    },
  };
}
