/**
 * Fixtures for the CLI's tests: the `zkcredits` bin run as a child process with a temporary
 * `--home`, a snapshot of a home (to show nothing changed), and a tiny fake zkcredits server (its
 * config route and a JSON-RPC endpoint) for servers and chains other than the ones chosen.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CREDIT_VK_SHA256 } from '@zkcredits/core';

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(PACKAGE, 'bin', 'zkcredits.mjs');
/** The CRS the tests use (`../shared/crs` beside the repository). */
export const CRS = resolve(PACKAGE, '../../../shared/crs');

export type CliResult = { code: number; stdout: string; stderr: string; json: unknown };

/** An environment without ambient settings: no keychain (no D-Bus), the test CRS, the given extras. */
export function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ZKC_') && !k.startsWith('DBUS_')) env[k] = v;
  env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/zkcredits-test-bus';
  env.ZKC_CRS_PATH = CRS;
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `zkcredits <args>`; the last stdout line is parsed as JSON when it is. */
export function runCli(args: string[], options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 110_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let json: unknown;
      try {
        json = JSON.parse(last);
      } catch {
        json = undefined;
      }
      resolvePromise({ code: code ?? -1, stdout, stderr, json });
    });
    child.stdin.end(options.input ?? '');
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `zkc-cli-${prefix}-`));
}

/** Every file under `dir` (recursively): its mode and the SHA-256 of its bytes; directories by mode. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    out[`${d}/`] = ((await stat(d)).mode & 0o777).toString(8);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[p] = `${((await stat(p)).mode & 0o777).toString(8)} ${createHash('sha256').update(await readFile(p)).digest('hex')}`;
    }
  }
  await walk(dir);
  return out;
}

/** Every file under `dir` with its mode and contents. */
export async function filesUnder(dir: string): Promise<{ path: string; mode: number; text: string }[]> {
  const out: { path: string; mode: number; text: string }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.push({ path: p, mode: (await stat(p)).mode & 0o777, text: (await readFile(p)).toString('latin1') });
  }
  return out;
}

export const FAKE_CHAIN_ID = 31337;
export const FAKE_CONTRACT = `0x${'ab'.repeat(20)}`;

export type FakeServer = { url: string; rpcUrl: string; config: Record<string, unknown>; rpcChainId: number; close(): Promise<void> };

/** A zkcredits server in name only: `/v1/zkcredits/config` (editable), `/v1/models`, and `/rpc` answering `eth_chainId`. */
export async function startFakeServer(): Promise<FakeServer> {
  const fake: FakeServer = {
    url: '',
    rpcUrl: '',
    rpcChainId: FAKE_CHAIN_ID,
    config: {
      protocol_version: 1,
      chain_id: FAKE_CHAIN_ID,
      contract: FAKE_CONTRACT,
      confirmations: 0,
      tree_depth: 20,
      verification_key_sha256: CREDIT_VK_SHA256,
      models: [{ id: 'plain-model', max_tokens_per_credit: 64 }],
    },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method === 'POST' && path === '/rpc') {
        const call = JSON.parse(Buffer.concat(chunks).toString()) as { id: number; method: string };
        if (call.method === 'eth_chainId') return json(200, { jsonrpc: '2.0', id: call.id, result: `0x${fake.rpcChainId.toString(16)}` });
        return json(200, { jsonrpc: '2.0', id: call.id, error: { code: -32601, message: 'not here' } });
      }
      if (path === '/v1/zkcredits/config') return json(200, fake.config);
      if (path === '/v1/models') return json(200, { object: 'list', data: [{ id: 'plain-model', object: 'model', zkcredits: { e2ee: false } }] });
      json(404, { error: { message: 'no', type: 'not_found_error', code: 'not_found', param: null } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.rpcUrl = `${fake.url}/rpc`;
  fake.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return fake;
}
