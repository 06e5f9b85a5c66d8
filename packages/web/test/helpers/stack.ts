// The real stack for browser tests: Anvil + CreditPool/TestToken (real forge deploy), the
// Venice simulator, the real API server, and this app (`next start` of a test build).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CREDIT_VK_SHA256, TREE_DEPTH, waitForReceipt, type DeploymentManifest } from '@zkcredits/core';
import { ANVIL_KEYS, deployContracts, freePort, startAnvil, writeDeploymentManifest, type Anvil } from '@zkcredits/core/node';
import { createLogger, loadConfig, startServer, type RunningServer } from '@zkcredits/server';
import { createVeniceSim, type VeniceSim } from '@zkcredits/venice-sim';
import { createPublicClient, createWalletClient, http, parseAbi, type Address, type Hash } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REPO_ROOT = resolve(WEB_DIR, '../..');
export const MODEL = 'llama-3.3-70b';
/** The simulator's end-to-end encryption model (TEE + E2EE), sold only by stacks started with `e2ee`. */
export const E2EE_MODEL = 'e2ee-qwen3-5-122b-a10b';
export const PRICE = 1_500_000n; // 1.50 tUSD (6 decimals)
/** Price of one call of a v2 account. */
export const TICKET_PRICE = 10_000n; // 0.01 tUSD
/** v2 flat-account lifetime of the test deployment. */
const TTL_DAYS = 365;
/**
 * The metered price table the API server publishes (price units per 1M input/output tokens; the
 * test token's price unit is 1 base unit, i.e. micro-tUSD, and C_max the deploy default 0.05 tUSD).
 */
export const MODEL_PRICES: Record<string, { input: number; output: number }> = { [MODEL]: { input: 700_000, output: 2_800_000 }, [E2EE_MODEL]: { input: 400_000, output: 1_600_000 } };
/** The browser's wallet: Anvil dev account #2 (public test key). */
export const BUYER = privateKeyToAccount(ANVIL_KEYS[2]).address;

const tokenAbi = parseAbi(['function mint(address to, uint256 amount)', 'function balanceOf(address) view returns (uint256)']);

class Sink extends Writable {
  override _write(_c: Buffer, _e: string, cb: () => void): void {
    cb();
  }
}

/** Options of `startStack`; the defaults are what most tests need. */
export type StackOptions = {
  /** Also sell the simulator's E2EE model (E2EE_MODEL). */
  e2ee?: boolean;
  /** Every line the API server logs, at its most verbose level (default: none, silent). */
  apiLog?: (chunk: Buffer) => void;
  /** Everything the web server (`next start`) writes to stdout and stderr (default: stderr passes through). */
  webOutput?: (chunk: Buffer) => void;
  /** Puts something between the app's pass-through and the API server: gets the API's URL, returns the one the app uses. */
  interpose?: (apiUrl: string) => Promise<string>;
};

class Capture extends Writable {
  constructor(private readonly onChunk: (chunk: Buffer) => void) {
    super();
  }
  override _write(c: Buffer, _e: string, cb: () => void): void {
    this.onChunk(Buffer.from(c));
    cb();
  }
}

export type Stack = {
  anvil: Anvil;
  sim: VeniceSim;
  server: RunningServer;
  web: ChildProcess;
  webUrl: string;
  pool: Address;
  token: Address;
  /** Hash of the CreditPool's deployment block (changes when the chain is reset). */
  deploymentBlockHash: Hash;
  /** The deployment manifest the app was started with (ZKC_DEPLOYMENT). */
  manifestPath: string;
  /**
   * Resets the chain as a developer restarting Anvil would: a new Anvil on the same port,
   * the contracts deployed again (same addresses, another history), a new manifest, the API
   * server restarted on its port. The app keeps running (and its origin, so the browser's
   * vault): it reads the manifest at every page load.
   */
  resetChain(): Promise<void>;
  stop(): Promise<void>;
};

/** Test builds live in their own folder so they never replace the production build `npm start` serves. */
export const TEST_DIST_DIR = '.next-test';

/** Fails unless `.next-test` holds a test build (made with ZKC_TEST_WALLET=1): tests never rebuild silently. */
export function assertTestBuild(): void {
  const marker = join(WEB_DIR, TEST_DIST_DIR, 'BUILD_ID');
  if (!existsSync(marker)) throw new Error('no build: run `npm run build:test -w @zkcredits/web` first');
  const dir = join(WEB_DIR, TEST_DIST_DIR, 'static', 'chunks', 'app');
  const layout = readdirSync(dir).find((f) => f.startsWith('layout-') && f.endsWith('.js'));
  if (!layout || !readFileSync(join(dir, layout), 'utf8').includes('__zkcTest')) {
    throw new Error(`${TEST_DIST_DIR} is not a test build: run "npm run build:test -w @zkcredits/web"`);
  }
}

