// The published packages, as a user gets them: `npm run pack` builds core, attest, client (and
// cli once it has sources) to JavaScript + `.d.ts` and packs them; the tarballs are installed into
// a scratch project with npm (third-party dependencies from the registry or npm's cache), and plain
// `node` (no tsx, no TypeScript anywhere) makes proof-paid calls against a real stack (Anvil +
// CreditPool, server, simulator): once with core alone (sync, prove, pay by hand), once with
// `ZkCreditsClient` (buy, sync, `zk.fetch`). It lives in the server's suite for the stack helpers.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encodeCredential } from '@zkcredits/core';
import { ANVIL_KEYS, resolveCrsPath } from '@zkcredits/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, errorOf, MODEL, startStack, type Stack } from './helpers/stack.js';

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A call with core alone: check the server, sync the leaves, prove (native bb), pay, print the answer. */
const CORE_CALL_SCRIPT = String.raw`
import { CHAT_PATH, CREDIT_VK_SHA256, MerkleTree, buildSpendWitness, bytesToBigInt, decodeCredential, encodeProofPayload, initPoseidon2, requestHash, toFieldHex } from '@zkcredits/core';
import { createNodeProver } from '@zkcredits/core/node';
import { decryptField, encryptField, generateKeyPair } from '@zkcredits/attest/e2ee';

const [server, chainId, contract, crsPath, prompt] = process.argv.slice(2);
const credential = decodeCredential(process.env.ZKC_CREDENTIAL);
const keys = generateKeyPair();
if (decryptField(encryptField(prompt, keys.publicKeyHex), keys.secretKey) !== prompt) throw new Error('E2EE codec round trip failed');

const config = await (await fetch(server + '/v1/zkcredits/config')).json();
if (config.chain_id !== Number(chainId) || config.contract.toLowerCase() !== contract.toLowerCase()) throw new Error('server is on another deployment');
if (config.verification_key_sha256 !== CREDIT_VK_SHA256) throw new Error('server has another verification key');

await initPoseidon2();
const tree = new MerkleTree();
let root;
for (;;) {
  const page = await (await fetch(server + '/v1/zkcredits/leaves?from=' + tree.size)).json();
  const bytes = Buffer.from(page.leaves, 'base64');
  for (let i = 0; i < page.count; i++) tree.insert(bytesToBigInt(bytes.subarray(i * 32, i * 32 + 32)));
  root = page.root;
  if (tree.size >= page.total) break;
}
if (toFieldHex(tree.root) !== root) throw new Error('synced leaves do not give the server root');

const body = { model: config.models[0].id, messages: [{ role: 'user', content: prompt }], max_tokens: 16 };
const rh = requestHash({ chainId: Number(chainId), contract, method: 'POST', path: CHAT_PATH, body });
const prover = await createNodeProver({ backend: 'native', crsPath });
const proof = await prover.prove(buildSpendWitness(credential, tree, rh));
await prover.destroy();

const res = await fetch(server + CHAT_PATH, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ ...body, zkcredits: encodeProofPayload(proof) }),
});
const json = await res.json();
if (res.status !== 200) throw new Error('HTTP ' + res.status + ': ' + JSON.stringify(json));
console.log(JSON.stringify({ leaves: tree.size, answer: json.choices[0].message.content }));
`;

/**
 * The same with the SDK: `ZkCreditsClient` checks the server, buys one credit from a wallet (a
 * permit) and pays one chat call through `zk.fetch` once the server has indexed the purchase.
 * Prints the answer, the balance and the paid request's body (the test replays it).
 */
const CLIENT_CALL_SCRIPT = String.raw`
import { MemoryCreditStore, ZkCreditsClient } from '@zkcredits/client';
import { nodeProver } from '@zkcredits/client/node';
import { testTokenAbi, waitForReceipt } from '@zkcredits/core';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

const [server, rpcUrl, chainId, contract, token, crsPath, model, prompt] = process.argv.slice(2);
const paid = [];
const zk = new ZkCreditsClient({
  server,
  store: new MemoryCreditStore(),
  prover: nodeProver({ crsPath, backend: 'native' }),
  chain: { rpcUrl },
  expect: { chainId: Number(chainId), contract },
  paidFetch: (input, init) => (paid.push(init.body), fetch(input, init)),
});
await zk.checkServer();

const wallet = createWalletClient({ chain: foundry, account: privateKeyToAccount(process.env.ZKC_WALLET_KEY), transport: http(rpcUrl) });
await waitForReceipt(zk.publicClient, {
  hash: await wallet.writeContract({ address: token, abi: testTokenAbi, functionName: 'mint', args: [wallet.account.address, 10n ** 24n] }),
});
await zk.buy(1, { walletClient: wallet, permit: true });

// Until the server has indexed the purchase, zk.fetch answers 503 credits_not_synced (retryable;
// the OpenAI SDK retries it by itself): retry as it would.
let res;
for (let i = 0; ; i++) {
  res = await zk.fetch(server + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 16 }),
  });
  if (res.status !== 503 || i >= 100) break;
  await res.body?.cancel();
  await new Promise((r) => setTimeout(r, 100));
}
const json = await res.json();
if (res.status !== 200) throw new Error('HTTP ' + res.status + ': ' + JSON.stringify(json));
console.log(JSON.stringify({ answer: json.choices[0].message.content, balance: await zk.balance(), paid }));
await zk.close();
`;

