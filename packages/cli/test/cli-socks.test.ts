// The CLI end to end through a real SOCKS5 server: Debian's microsocks, listening on 127.0.0.1
// with its outgoing connections bound to 127.0.0.2. A recording TCP forwarder stands in front of
// the zkcredits server and one in front of Anvil's RPC; the CLI knows them as `localhost:<port>`
// (a name: the proxy resolves it, remote DNS). `init`, `buy`, `chat`, a `serve` request, `open`
// and an `import` that recovers accounts: every connection either forwarder saw came from
// 127.0.0.2 (the proxy), none from 127.0.0.1 (direct); the answer arrives. With the proxy stopped, the CLI refuses to start (exit 5) and the forwarders
// see nothing.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, startStack, type Stack } from '../../server/test/helpers/stack.js';
import { fundedWallet } from '../../client/test/helpers.js';
import { PROXY_EGRESS, startMicrosocks, type Microsocks } from '../../client/test/network-helpers.js';
import { BIN, cliEnv, runCli, snapshot, tempDir } from './cli-helpers.js';

const PASS = 'socks home passphrase';
const WALLET = 3;

type Forwarder = { port: number; seen: string[]; close(): Promise<void> };

/** A TCP forwarder on 127.0.0.1 to `target`, recording each accepted socket's remote address. */
async function startForwarder(target: { host: string; port: number }): Promise<Forwarder> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => (sockets.add(s), s.on('close', () => sockets.delete(s)), s.on('error', () => s.destroy()));
  const server: Server = createServer((client) => {
    seen.push(client.remoteAddress ?? '');
    track(client);
    const upstream = track(connect(target));
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

describe('zkcredits through a real SOCKS5 proxy (microsocks, egress 127.0.0.2)', () => {
  let stack: Stack;
  let socks: Microsocks;
  let server: Forwarder;
  let rpc: Forwarder;
  let home: string;
  let serverUrl: string;
  let rpcUrl: string;

  beforeAll(async () => {
    stack = await startStack('sqlite');
    await fundedWallet(stack, WALLET);
    socks = await startMicrosocks();
    const s = new URL(stack.url);
    const r = new URL(stack.chain.rpcUrl);
    server = await startForwarder({ host: s.hostname, port: Number(s.port) });
    rpc = await startForwarder({ host: r.hostname, port: Number(r.port) });
    serverUrl = `http://localhost:${server.port}`;
    rpcUrl = `http://localhost:${rpc.port}${r.pathname === '/' ? '' : r.pathname}`;
    home = join(await tempDir('socks'), 'home');
  });

  afterAll(async () => {
    await socks?.stop(); // the microsocks this file started, by its own handle
    await server?.close();
    await rpc?.close();
    await stack?.stop();
  });

  const cli = (args: string[], env: Record<string, string> = {}) => runCli(['--home', home, '--json', ...args], { env: { ZKC_PASSPHRASE: PASS, ...env } });

  /** Connections both forwarders saw since the last call (and forgets them). */
  const drain = () => ({ server: server.seen.splice(0), rpc: rpc.seen.splice(0) });
  const expectAllProxied = (seen: { server: string[]; rpc: string[] }, what: string) => {
    for (const [name, addrs] of Object.entries(seen)) {
      expect(addrs.filter((a) => a !== PROXY_EGRESS), `${what}: direct connections to the ${name}`).toEqual([]);
    }
  };

  it('init, buy, chat and a serve request: every connection to the server and the RPC comes from the proxy', async () => {
    // The control: a direct connection is seen as 127.0.0.1, so the forwarders do tell them apart.
    await (await fetch(`http://127.0.0.1:${server.port}/v1/zkcredits/config`)).arrayBuffer();
    expect(drain()).toEqual({ server: ['127.0.0.1'], rpc: [] });

    const init = await cli(['--socks5', socks.url, 'init', '--server', serverUrl, '--rpc', rpcUrl, '--no-keychain', '--model', MODEL]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.json).toMatchObject({ ok: true, server: serverUrl, chainId: stack.chain.chainId, contract: stack.chain.pool });
    // The setting is saved: later commands use it even without the option.
    expect(JSON.parse(await readFile(join(home, 'config.json'), 'utf8'))).toMatchObject({ socks5: socks.url, rpcUrl });
    let seen = drain();
    expect(seen.server.length, 'init reached the server').toBeGreaterThan(0);
    expect(seen.rpc.length, 'init reached the RPC').toBeGreaterThan(0);
    expectAllProxied(seen, 'init');

    const bought = await cli(['buy', '2', '--permit'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]!, ZKC_SOCKS_PROXY: socks.url });
    expect(bought.code, bought.stderr).toBe(0);
    expect(bought.json).toMatchObject({ ok: true, bought: 2, credits: { unspent: 2, pending: 0 } });
    await stack.waitIndexed(2);
    seen = drain();
    expect(seen.rpc.length, 'buy sent its transaction to the RPC').toBeGreaterThan(0);
    expect(seen.server.length, 'buy checked the server').toBeGreaterThan(0);
    expectAllProxied(seen, 'buy');

    const chat = await cli(['--socks5', socks.url, 'chat', '-m', 'hello through the proxy']);
    expect(chat.code, chat.stderr).toBe(0);
    expect(chat.json).toMatchObject({ ok: true, model: MODEL });
    expect((chat.json as { content: string }).content.length).toBeGreaterThan(0);
    seen = drain();
    expect(seen.server.length, 'chat reached the server').toBeGreaterThan(0);
    expectAllProxied(seen, 'chat');

    // serve: the proxy's paid request goes out through SOCKS too (the setting from the environment).
    const child = spawn(process.execPath, [BIN, '--home', home, '--json', 'serve', '--port', '0'], {
      env: cliEnv({ ZKC_PASSPHRASE: PASS, ZKC_SOCKS_PROXY: socks.url }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      const started = await new Promise<{ baseURL: string }>((resolveStart, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolveStart(JSON.parse(line) as { baseURL: string });
        });
        void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      const token = (JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as { proxyToken: string }).proxyToken;
      const res = await fetch(`${started.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'through serve and SOCKS' }], max_tokens: 16 }),
      });
      const body = (await res.json()) as { choices?: { message: { content: string } }[] };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.choices![0]!.message.content.length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    seen = drain();
    expect(seen.server.length, 'serve reached the server').toBeGreaterThan(0);
    expectAllProxied(seen, 'serve');

    expect((await cli(['balance'])).json).toMatchObject({ ok: true, credits: { unspent: 0, spent: 2, pending: 0 } });
  });

  it('open, and the recovery an import runs (chain reads, every /spent bucket): every connection through the proxy', async () => {
    const before = stack.server.indexer.status.leafCount;
    const opened = await cli(['open', '1', '--yes'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! });
    expect(opened.code, opened.stderr).toBe(0);
    await stack.waitIndexed(before + 1);
    let seen = drain();
    expect(seen.rpc.length, 'open sent its transaction to the RPC').toBeGreaterThan(0);
    expectAllProxied(seen, 'open');

    const backup = join(home, '..', 'backup.json');
    expect((await cli(['export', backup])).code).toBe(0);
    const imported = await cli(['import', backup]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json).toMatchObject({ ok: true, recovered: [{ status: 'open', calls: 1, nextTicket: 0 }] });
    seen = drain();
    expect(seen.server.length, 'import downloaded the spent list').toBeGreaterThan(0);
    expect(seen.rpc.length, 'import read the accounts on chain').toBeGreaterThan(0);
    expectAllProxied(seen, 'import');
  });

  it('with the proxy stopped: every command that goes out refuses to start (exit 5), nothing reaches the server or the RPC', async () => {
    await socks.stop();
    drain();
    const before = await snapshot(home);

    // The saved setting, the option and the environment: each refuses; none goes direct.
    const runs = [
      await cli(['chat', '-m', 'must not leave']),
      await cli(['--socks5', socks.url, 'sync']),
      await cli(['attest', MODEL], { ZKC_SOCKS_PROXY: socks.url }),
      await cli(['serve', '--port', '0']),
      await cli(['buy', '1', '--permit'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! }),
      await cli(['open', '1'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! }),
      await cli(['import', join(home, '..', 'backup.json')]),
    ];
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(5);
      expect(r.json).toMatchObject({ ok: false, error: { code: 'socks_unreachable' } });
      expect(r.stderr).toMatch(/SOCKS/);
    }
    // A fresh home: init refuses too, and writes nothing.
    const fresh = join(await tempDir('socks-fresh'), 'home');
    const init = await runCli(['--home', fresh, '--json', '--socks5', socks.url, 'init', '--server', serverUrl, '--rpc', rpcUrl, '--no-keychain'], { env: { ZKC_PASSPHRASE: PASS } });
    expect(init.code, init.stderr).toBe(5);
    expect(await snapshot(fresh)).toEqual({});

    expect(drain()).toEqual({ server: [], rpc: [] });
    expect(await snapshot(home)).toEqual(before);
  });
});
