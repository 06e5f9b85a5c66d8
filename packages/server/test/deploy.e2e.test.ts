// The deploy command (`npm run deploy`, scripts/deploy.ts) run as an operator runs it, against a real
// Anvil: a 6-decimal token with permit and an 18-decimal token without, the price in token units, the
// manifest it writes, then a server started from nothing but that manifest answering a proof-paid call.
// Also: the open-mint test token is refused off chain 31337, by the command and by the forge script.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createWalletClient, getAddress, http, parseUnits, type Abi, type Address, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import {
  CHAT_PATH,
  MerkleTree,
  applyPurchases,
  buildSpendWitness,
  buyCredits,
  credentialCommitment,
  encodeProofPayload,
  fetchPurchases,
  generateCredential,
  initPoseidon2,
  isZkCreditsError,
  requestHash,
  waitForReceipt,
  type DeploymentManifest,
} from '@zkcredits/core';
import { ANVIL_KEYS, createNodeProver, deployContracts, readDeploymentManifest, startAnvil, verifyDeployment, type Anvil } from '@zkcredits/core/node';
import { createVeniceSim, type VeniceSim } from '@zkcredits/venice-sim';
import { createLogger, loadConfig, startServer } from '../src/index.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SIM_KEY = 'deploy-test-venice-key';
const MODEL = 'llama-3.3-70b';
const OWNER = privateKeyToAccount(ANVIL_KEYS[0]).address;
const TREASURY = privateKeyToAccount(ANVIL_KEYS[3]).address;

type RunResult = { code: number | null; stdout: string; stderr: string };

/** Runs the deploy command exactly as `npm run deploy -- …` does (after its install and build steps). */
function deployCommand(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/deploy.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DEPLOYER_PRIVATE_KEY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

function artifact(file: string, name: string): { abi: Abi; bytecode: Hex } {
  const json = JSON.parse(readFileSync(join(REPO_ROOT, 'contracts/out', file, `${name}.json`), 'utf8')) as { abi: Abi; bytecode: { object: Hex } };
  return { abi: json.abi, bytecode: json.bytecode.object };
}

let anvil: Anvil;
let client: PublicClient;
let sim: VeniceSim;
let outDir: string;
const wallet = (i: number) => createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_KEYS[i]!), transport: http(anvil.rpcUrl), pollingInterval: 50 });

async function deployToken(file: string, name: string): Promise<Address> {
  const { abi, bytecode } = artifact(file, name);
  const hash = await wallet(0).deployContract({ abi, bytecode });
  const receipt = await waitForReceipt(client, { hash });
  return getAddress(receipt.contractAddress!);
}

async function mint(token: Address, to: Address, amount: bigint): Promise<void> {
  const { abi } = artifact('PlainToken.sol', 'PlainToken');
  await waitForReceipt(client, { hash: await wallet(0).writeContract({ address: token, abi, functionName: 'mint', args: [to, amount] }) });
}

function manifestPath(result: RunResult): string {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const line = result.stdout.split('\n').find((l) => l.startsWith('{"event":"deployed"'));
  return (JSON.parse(line!) as { manifest: string }).manifest;
}

