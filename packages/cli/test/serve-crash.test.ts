// kill -9 of `zkcredits serve` mid-request, then a restart: no credit lost, none counted twice.
// The real command runs as a child process with a temporary home (its file vault, its writer
// lock); a gate between it and the zkcredits server records what the server was sent and
// answered, and can hold a paid request so the server never gets it. Three crashes:
//   1. mid-stream: the server had answered 200 → the vault already says spent;
//   2. before the server got the request (held at the gate) → the credit stays unspent and pays
//      the next request;
//   3. after the server forwarded it, before the provider answered → the server counts it spent
//      (PROTOCOL.md, "How a credit travels"); the vault cannot know, and the next call learns it
//      (credit_spent), marks it and pays with another credit.
// Every credit ends spent exactly once; the server accepted no nullifier twice.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, fundedWallet, startClientStack, type Stack } from './serve-helpers.js';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(PACKAGE, 'bin', 'zkcredits.mjs');
const CRS = resolve(PACKAGE, '../../../shared/crs');
const PASSPHRASE = 'a long enough test passphrase';
const WALLET = 3;

type Sent = { nullifier: string; status?: number };

/** An HTTP gate in front of the server: records paid requests, may hold them, passes the rest through; a caller leaving aborts the forwarded call. */
async function startGate(target: string): Promise<{ url: string; sent: Sent[]; held: number; hold: boolean; close(): Promise<void> }> {
  const gate = { url: '', sent: [] as Sent[], held: 0, hold: false, close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      let record: Sent | undefined;
      if (req.method === 'POST' && req.url?.startsWith('/v1/chat/completions')) {
        const proof = (JSON.parse(body.toString()) as { zkcredits?: { nullifier_hash: string } }).zkcredits;
        if (proof) gate.sent.push((record = { nullifier: proof.nullifier_hash }));
        if (proof && gate.hold) return void gate.held++; // never forwarded, never answered
      }
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length', 'accept-encoding'].includes(k)) headers[k] = v;
      const up = await fetch(`${target}${req.url}`, { method: req.method ?? 'GET', headers, ...(body.length ? { body } : {}), signal: controller.signal });
      if (record) record.status = up.status;
      const out: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
      });
      res.writeHead(up.status, out);
      if (up.body) for await (const chunk of up.body) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gate.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return gate;
}

function cliEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ZKC_') && !k.startsWith('DBUS_')) env[k] = v;
  return { ...env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/zkcredits-test-bus', ZKC_HOME: home, ZKC_CRS_PATH: CRS, ZKC_PASSPHRASE: PASSPHRASE, NO_COLOR: '1', ...extra };
}

/** Runs `zkcredits --json <args>` to the end; returns its JSON result. */
function cli(home: string, args: string[], extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, '--json', ...args], { env: cliEnv(home, extra) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`zkcredits ${args[0]} exited ${code}: ${stderr.slice(0, 2000)} ${stdout.slice(0, 2000)}`));
      resolvePromise(JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>);
    });
  });
}

type Serving = { child: ChildProcessWithoutNullStreams; url: string };

