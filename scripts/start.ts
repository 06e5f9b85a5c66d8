// The local system: a real Anvil with the contracts deployed by the forge script, the
// Venice-compatible simulator, the API server and the web app, plus a demo purchase
// and a proof-paid chat call that shows the whole path works. Everything is stopped
// by PID on exit. Ports: anvil 8545, simulator 8788, API server 8787, web app 3000
// (override with ZKC_*_PORT). The dev state secret of metered calls is made once in .data/state-secret.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import {
  MerkleTree,
  applyPurchases,
  buildSpendWitness,
  buyCredits,
  credentialCommitment,
  encodeCredential,
  encodeProofPayload,
  fetchPurchases,
  generateCredential,
  generateStateSecret,
  initPoseidon2,
  requestHash,
  waitForReceipt,
} from '../packages/core/src/index.js';
import { testTokenAbi } from '../packages/core/src/generated/abis.js';
import { ANVIL_KEYS, createNodeProver, deployCreditPool, startAnvil } from '../packages/core/src/node/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ANVIL_PORT = port('ZKC_ANVIL_PORT', 8545);
const SIM_PORT = port('ZKC_SIM_PORT', 8788);
const SERVER_PORT = port('ZKC_SERVER_PORT', 8787);
const WEB_PORT = port('ZKC_WEB_PORT', 3000);
const SIM_KEY = 'local-dev-venice-key';
const noWeb = process.argv.includes('--no-web');
const demoOnly = process.argv.includes('--demo-and-exit');
const DATA_DIR = join(root, '.data');
/**
 * The models the server offers (name:max input tokens) and their metered prices: input/output price
 * units per 1M tokens. The test token has 6 decimals, so a price unit is one micro-tUSD: 700000 = 0.70 tUSD.
 */
const MODELS = 'llama-3.3-70b:1024,venice-uncensored:1024,e2ee-qwen3-5-122b-a10b:2048,e2ee-glm-5:2048';
const MODEL_PRICES = 'llama-3.3-70b:700000/2800000,venice-uncensored:200000/900000,e2ee-qwen3-5-122b-a10b:500000/2000000,e2ee-glm-5:600000/2200000';

/**
 * The server's dev state secret (signs metered states), made once in the data dir (mode 600) and kept
 * across runs, unlike the index: deployments pin its public key. Never printed.
 */