type Manifest = { name: string; exports: Record<string, { types: string; import: string; default: string }> };

/** The environment of a plain node run: no loader or option from vitest or tsx. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

describe('published packages (npm pack → npm install → plain node)', () => {
  let s: Stack;
  let work: string;
  let scratch: string;
  let tarballs: string[];
  const installed = (name: string) => join(scratch, 'node_modules', name);
  const manifest = (name: string) => JSON.parse(readFileSync(join(installed(name), 'package.json'), 'utf8')) as Manifest;
  /** `core`, `attest`, … from the tarballs' file names. */
  const packedNames = () => tarballs.map((t) => t.replace(/^.*\/zkcredits-(.+)-\d+\.\d+\.\d+\.tgz$/, '$1'));
  /** Every import specifier the installed packages export: `@zkcredits/core`, `@zkcredits/core/node`, … */
  const exportSpecifiers = () =>
    packedNames().flatMap((n) => Object.keys(manifest(`@zkcredits/${n}`).exports).map((sub) => (sub === '.' ? `@zkcredits/${n}` : `@zkcredits/${n}/${sub.slice(2)}`)));

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'zkc-pack-'));
    scratch = join(work, 'scratch');
    const packAndInstall = async () => {
      let t = Date.now();
      const { stdout } = await run('npm', ['run', '--silent', 'pack', '--', '--out', join(work, 'out')], { cwd: repoRoot, env: plainEnv() });
      console.log(`${stdout.trim()}\npack: built and packed in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      tarballs = [...stdout.matchAll(/→ (\S+\.tgz)/g)].map((m) => resolve(repoRoot, m[1]!));
      t = Date.now();
      mkdirSync(scratch, { recursive: true });
      writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
      // viem: the wallet of the SDK script (the version the client depends on).
      const viem = `viem@${(JSON.parse(readFileSync(join(repoRoot, 'packages/client/package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.viem}`;
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs, viem], { cwd: scratch, env: plainEnv() });
      console.log(`pack: npm install of ${tarballs.length} tarballs in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    };
    // The stack starts while tsc and npm work.
    [s] = await Promise.all([startStack('sqlite'), packAndInstall()]);
  }, 300_000);
  afterAll(async () => {
    await s?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs core, attest and client as JavaScript with a .d.ts for every export, without test-only code', async () => {
    const names = packedNames();
    expect(names).toEqual(expect.arrayContaining(['core', 'attest', 'client']));
    for (const tarball of tarballs) {
      const files = (await run('tar', ['tzf', tarball])).stdout.trim().split('\n');
      expect(files).toContain('package/package.json');
      // JavaScript and declarations only: no TypeScript sources, tests or test helpers.
      expect(files.filter((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f))).toEqual([]);
      expect(files.filter((f) => /(^|\/)(test|testing)(\/|$)|\.test\./.test(f))).toEqual([]);
    }
    expect(manifest('@zkcredits/core').exports).toEqual(
      expect.objectContaining({ '.': expect.anything(), './prover': expect.anything(), './node': expect.anything(), './errors': expect.anything() }),
    );
    expect(Object.keys(manifest('@zkcredits/attest').exports).sort()).toEqual(['.', './e2ee']);
    for (const name of names) {
      const m = manifest(`@zkcredits/${name}`);
      expect(m).toMatchObject({ type: 'module' });
      expect(m).not.toHaveProperty('private');
      for (const target of Object.values(m.exports)) {
        expect(target.types).toMatch(/\.d\.ts$/);
        expect(existsSync(join(installed(m.name), target.types)), `${m.name} ${target.types}`).toBe(true);
        expect(existsSync(join(installed(m.name), target.import)), `${m.name} ${target.import}`).toBe(true);
      }
    }
    // The packages' dependencies on each other are the packed ones, not copies from the registry.
    for (const name of names) expect(existsSync(join(installed(`@zkcredits/${name}`), 'node_modules/@zkcredits')), name).toBe(false);
  });

  it('loads every export with plain node as an ES module, runs every bin, and keeps @zkcredits/attest/testing unexported', async () => {
    const specifiers = exportSpecifiers();
    const code = `const out = {};\n${specifiers.map((x, i) => `import * as m${i} from '${x}'; out['${x}'] = Object.keys(m${i}).length;`).join('\n')}\nconsole.log(JSON.stringify(out));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: scratch, env: plainEnv() });
    const counts = JSON.parse(stdout) as Record<string, number>;
    expect(Object.keys(counts).sort()).toEqual([...specifiers].sort());
    for (const [specifier, n] of Object.entries(counts)) expect(n, specifier).toBeGreaterThan(0);

    // Every command a package installs (the cli's `zkcredits`) starts from node_modules/.bin.
    for (const name of packedNames()) {
      const { bin = {} } = manifest(`@zkcredits/${name}`) as Manifest & { bin?: Record<string, string> };
      for (const command of Object.keys(bin)) {
        await run(join(scratch, 'node_modules/.bin', command), ['--help'], { cwd: scratch, env: plainEnv() });
      }
    }

    const testing = run(process.execPath, ['--input-type=module', '-e', "await import('@zkcredits/attest/testing')"], { cwd: scratch, env: plainEnv() });
    await expect(testing).rejects.toMatchObject({ stderr: expect.stringContaining('ERR_PACKAGE_PATH_NOT_EXPORTED') });
  });

  it('type-checks a strict TypeScript consumer against the published declarations', async () => {
    const specifiers = exportSpecifiers();
    writeFileSync(
      join(scratch, 'consumer.ts'),
      [
        ...specifiers.map((x, i) => `import * as m${i} from '${x}';`),
        `import { MerkleTree, type Credential } from '@zkcredits/core';`,
        `import type { CreditProver } from '@zkcredits/core/prover';`,
        `export const size: number = new MerkleTree().size;`,
        `export type Uses = [Credential, CreditProver];`,
        `export const all = [${specifiers.map((_, i) => `m${i}`).join(', ')}];`,
      ].join('\n'),
    );
    // noImplicitAny (strict) turns a module without declarations into an error (TS7016).
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'consumer.ts'];
    await run(process.execPath, [tsc, ...args], { cwd: scratch, env: plainEnv() }).catch((err: { stdout: string }) => {
      throw new Error(`tsc in the scratch project:\n${err.stdout}`);
    });
  });

  it('makes a proof-paid call from plain node with the installed packages, and the credit is then spent', async () => {
    const [credential] = await s.buyCredits(1);
    writeFileSync(join(scratch, 'core-call.mjs'), CORE_CALL_SCRIPT);
    const crsPath = resolveCrsPath();
    expect(crsPath, 'the CRS (../shared/crs or $ZKCREDITS_CRS_PATH)').toBeDefined();
    const t = Date.now();
    const { stdout } = await run(process.execPath, ['core-call.mjs', s.url, String(s.chain.chainId), s.chain.pool, crsPath!, 'paid from plain node'], {
      cwd: scratch,
      env: plainEnv({ ZKC_CREDENTIAL: encodeCredential(credential!) }),
    });
    console.log(`pack: plain-node call (sync, native proof, paid request) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { leaves: number; answer: string };
    expect(out.leaves).toBe(s.tree.size);
    expect(out.answer).toContain('paid from plain node');
    expect(s.sim.state.lastRequest!.body).toMatchObject({ model: MODEL });

    const body = chatBody('again');
    const again = await s.post({ ...body, zkcredits: await s.prove(credential!, body) });
    expect(await errorOf(again)).toMatchObject({ status: 402, code: 'credit_spent' });
  });

  it('buys a credit and pays a call through ZkCreditsClient and zk.fetch from plain node', async () => {
    writeFileSync(join(scratch, 'client-call.mjs'), CLIENT_CALL_SCRIPT);
    const t = Date.now();
    const args = [s.url, s.chain.rpcUrl, String(s.chain.chainId), s.chain.pool, s.chain.token, resolveCrsPath()!, MODEL, 'paid through zk.fetch'];
    const { stdout } = await run(process.execPath, ['client-call.mjs', ...args], { cwd: scratch, env: plainEnv({ ZKC_WALLET_KEY: ANVIL_KEYS[3] }) });
    console.log(`pack: plain-node SDK call (buy, sync, native proof, paid request) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { answer: string; balance: Record<string, number>; paid: string[] };
    expect(out.answer).toContain('paid through zk.fetch');
    expect(out.balance).toMatchObject({ pending: 0, unspent: 0, spent: 1 });
    expect(out.paid).toHaveLength(1);
    // The paid request again, byte for byte: the credit is spent.
    expect(await errorOf(await s.post(out.paid[0]!))).toMatchObject({ status: 402, code: 'credit_spent' });
  });
});
