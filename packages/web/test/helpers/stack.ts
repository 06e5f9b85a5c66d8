// The real stack for browser tests: Anvil + CreditPool/TestToken (real forge deploy), the
// Venice simulator, the real API server, and this app (`next start` of a test build).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { waitForReceipt } from '@zkcredits/core';
import { ANVIL_KEYS, deployContracts, freePort, startAnvil, type Anvil } from '@zkcredits/core/node';
import { createLogger, loadConfig, startServer, type RunningServer } from '@zkcredits/server';
import { createVeniceSim, type VeniceSim } from '@zkcredits/venice-sim';
import { createPublicClient, createWalletClient, http, parseAbi, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REPO_ROOT = resolve(WEB_DIR, '../..');
export const MODEL = 'llama-3.3-70b';
export const PRICE = 1_500_000n; // 1.50 tUSD (6 decimals)
/** The browser's wallet: Anvil dev account #2 (public test key). */
export const BUYER = privateKeyToAccount(ANVIL_KEYS[2]).address;

const tokenAbi = parseAbi(['function mint(address to, uint256 amount)', 'function balanceOf(address) view returns (uint256)']);

class Sink extends Writable {
  override _write(_c: Buffer, _e: string, cb: () => void): void {
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

export async function startStack(): Promise<Stack> {
  assertTestBuild();
  const anvil = await startAnvil();
  const stops: (() => Promise<unknown>)[] = [() => anvil.stop()];
  try {
    const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
    const d = await deployContracts({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_KEYS[0], pricePerCredit: PRICE, owner, treasury: owner });
    // Fund the browser wallet with 20 tUSD.
    const client = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
    const wallet = createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_KEYS[0]), transport: http(anvil.rpcUrl), pollingInterval: 50 });
    await waitForReceipt(client, {
      hash: await wallet.writeContract({ address: d.token, abi: tokenAbi, functionName: 'mint', args: [BUYER, 20_000_000n] }),
    });

    const sim = await createVeniceSim({ apiKey: 'sim-key' });
    stops.unshift(() => sim.close());
    const config = loadConfig({
      ZKC_HOST: '127.0.0.1',
      ZKC_PORT: '0',
      ZKC_RPC_URL: anvil.rpcUrl,
      ZKC_CHAIN_ID: '31337',
      ZKC_CONTRACT: d.creditPool,
      ZKC_DEPLOYMENT_BLOCK: d.deploymentBlock.toString(),
      ZKC_CONFIRMATIONS: '0',
      ZKC_POLL_INTERVAL_MS: '200',
      ZKC_UPSTREAM_URL: sim.apiBaseUrl,
      ZKC_UPSTREAM_API_KEY: 'sim-key',
      ZKC_MODELS: `${MODEL}:256`,
      ZKC_STORE: 'sqlite',
      ZKC_SQLITE_PATH: ':memory:',
      ZKC_VERIFIERS: '1',
      ZKC_CRS_PATH: resolve(REPO_ROOT, '../shared/crs'),
      ZKC_LOG_LEVEL: 'silent',
    });
    const server = await startServer(config, createLogger({ level: 'silent', destination: new Sink() }));
    stops.unshift(() => server.stop());

    const web = await startWeb({ serverUrl: server.url, pool: d.creditPool, rpcUrl: anvil.rpcUrl });
    stops.unshift(() => web.stop());
    const webUrl = web.url;
    return {
      anvil,
      sim,
      server,
      web: web.process,
      webUrl,
      pool: d.creditPool,
      token: d.token,
      async stop() {
        for (const stop of stops) await stop().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const stop of stops) await stop().catch(() => undefined);
    throw error;
  }
}

export async function tokenBalance(stack: Stack, who: Address): Promise<bigint> {
  const client = createPublicClient({ chain: foundry, transport: http(stack.anvil.rpcUrl) });
  return client.readContract({ address: stack.token, abi: tokenAbi, functionName: 'balanceOf', args: [who] });
}

export type Web = { url: string; process: ChildProcess; stop(): Promise<void> };

/** `next start` of the test build on a free port, configured for one deployment. */
export async function startWeb(opts: { serverUrl: string; pool: Address; rpcUrl: string }): Promise<Web> {
  assertTestBuild();
  const port = await freePort();
  const nextBin = join(REPO_ROOT, 'node_modules/next/dist/bin/next');
  const child = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: WEB_DIR,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      ZKC_NEXT_DIST_DIR: TEST_DIST_DIR,
      ZKC_SERVER_URL: opts.serverUrl,
      ZKC_CHAIN_ID: '31337',
      ZKC_POOL_ADDRESS: opts.pool,
      ZKC_RPC_URL: opts.rpcUrl,
      CRS_PATH: resolve(REPO_ROOT, '../shared/crs'),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
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
