// Benchmarks of the CLI (packages/cli), on one real stack: Anvil + forge-deployed CreditPool, the
// server (API-key mode on, as the test stack has it), the Venice simulator as upstream (no added
// latency), native bb proofs on both sides (the server's prover pool and the client's).
//   proxy_overhead_ms         median over 9 rounds of (proxy_call − direct_api_key_call) for the
//                             same non-streamed chat body (max_tokens 16, a fresh prompt per round):
//   proxy_call_ms               POST /v1/chat/completions to the local proxy (`startProxy`, as
//                               `zkcredits serve` runs it) with its bearer token: the SDK checks for
//                               new leaves, reserves a credit, builds the witness, proves it here
//                               (native, warm), sends it; the server verifies, forwards, commits
//   direct_api_key_call_ms      the same body straight to the server with `Authorization: Bearer
//                               zkc1…` (API-key mode): the server reserves the credit, proves it
//                               itself (native, warm), forwards, commits
//                             Both sides pay with one proof each, so the difference is what the
//                             proxy and keeping the credential on this machine add: the local hop,
//                             the SDK's leaf check and witness, the server's verification. Each
//                             median is of the calls' own wall times (answer body read); the
//                             overhead is the median of the per-round differences. One warm-up of
//                             each first (prover start, config and model checks); direct and proxy
//                             alternate which goes first.
//   cli_cold_first_answer_ms  `zkcredits chat -m "<prompt>"` (human mode, so the answer streams to
//                             stdout) as a fresh process on a home initialised and funded
//                             beforehand (not timed): from spawn to the first byte on stdout. That
//                             includes node start, tsx, vault unlock (PBKDF2) under the lock,
//                             config and chain checks, the leaf sync, CRS and prover load, the
//                             proof and the call. Median of 3 (no warm-up: each run is cold).
//   cli_cold_exit_ms          the same runs, from spawn to the process's exit (answer written,
//                             credit marked spent, prover and vault closed)
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeCredential, type Credential } from '../packages/core/src/index.js';
import { ANVIL_KEYS } from '../packages/core/src/node/index.js';
import { BIN, cliEnv, runCli, tempDir } from '../packages/cli/test/cli-helpers.js';
import { MODEL, fundedWallet, proxyFor, servedStack } from '../packages/cli/test/serve-helpers.js';
import { median } from './util.js';

const ROUNDS = 9;
const COLD_RUNS = 3;
const PASSPHRASE = 'bench home passphrase';
const PROXY_WALLET = 2;
const CLI_WALLET = 3;

/** One non-streamed chat call; its wall time with the answer read, and the answer checked. */
async function call(url: string, bearer: string, prompt: string): Promise<number> {
  const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: prompt }], max_tokens: 16 });
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`chat call to ${url} failed with ${res.status}: ${text.slice(0, 300)}`);
  const answer = (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '';
  if (!answer.includes(prompt.slice(0, 10))) throw new Error(`unexpected answer from ${url}: ${text.slice(0, 300)}`);
  return ms;
}

/** `zkcredits chat -m` as a fresh process: ms to the first stdout byte and to exit. */
function coldChat(home: string, prompt: string): Promise<{ firstByteMs: number; exitMs: number }> {
  return new Promise((resolve, reject) => {
    const env = cliEnv({ ZKC_PASSPHRASE: PASSPHRASE });
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, '--home', home, 'chat', '-m', prompt], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstByteMs: number | undefined;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      firstByteMs ??= performance.now() - t0;
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      const exitMs = performance.now() - t0;
      clearTimeout(timer);
      if (code !== 0 || firstByteMs === undefined) return reject(new Error(`zkcredits chat exited ${code}: ${stderr.slice(-500)}`));
      if (!stdout.includes(prompt.slice(0, 10))) return reject(new Error(`zkcredits chat answered something else: ${stdout.slice(0, 300)}`));
      resolve({ firstByteMs, exitMs });
    });
  });
}

export async function benchCli(): Promise<Record<string, number>> {
  const env = await servedStack();
  const { stack } = env;
  const home = join(await tempDir('bench'), 'home');
  let proxy: Awaited<ReturnType<typeof proxyFor>>['proxy'] | undefined;
  try {
    if (stack.pools.backend !== 'native') throw new Error(`the server proves with ${stack.pools.backend}, not native bb`);
    // Not timed: credentials for API-key calls, credits for the proxy's client, a funded CLI home.
    const keys: Credential[] = await stack.buyCredits(ROUNDS + 1);
    // (Leaf counts read before each purchase: the server may index it before the buyer returns.)
    let leaves = stack.server.indexer.status.leafCount;
    await env.client.buy(ROUNDS + 1, { walletClient: await fundedWallet(stack, PROXY_WALLET), permit: true });
    await stack.waitIndexed(leaves + ROUNDS + 1);
    await env.client.sync();
    await fundedWallet(stack, CLI_WALLET);
    const cli = async (args: string[], extra: Record<string, string> = {}) => {
      const r = await runCli(['--home', home, '--json', ...args], { env: { ZKC_PASSPHRASE: PASSPHRASE, ...extra } });
      if (r.code !== 0) throw new Error(`zkcredits ${args[0]} exited ${r.code}: ${r.stderr.slice(-500)}`);
    };
    await cli(['init', '--server', stack.url, '--rpc', stack.chain.rpcUrl, '--no-keychain', '--model', MODEL]);
    leaves = stack.server.indexer.status.leafCount;
    await cli(['buy', String(COLD_RUNS), '--permit'], { ZKC_WALLET_KEY: ANVIL_KEYS[CLI_WALLET]! });
    await stack.waitIndexed(leaves + COLD_RUNS);
    const fx = await proxyFor(env.client);
    proxy = fx.proxy;

    const proxyUrl = `${fx.proxy.baseUrl}/chat/completions`;
    const directUrl = `${stack.url}/v1/chat/completions`;
    await call(directUrl, encodeCredential(keys[ROUNDS]!), 'warm-up direct call');
    await call(proxyUrl, fx.token, 'warm-up proxy call');
    const viaProxy: number[] = [];
    const direct: number[] = [];
    const diffs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const prompt = `benchmark round ${i}: how long does this take?`;
      let d: number;
      let p: number;
      if (i % 2 === 0) {
        d = await call(directUrl, encodeCredential(keys[i]!), prompt);
        p = await call(proxyUrl, fx.token, prompt);
      } else {
        p = await call(proxyUrl, fx.token, prompt);
        d = await call(directUrl, encodeCredential(keys[i]!), prompt);
      }
      viaProxy.push(p);
      direct.push(d);
      diffs.push(p - d);
    }
    await fx.proxy.close();
    proxy = undefined;

    const firstByte: number[] = [];
    const exit: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      const run = await coldChat(home, `cold start ${i}: hello from a fresh process`);
      firstByte.push(run.firstByteMs);
      exit.push(run.exitMs);
    }
    return {
      proxy_overhead_ms: median(diffs),
      proxy_call_ms: median(viaProxy),
      direct_api_key_call_ms: median(direct),
      cli_cold_first_answer_ms: median(firstByte),
      cli_cold_exit_ms: median(exit),
    };
  } finally {
    await proxy?.close();
    await env.stop();
    await rm(join(home, '..'), { recursive: true, force: true });
  }
}