/** A server from nothing but the manifest (plus the RPC, the upstream and the models), then one proof-paid call. */
async function proofPaidCallFromManifest(file: string, buyer: number, permit: boolean): Promise<{ status: number; content: string }> {
  const m = readDeploymentManifest(file);
  const config = loadConfig({
    ZKC_DEPLOYMENT: file,
    ZKC_RPC_URL: anvil.rpcUrl,
    ZKC_HOST: '127.0.0.1',
    ZKC_PORT: '0',
    ZKC_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'zkc-deploy-db-')), 'db.sqlite'),
    ZKC_POLL_INTERVAL_MS: '100',
    ZKC_UPSTREAM_URL: sim.apiBaseUrl,
    ZKC_UPSTREAM_API_KEY: SIM_KEY,
    ZKC_MODELS: `${MODEL}:64`,
    ZKC_LOG_LEVEL: 'silent',
  });
  expect(config.chain.confirmations).toBe(0); // chain 31337: purchases count at once
  const server = await startServer(config, createLogger({ level: 'silent' }));
  const prover = await createNodeProver();
  try {
    const credential = generateCredential();
    const w = wallet(buyer);
    await mint(m.token.address, w.account.address, m.pricePerCredit * 10n);
    const bought = await buyCredits({ publicClient: client, walletClient: w, pool: m.creditPool, commitments: [credentialCommitment(credential)], permit });
    expect(bought.amountPaid).toBe(m.pricePerCredit);

    const tree = new MerkleTree();
    applyPurchases(tree, await fetchPurchases({ client, address: m.creditPool, fromBlock: m.deploymentBlock, toBlock: await client.getBlockNumber({ cacheTime: 0 }) }));
    while (server.indexer.status.leafCount < tree.size) await new Promise((r) => setTimeout(r, 50));

    const body = { model: MODEL, messages: [{ role: 'user', content: 'hello from a fresh deployment' }], max_tokens: 16 };
    const rh = requestHash({ chainId: m.chainId, contract: m.creditPool, method: 'POST', path: CHAT_PATH, body });
    const proof = encodeProofPayload(await prover.prove(buildSpendWitness(credential, tree, rh)));
    const res = await fetch(`${server.url}${CHAT_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, zkcredits: proof }),
    });
    const json = (await res.json()) as { choices?: { message: { content: string } }[] };
    return { status: res.status, content: json.choices?.[0]?.message.content ?? '' };
  } finally {
    await prover.destroy();
    await server.stop();
  }
}

beforeAll(async () => {
  await initPoseidon2();
  anvil = await startAnvil();
  client = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 }) as PublicClient;
  sim = await createVeniceSim({ apiKey: SIM_KEY });
  outDir = mkdtempSync(join(tmpdir(), 'zkc-deployments-'));
});

afterAll(async () => {
  await sim?.close();
  await anvil?.stop();
});

describe('npm run deploy', () => {
  let usdcLike: DeploymentManifest;

  it('deploys for a 6-decimal permit token with the price in token units, writes the manifest, and a server started from it serves a proof-paid call', async () => {
    const token = await deployToken('TestToken.sol', 'TestToken');
    const result = await deployCommand(
      ['--chain', 'anvil', '--rpc-url', anvil.rpcUrl, '--token', token, '--price', '0.05', '--owner', OWNER, '--treasury', TREASURY, '--out', outDir],
      { DEPLOYER_PRIVATE_KEY: ANVIL_KEYS[0] },
    );
    const file = manifestPath(result);
    usdcLike = readDeploymentManifest(file);
    expect(file).toBe(join(outDir, `31337-${usdcLike.creditPool}.json`));
    expect(usdcLike.token).toEqual({ address: token, symbol: 'tUSD', decimals: 6, permit: true });
    expect(usdcLike.pricePerCredit).toBe(50_000n);
    expect(usdcLike.owner).toBe(OWNER);
    expect(usdcLike.treasury).toBe(TREASURY);
    expect(usdcLike.deploymentBlockHash).toBe((await client.getBlock({ blockNumber: usdcLike.deploymentBlock })).hash);
    expect(result.stdout).toMatch(/deployed bytecode and state match the build/);

    const call = await proofPaidCallFromManifest(file, 1, true);
    expect(call.status).toBe(200);
    expect(call.content.length).toBeGreaterThan(0);
  });

  it('deploys for an 18-decimal token without permit, signing with a Foundry keystore, and serves a proof-paid call', async () => {
    const token = await deployToken('PlainToken.sol', 'PlainToken');
    const dir = mkdtempSync(join(tmpdir(), 'zkc-keystore-'));
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
    const cast = join(REPO_ROOT, 'node_modules/@foundry-rs/cast-linux-amd64/bin/cast');
    const created = await new Promise<string>((done, fail) =>
      execFile(cast, ['wallet', 'new', dir, '--unsafe-password', 'correct horse battery staple'], (e, out) => (e ? fail(e) : done(`${out}`))),
    );
    const keystore = /keystore file: (\S+)/.exec(created)![1]!;
    const deployer = /Address:\s+(0x[0-9a-fA-F]{40})/.exec(created)![1]! as Address;
    await client.request({ method: 'anvil_setBalance' as never, params: [deployer, '0x56BC75E2D63100000'] as never }); // 100 ETH for gas

    const result = await deployCommand([
      '--chain', 'anvil', '--rpc-url', anvil.rpcUrl, '--token', token, '--price', '0.05', '--owner', OWNER, '--treasury', TREASURY,
      '--out', outDir, '--keystore', keystore, '--password-file', passwordFile,
    ]);
    const m = readDeploymentManifest(manifestPath(result));
    expect(m.token).toEqual({ address: token, symbol: 'PLAIN', decimals: 18, permit: false });
    expect(m.pricePerCredit).toBe(parseUnits('0.05', 18));
    expect(m.deployer).toBe(deployer);
    expect(m.creditPool).not.toBe(usdcLike.creditPool); // two deployments on one chain, two manifests

    const call = await proofPaidCallFromManifest(join(outDir, `31337-${m.creditPool}.json`), 2, false);
    expect(call.status).toBe(200);
  });

  it('refuses a price finer than the token, a key on the command line, and a missing key, before sending anything', async () => {
    const base = ['--chain', 'anvil', '--rpc-url', anvil.rpcUrl, '--token', usdcLike.token.address, '--owner', OWNER, '--treasury', TREASURY, '--out', outDir];
    const fine = await deployCommand([...base, '--price', '0.0000001'], { DEPLOYER_PRIVATE_KEY: ANVIL_KEYS[0] });
    expect(fine.code).toBe(2);
    expect(fine.stderr).toMatch(/more decimals than the token \(6\)/);
    const argvKey = await deployCommand([...base, '--price', '1', '--private-key', ANVIL_KEYS[0]]);
    expect(argvKey.code).toBe(2);
    expect(argvKey.stderr).toMatch(/shell history/);
    expect(argvKey.stderr).not.toContain(ANVIL_KEYS[0].slice(2));
    const noKey = await deployCommand([...base, '--price', '1']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/no deploy key/);
  });

  it('finds a contract that is not this CreditPool build when checking a deployment', async () => {
    const error = await verifyDeployment(client, usdcLike.token.address, {
      token: usdcLike.token.address,
      pricePerCredit: 1n,
      owner: OWNER,
      treasury: OWNER,
      deploymentBlock: 0n,
    }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'contract_error')).toBe(true);
    expect((error as Error).message).toMatch(/not this build|differs from this build/);
  });
});

describe('the open-mint test token off the local chain', () => {
  let other: Anvil;
  beforeAll(async () => {
    other = await startAnvil({ chainId: 84532 });
  });
  afterAll(async () => {
    await other?.stop();
  });

  it('is refused by the deploy command when the chain id is not 31337', async () => {
    const result = await deployCommand(
      ['--chain', 'base-sepolia', '--rpc-url', other.rpcUrl, '--token', 'test', '--price', '0.05', '--owner', OWNER, '--treasury', OWNER, '--out', outDir],
      { DEPLOYER_PRIVATE_KEY: ANVIL_KEYS[0] },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/test token has an open mint and is refused on chain 84532/);
    expect(await createPublicClient({ transport: http(other.rpcUrl) }).getBlockNumber()).toBe(0n); // nothing was sent
  });

  it('is refused by the forge script itself when the chain id is not 31337', async () => {
    const error = await deployContracts({ rpcUrl: other.rpcUrl, privateKey: ANVIL_KEYS[0], pricePerCredit: 1n, owner: OWNER, treasury: OWNER }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'contract_error')).toBe(true);
    expect((error as Error).message).toMatch(/script failed: TestTokenOnlyOnLocalChain\(84532/);
  });

  it('is refused when the preset does not match the RPC\'s chain', async () => {
    const result = await deployCommand(
      ['--chain', 'base', '--rpc-url', other.rpcUrl, '--token', TREASURY, '--price', '1', '--owner', OWNER, '--treasury', OWNER],
      { DEPLOYER_PRIVATE_KEY: ANVIL_KEYS[0] },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/RPC is on chain 84532, not Base \(8453\)/);
  });
});