function devStateSecret(): { file: string; secret: bigint } {
  const file = join(DATA_DIR, 'state-secret');
  mkdirSync(DATA_DIR, { recursive: true });
  if (!existsSync(file)) writeFileSync(file, `0x${generateStateSecret().toString(16).padStart(64, '0')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  const text = readFileSync(file, 'utf8').trim();
  if (!/^0x[0-9a-f]{64}$/i.test(text)) throw new Error(`${file} does not hold a state secret (0x + 64 hex digits): delete it and start again`);
  return { file, secret: BigInt(text) };
}

const children: ChildProcess[] = [];
const stoppers: (() => Promise<void>)[] = [];
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
    for (const stop of stoppers) await stop();
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

/** Spawns a process and resolves with the first stdout line that parses as JSON with `event`. */
function launch(name: string, cmd: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`[start] ${name} exited with ${code}`);
      void stopAll(1);
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => console.error(`[${name}] ${line}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not become ready`)), 180_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

async function main() {
  console.log('[start] Anvil on port', ANVIL_PORT);
  const anvil = await startAnvil({ port: ANVIL_PORT });
  stoppers.push(() => anvil.stop());
  await initPoseidon2();

  const owner = privateKeyToAccount(ANVIL_KEYS[0]);
  const state = devStateSecret();
  // The same deploy command operators run (npm run deploy): it writes the manifest every component reads.
  // Metered accounts: default price unit (1 micro-tUSD), cMax (50,000 = 0.05 tUSD), key delay and grace;
  // the state key is the dev secret's.
  const { manifest, manifestPath } = await deployCreditPool({
    chain: 'anvil',
    rpcUrl: anvil.rpcUrl,
    token: 'test',
    price: '0.10',
    stateKey: { secret: state.secret },
    owner: owner.address,
    treasury: owner.address,
    signer: { privateKey: ANVIL_KEYS[0] },
  });
  const deployment = { creditPool: manifest.creditPool, token: manifest.token.address, deploymentBlock: manifest.deploymentBlock };
  const publicClient = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
  const wallet = (i: number) => createWalletClient({ account: privateKeyToAccount(ANVIL_KEYS[i]!), chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
  for (let i = 0; i < ANVIL_KEYS.length; i++) {
    const hash = await wallet(0).writeContract({
      address: deployment.token,
      abi: testTokenAbi,
      functionName: 'mint',
      args: [wallet(i).account.address, 1_000_000_000n],
    });
    await waitForReceipt(publicClient, { hash });
  }
  console.log(`[start] contracts: CreditPool ${deployment.creditPool}, test token ${deployment.token} (1,000 test-USDC minted to the first Anvil accounts)`);
  console.log(`[start] metered calls: a call pre-pays ${manifest.cMax} price units of ${manifest.priceUnit} base units; state key from ${state.file}`);

  await launch('venice-sim', process.execPath, ['--import', 'tsx', 'packages/venice-sim/src/main.ts'], { PORT: String(SIM_PORT), VENICE_SIM_API_KEY: SIM_KEY }, /"url"/);
  const simUrl = `http://127.0.0.1:${SIM_PORT}`;

  const dbDir = join(DATA_DIR, 'db');
  rmSync(dbDir, { recursive: true, force: true }); // a fresh chain needs a fresh index
  mkdirSync(dbDir, { recursive: true });
  await launch(
    'server',
    process.execPath,
    ['--import', 'tsx', 'packages/server/src/main.ts'],
    {
      ZKC_PORT: String(SERVER_PORT),
      ZKC_RPC_URL: anvil.rpcUrl,
      ZKC_DEPLOYMENT: manifestPath,
      ZKC_POLL_INTERVAL_MS: '500',
      ZKC_SQLITE_PATH: join(dbDir, 'zkcredits.sqlite'),
      ZKC_UPSTREAM_URL: `${simUrl}/api/v1`,
      ZKC_UPSTREAM_API_KEY: SIM_KEY,
      // DCAP collateral from the simulator's Intel-PCS-shaped routes (its test PKI), not Intel's.
      ZKC_TEE_PCS_URL: simUrl,
      ZKC_TEE_ROOT_CA_CRL_URL: `${simUrl}/IntelSGXRootCA.der`,
      ZKC_MODELS: MODELS,
      ZKC_MODEL_PRICES: MODEL_PRICES,
      ZKC_STATE_KEY_FILE: state.file,
      ZKC_API_KEY_MODE: 'true',
      ZKC_CORS_ORIGINS: `http://localhost:${WEB_PORT},http://127.0.0.1:${WEB_PORT}`,
      ZKC_LOG_LEVEL: 'warn',
    },
    /"listening"/,
  );
  const serverUrl = `http://127.0.0.1:${SERVER_PORT}`;

  // Demo: buy two credits, sync the tree from events, pay one chat call with a proof.
  const credentials = [generateCredential(), generateCredential()];
  await buyCredits({ publicClient, walletClient: wallet(1), pool: deployment.creditPool, commitments: credentials.map(credentialCommitment) });
  const tree = new MerkleTree();
  applyPurchases(tree, await fetchPurchases({ client: publicClient, address: deployment.creditPool, fromBlock: deployment.deploymentBlock, toBlock: await publicClient.getBlockNumber({ cacheTime: 0 }) }));
  const body = { model: 'llama-3.3-70b', messages: [{ role: 'user', content: 'Say hello to zkcredits' }], max_tokens: 32 };
  const prover = await createNodeProver();
  const t0 = performance.now();
  const proof = await prover.prove(
    buildSpendWitness(credentials[0]!, tree, requestHash({ chainId: foundry.id, contract: deployment.creditPool, method: 'POST', path: '/v1/chat/completions', body })),
  );
  const proveMs = Math.round(performance.now() - t0);
  await prover.destroy();
  let answer = '';
  for (let attempt = 0; attempt < 40; attempt++) {
    const res = await fetch(`${serverUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, zkcredits: encodeProofPayload(proof) }),
    });
    const json = (await res.json()) as { choices?: { message: { content: string } }[]; error?: { code: string; message: string } };
    if (res.ok) {
      answer = json.choices![0]!.message.content;
      break;
    }
    if (json.error?.code !== 'unknown_root' || attempt === 39) throw new Error(`demo call failed: ${res.status} ${JSON.stringify(json.error)}`);
    await new Promise((r) => setTimeout(r, 250)); // the indexer has not seen the purchase yet
  }
  console.log(`[start] demo: bought 2 credits, proved a spend in ${proveMs} ms, the server answered: ${JSON.stringify(answer)}`);
  console.log(`[start] an unspent demo credential (API-key mode): ${encodeCredential(credentials[1]!)}`);

  let webUrl: string | undefined;
  if (!noWeb && !demoOnly) {
    console.log('[start] web app: building if needed (about a minute the first time)');
    const build = spawn('bash', ['scripts/web-build.sh'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(build);
    const [code] = await once(build, 'exit');
    children.splice(children.indexOf(build), 1);
    if (code !== 0) throw new Error('web build failed');
    await launch(
      'web',
      process.execPath,
      [join(root, 'node_modules/next/dist/bin/next'), 'start', '-p', String(WEB_PORT), '-H', '127.0.0.1', 'packages/web'],
      {
        NODE_ENV: 'production',
        NEXT_TELEMETRY_DISABLED: '1',
        ZKC_SERVER_URL: serverUrl,
        ZKC_DEPLOYMENT: manifestPath,
        ZKC_RPC_URL: anvil.rpcUrl,
        CRS_PATH: join(root, '../shared/crs'),
      },
      /Ready|started server|Local:/i,
    );
    webUrl = `http://127.0.0.1:${WEB_PORT}`;
  }
  if (demoOnly) await stopAll(0);
  console.log(`
zkcredits is running:
  chain      ${anvil.rpcUrl} (chain id ${foundry.id}); CreditPool ${deployment.creditPool}
  Venice sim ${simUrl}/api/v1
  API server ${serverUrl}  (OpenAI base URL: ${serverUrl}/v1)
  web app    ${webUrl ?? '(not started: --no-web)'}${webUrl ? '  (add the Anvil network, chain id 31337 at ' + anvil.rpcUrl + ', to your wallet and import an Anvil dev key: it holds 1,000 test-USDC)' : ''}
  E2EE       the simulator's enclaves are attested under a test PKI, not Intel's: the web app
             refuses them, as it must for anything Intel did not sign. To chat locally, pick a
             model labelled "the operator can read this".
Press Ctrl-C to stop.`);
}

main().catch(async (error) => {
  console.error('[start] failed:', error);
  await stopAll(1);
});