async function waitFor(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const OWNER = privateKeyToAccount(ANVIL_KEYS[0]).address;

/** A deployment; `stateSecret` is the secret of the state key it pins (generated by the deploy, for the server's ZKC_STATE_KEY). */
type Deployed = { pool: Address; token: Address; deploymentBlock: bigint; deploymentBlockHash: Hash; manifestPath: string; stateSecret: bigint };

/** Deploys CreditPool + TestToken (real forge script), funds the browser wallet with 20 tUSD, writes the manifest into `dir`. */
async function deploy(rpcUrl: string, dir: string): Promise<Deployed> {
  const d = await deployContracts({ rpcUrl, privateKey: ANVIL_KEYS[0], pricePerCredit: PRICE, pricePerTicket: TICKET_PRICE, ttlDays: TTL_DAYS, owner: OWNER, treasury: OWNER });
  const client = createPublicClient({ chain: foundry, transport: http(rpcUrl), pollingInterval: 50 });
  const wallet = createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_KEYS[0]), transport: http(rpcUrl), pollingInterval: 50 });
  await waitForReceipt(client, {
    hash: await wallet.writeContract({ address: d.token, abi: tokenAbi, functionName: 'mint', args: [BUYER, 20_000_000n] }),
  });
  const { hash } = await client.getBlock({ blockNumber: d.deploymentBlock });
  const manifest: DeploymentManifest = {
    version: 1,
    chainId: foundry.id,
    creditPool: d.creditPool,
    deploymentBlock: d.deploymentBlock,
    deploymentBlockHash: hash,
    token: { address: d.token, symbol: 'tUSD', decimals: 6, permit: true },
    pricePerCredit: PRICE,
    pricePerTicket: TICKET_PRICE,
    ttlDays: TTL_DAYS,
    priceUnit: d.priceUnit,
    cMax: d.cMax,
    stateKeyDelay: d.stateKeyDelay,
    stateKeyGrace: d.stateKeyGrace,
    owner: OWNER,
    treasury: OWNER,
    deployer: OWNER,
    vkSha256: CREDIT_VK_SHA256,
    treeDepth: TREE_DEPTH,
  };
  const manifestPath = await writeDeploymentManifest(dir, manifest);
  return { pool: d.creditPool, token: d.token, deploymentBlock: d.deploymentBlock, deploymentBlockHash: hash, manifestPath, stateSecret: d.stateSecret! };
}