/** Starts `zkcredits serve --port 0` and waits for its URL. */
function serve(home: string): Promise<Serving> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, '--json', 'serve', '--port', '0'], { env: cliEnv(home) });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`serve did not start: ${stderr.slice(0, 2000)}`))), 60_000);
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout)?.[1];
      if (url) {
        clearTimeout(timer);
        resolvePromise({ child, url });
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr.slice(0, 2000)}`)));
  });
}

/** kill -9, and wait until the process is gone. */
async function kill9(s: Serving): Promise<void> {
  const gone = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGKILL');
  await gone;
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('zkcredits serve: kill -9 mid-request, then restart', () => {
  let stack: Stack & { stopAll(): Promise<void> };
  let gate: Awaited<ReturnType<typeof startGate>>;
  let home: string;
  let token: string;
  const balance = async () => ((await cli(home, ['balance'])) as { credits: { unspent: number; spent: number; pending: number } }).credits;
  const chat = (s: Serving, content: string, stream = false, signal?: AbortSignal) =>
    fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], stream }),
      ...(signal ? { signal } : {}),
    });

  beforeAll(async () => {
    stack = await startClientStack();
    gate = await startGate(stack.url);
    home = join(await mkdtemp(join(tmpdir(), 'zkc-serve-crash-')), 'home');
    await cli(home, ['init', '--server', gate.url, '--rpc', stack.chain.rpcUrl, '--chain-id', String(stack.chain.chainId), '--contract', stack.chain.pool, '--no-keychain', '--model', MODEL]);
    await fundedWallet(stack, WALLET);
    await cli(home, ['buy', '4', '--permit'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! });
    await stack.waitIndexed(4);
    await cli(home, ['sync']);
    token = (JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as { proxyToken: string }).proxyToken;
  });
  afterAll(async () => {
    await gate?.close();
    await stack?.stopAll();
    if (home) await rm(dirname(home), { recursive: true, force: true });
  });

  it('no credit lost, none counted twice', async () => {
    expect(await balance()).toMatchObject({ unspent: 4, spent: 0, pending: 0 });

    // 1. Mid-stream: the server answered 200 (spent) and the first chunk reached the caller.
    let s = await serve(home);
    stack.sim.faults.always('slow:300');
    const controller = new AbortController();
    const streaming = await chat(s, 'a long answer', true, controller.signal);
    expect(streaming.status).toBe(200);
    const reader = streaming.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await kill9(s);
    controller.abort();
    stack.sim.faults.clear();
    expect(gate.sent.map((x) => x.status)).toEqual([200]);
    expect(await balance()).toMatchObject({ unspent: 3, spent: 1 });

    // 2. Before the server got it: held at the gate, then the proxy dies.
    s = await serve(home);
    gate.hold = true;
    const held = chat(s, 'never reaches the server').catch((e: unknown) => e);
    await until(() => gate.held === 1, 'the gate to hold the paid request');
    await kill9(s);
    await held;
    gate.hold = false;
    const heldNullifier = gate.sent[1]!.nullifier;
    expect(gate.sent[1]!.status).toBeUndefined();
    expect(await balance()).toMatchObject({ unspent: 3, spent: 1 });

    // 3. After the server forwarded it, before the provider answered.
    s = await serve(home);
    const chats = stack.sim.state.chatRequestCount;
    stack.sim.faults.once('hang');
    const hung = chat(s, 'the provider never answers').catch((e: unknown) => e);
    await until(() => stack.sim.state.chatRequestCount > chats, 'the provider to get the request');
    await kill9(s);
    await hung;
    // The credit held at the gate was never seen by the server: it paid this attempt.
    expect(gate.sent[2]!.nullifier).toBe(heldNullifier);
    expect(await balance()).toMatchObject({ unspent: 3, spent: 1 });

    // Restart: two requests are paid, the credit the server counted spent is learnt on the way.
    s = await serve(home);
    try {
      for (const content of ['after the crashes', 'and once more']) {
        const answer = await chat(s, content);
        expect(answer.status).toBe(200);
        expect(((await answer.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toContain(content);
      }
      const none = await chat(s, 'no credit left');
      expect(none.status).toBe(402);
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('no_credits');
    } finally {
      await kill9(s);
    }
    // Server side: the forwarded-then-abandoned credit was refused as spent, never accepted twice;
    // four distinct credits, each accepted (or counted) once.
    const statuses = gate.sent.slice(3).map((x) => x.status);
    expect(statuses).toEqual([402, 200, 200]);
    expect(gate.sent[3]!.nullifier).toBe(heldNullifier);
    const accepted = gate.sent.filter((x) => x.status === 200).map((x) => x.nullifier);
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(new Set([...accepted, heldNullifier]).size).toBe(4);
    // The vault agrees: all four spent, none left, none pending.
    expect(await balance()).toMatchObject({ unspent: 0, spent: 4, pending: 0 });
  });
});