/** The real API server for one deployment, on `port` (0: any free port). */
async function startApi(rpcUrl: string, d: Deployed, sim: VeniceSim, opts: StackOptions, port = 0): Promise<RunningServer> {
  const config = loadConfig({
    ZKC_HOST: '127.0.0.1',
    ZKC_PORT: String(port),
    ZKC_RPC_URL: rpcUrl,
    // The same manifest the app reads: one file configures both (chain 31337: no confirmations).
    ZKC_DEPLOYMENT: d.manifestPath,
    ZKC_METRICS_ADDR: '127.0.0.1:0',
    ZKC_POLL_INTERVAL_MS: '200',
    ZKC_UPSTREAM_URL: sim.apiBaseUrl,
    ZKC_UPSTREAM_API_KEY: 'sim-key',
    ZKC_MODELS: opts.e2ee ? `${MODEL}:256,${E2EE_MODEL}:256` : `${MODEL}:256`,
    // Metered calls: the deployment's state secret, and a price for every model sold.
    ZKC_STATE_KEY: `0x${d.stateSecret.toString(16).padStart(64, '0')}`,
    ZKC_MODEL_PRICES: (opts.e2ee ? [MODEL, E2EE_MODEL] : [MODEL]).map((id) => `${id}:${MODEL_PRICES[id]!.input}/${MODEL_PRICES[id]!.output}`).join(','),
    // DCAP collateral from the simulator's Intel-PCS-shaped routes (its test PKI).
    ZKC_TEE_PCS_URL: sim.pcsUrl,
    ZKC_TEE_ROOT_CA_CRL_URL: sim.rootCaCrlUrl,
    ZKC_STORE: 'sqlite',
    ZKC_SQLITE_PATH: ':memory:',
    ZKC_VERIFIERS: '1',
    ZKC_CRS_PATH: resolve(REPO_ROOT, '../shared/crs'),
    ZKC_LOG_LEVEL: opts.apiLog ? 'trace' : 'silent',
  });
  const logger = opts.apiLog ? createLogger({ level: 'trace', destination: new Capture(opts.apiLog) }) : createLogger({ level: 'silent', destination: new Sink() });
  return startServer(config, logger);
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  assertTestBuild();
  const manifests = mkdtempSync(join(tmpdir(), 'zkc-deployments-'));
  let anvil = await startAnvil();
  let server: RunningServer | undefined;
  let sim: VeniceSim | undefined;
  let web: Web | undefined;
  const stopAll = async () => {
    for (const stop of [() => web?.stop(), () => server?.stop(), () => sim?.close(), () => anvil.stop()]) await Promise.resolve(stop()).catch(() => undefined);
    rmSync(manifests, { recursive: true, force: true });
  };
  try {
    let d = await deploy(anvil.rpcUrl, manifests);
    sim = await createVeniceSim({ apiKey: 'sim-key' });
    server = await startApi(anvil.rpcUrl, d, sim, opts);
    const appServerUrl = opts.interpose ? await opts.interpose(server.url) : server.url;
    web = await startWeb({ serverUrl: appServerUrl, deployment: d.manifestPath, rpcUrl: anvil.rpcUrl, output: opts.webOutput });
    const stack: Stack = {
      anvil,
      sim,
      server,
      web: web.process,
      webUrl: web.url,
      pool: d.pool,
      token: d.token,
      deploymentBlockHash: d.deploymentBlockHash,
      manifestPath: d.manifestPath,
      async resetChain() {
        await server!.stop();
        await anvil.stop();
        anvil = await startAnvil({ port: anvil.port });
        d = await deploy(anvil.rpcUrl, manifests);
        server = await startApi(anvil.rpcUrl, d, sim!, opts, stack.server.port);
        if (d.manifestPath !== stack.manifestPath) {
          // Another CreditPool address: the app must be pointed at the new manifest (same port, same origin).
          const port = Number(new URL(stack.webUrl).port);
          await web!.stop();
          web = await startWeb({ serverUrl: appServerUrl, deployment: d.manifestPath, rpcUrl: anvil.rpcUrl, port, output: opts.webOutput });
        }
        Object.assign(stack, { anvil, server, web: web!.process, pool: d.pool, token: d.token, deploymentBlockHash: d.deploymentBlockHash, manifestPath: d.manifestPath });
      },
      stop: stopAll,
    };
    return stack;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export async function tokenBalance(stack: Stack, who: Address): Promise<bigint> {
  const client = createPublicClient({ chain: foundry, transport: http(stack.anvil.rpcUrl) });
  return client.readContract({ address: stack.token, abi: tokenAbi, functionName: 'balanceOf', args: [who] });
}

export type Web = { url: string; process: ChildProcess; stop(): Promise<void> };

/**
 * `next start` of the test build on a free port (or `port`), configured for one deployment:
 * its manifest (`deployment`, as ZKC_DEPLOYMENT), or only a CreditPool address (`pool`, the
 * ZKC_CHAIN_ID/ZKC_POOL_ADDRESS fallback).
 */
export async function startWeb(opts: {
  serverUrl: string;
  rpcUrl: string;
  deployment?: string;
  pool?: Address;
  port?: number;
  /** Receives all of the server's stdout and stderr (default: stdout dropped, stderr passed through). */
  output?: (chunk: Buffer) => void;
}): Promise<Web> {
  assertTestBuild();
  const port = opts.port ?? (await freePort());
  const nextBin = join(REPO_ROOT, 'node_modules/next/dist/bin/next');
  const child = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: WEB_DIR,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      ZKC_NEXT_DIST_DIR: TEST_DIST_DIR,
      ZKC_SERVER_URL: opts.serverUrl,
      ...(opts.deployment ? { ZKC_DEPLOYMENT: opts.deployment } : { ZKC_CHAIN_ID: '31337', ZKC_POOL_ADDRESS: opts.pool }),
      ZKC_RPC_URL: opts.rpcUrl,
      CRS_PATH: resolve(REPO_ROOT, '../shared/crs'),
    },
    stdio: ['ignore', opts.output ? 'pipe' : 'ignore', opts.output ? 'pipe' : 'inherit'],
  });
  if (opts.output) {
    child.stdout?.on('data', opts.output);
    child.stderr?.on('data', opts.output);
  }
  const kill = () => child.exitCode === null && child.kill('SIGKILL');
  process.once('exit', kill);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', kill);
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(`${url}/crs/g2`, 30_000, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, process: child, stop };
}
