/**
 * Routing through a real SOCKS5 server: Debian's microsocks, its outgoing connections bound to
 * 127.0.0.2, so the HTTP server (standing in for the zkcredits server and a chain RPC) can tell a
 * proxied connection (from 127.0.0.2) from a direct one (from 127.0.0.1).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPublicClient } from 'viem';
import { isZkCreditsError } from '@zkcredits/core/errors';
import { createNetwork, networkFromEnv, openNetwork, type Network } from '../src/network.js';
import { describeSocksProxy, parseSocksUrl } from '../src/network-url.js';
import { freeTcpPort, PROXY_EGRESS, startMicrosocks, startRecordingHttp, type Microsocks, type RecordingHttp } from './network-helpers.js';

let socks: Microsocks;
let http: RecordingHttp;
const networks: Network[] = [];
const track = (n: Network) => (networks.push(n), n);

beforeAll(async () => {
  socks = await startMicrosocks();
  http = await startRecordingHttp((req, res) => {
    if (req.url === '/rpc') {
      // A tiny JSON-RPC endpoint: enough for viem's getChainId / getBlockNumber.
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const { id, method } = JSON.parse(body) as { id: number; method: string };
        const result = method === 'eth_chainId' ? '0x7a69' : method === 'eth_blockNumber' ? '0x2a' : null;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, result }));
      });
      return;
    }
    if (req.url === '/stream') {
      // Server-sent events in three pieces, like a streamed chat answer.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const tick = setInterval(() => {
        res.write(`data: part ${n}\n\n`);
        if (++n === 3) (clearInterval(tick), res.end('data: [DONE]\n\n'));
      }, 20);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, from: req.socket.remoteAddress }));
  });
});

afterAll(async () => {
  await Promise.all(networks.map((n) => n.close()));
  await http?.close();
  await socks?.stop(); // only the microsocks this file started, by its own handle
});

beforeEach(() => {
  http.requests.length = 0;
  http.connections.length = 0;
});

describe('parseSocksUrl', () => {
  it('accepts socks5:// and socks5h://, with or without credentials, and masks them when printed', () => {
    expect(parseSocksUrl('socks5://127.0.0.1:9050')).toEqual({ host: '127.0.0.1', port: 9050, username: undefined, password: undefined });
    expect(parseSocksUrl('socks5h://tor.local:9150').host).toBe('tor.local');
    expect(parseSocksUrl('socks5://[::1]:9050').host).toBe('::1');
    expect(parseSocksUrl('socks5://proxy').port).toBe(1080);
    const withAuth = parseSocksUrl('socks5://alice:s%40cret@127.0.0.1:1080');
    expect(withAuth).toMatchObject({ username: 'alice', password: 's@cret' });
    expect(describeSocksProxy(withAuth)).toBe('socks5://***@127.0.0.1:1080');
  });

  it.each([
    ['http://127.0.0.1:8080', /scheme http:\/\/ is not supported/],
    ['socks4://127.0.0.1:1080', /scheme socks4:\/\/ is not supported/],
    ['socks5://127.0.0.1:1080/path', /path, query or fragment/],
    ['127.0.0.1:9050', /not supported|not a URL/],
    ['not a url at all', /not a URL/],
  ])('refuses %s with a clear message', (value, message) => {
    let error: unknown;
    try {
      createNetwork({ socks5: value });
    } catch (e) {
      error = e;
    }
    expect(isZkCreditsError(error, 'invalid_socks_url')).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain('socks5://host:port');
  });

  it('never repeats a password from a URL it cannot parse', () => {
    try {
      createNetwork({ socks5: 'socks5://bob:hunter2@host:notaport' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });
});

describe('networkFromEnv', () => {
  it('reads ZKC_SOCKS_PROXY; a --socks5 value wins; neither means direct', async () => {
    expect(networkFromEnv({}).proxied).toBe(false);
    expect(networkFromEnv({ ZKC_SOCKS_PROXY: '' }).proxied).toBe(false);
    const fromEnv = networkFromEnv({ ZKC_SOCKS_PROXY: socks.url });
    expect(fromEnv.proxy).toBe(socks.url);
    expect(networkFromEnv({ ZKC_SOCKS_PROXY: 'socks5://127.0.0.1:1' }, { socks5: socks.url }).proxy).toBe(socks.url);
    expect(() => networkFromEnv({ ZKC_SOCKS_PROXY: 'http://x:1' })).toThrow(/not supported/);
  });
});

describe('through microsocks (egress 127.0.0.2)', () => {
  it('control: without a proxy the server sees the client itself (127.0.0.1)', async () => {
    const direct = createNetwork({});
    expect(direct.proxied).toBe(false);
    await direct.check();
    const res = await direct.fetch(`http://localhost:${http.port}/direct`);
    expect(await res.json()).toMatchObject({ from: '127.0.0.1' });
    expect(http.connections).toEqual(['127.0.0.1']);
  });

  it('every kind of request (server, paid call, streamed answer, RPC via viem) arrives from the proxy only', async () => {
    const network = track(createNetwork({ socks5: socks.url }));
    expect(network.proxied).toBe(true);
    expect(network.isolatesCalls).toBe(true);
    await network.check();

    // Host names, not addresses: the client does not resolve `localhost`, the proxy does.
    const base = `http://localhost:${http.port}`;
    expect(await (await network.fetch(`${base}/v1/zkcredits/config`)).json()).toMatchObject({ from: PROXY_EGRESS });
    expect(await (await network.fetch(new URL(`${base}/v1/tee/attestation`))).json()).toMatchObject({ from: PROXY_EGRESS });
    const paid = await network.paidFetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{"model":"m"}' });
    expect(await paid.json()).toMatchObject({ path: '/v1/chat/completions', from: PROXY_EGRESS });

    // A streamed paid answer arrives whole although its one-off connection is closed behind it.
    const streamed = await network.paidFetch(`${base}/stream`);
    expect(await streamed.text()).toBe('data: part 0\n\ndata: part 1\n\ndata: part 2\n\ndata: [DONE]\n\n');

    // Chain reads through viem's http transport.
    const chain = createPublicClient({ transport: network.rpcTransport(`${base}/rpc`) });
    expect(await chain.getChainId()).toBe(31337);
    expect(await chain.getBlockNumber({ cacheTime: 0 })).toBe(42n);

    // A Request object, and a caller's own dispatcher option, still go through the proxy.
    const { Agent } = await import('undici');
    const rogue = new Agent();
    await network.isolatedFetch()(new Request(`${base}/purchase`), { dispatcher: rogue } as RequestInit);
    await rogue.close();

    expect(http.requests.map((r) => r.url)).toEqual([
      '/v1/zkcredits/config',
      '/v1/tee/attestation',
      '/v1/chat/completions',
      '/stream',
      '/rpc',
      '/rpc',
      '/purchase',
    ]);
    expect(new Set(http.connections)).toEqual(new Set([PROXY_EGRESS]));
    expect(new Set(http.requests.map((r) => r.remoteAddress))).toEqual(new Set([PROXY_EGRESS]));
    expect(http.requests[0]!.host).toBe(`localhost:${http.port}`);
  });

  it('each paid call opens its own connection; server reads reuse pooled ones', async () => {
    const network = track(createNetwork({ socks5: socks.url }));
    const base = `http://localhost:${http.port}`;
    for (let i = 0; i < 4; i++) await (await network.paidFetch(`${base}/paid/${i}`)).text();
    expect(http.connections).toHaveLength(4);
    for (let i = 0; i < 6; i++) await (await network.fetch(`${base}/read/${i}`)).text();
    // undici may open a second pooled connection while the first is being released; never one per read.
    expect(http.connections.length - 4).toBeLessThanOrEqual(2);
    expect(new Set(http.connections)).toEqual(new Set([PROXY_EGRESS]));
  });

  it('close() drops pooled connections and the network still works afterwards, through the proxy', async () => {
    const network = track(createNetwork({ socks5: socks.url }));
    const base = `http://localhost:${http.port}`;
    await (await network.fetch(`${base}/a`)).text();
    await network.close();
    await (await network.fetch(`${base}/b`)).text();
    expect(http.connections).toEqual([PROXY_EGRESS, PROXY_EGRESS]);
  });
});

describe('https through the proxy', () => {
  it('TLS runs end to end inside the tunnel and certificates are still checked (a self-signed one is refused)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkc-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
        '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const peers: string[] = [];
      const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('ok'));
      server.on('connection', (s: Socket) => peers.push(s.remoteAddress ?? ''));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const network = track(createNetwork({ socks5: socks.url }));
      const error = await network.fetch(`https://localhost:${(server.address() as AddressInfo).port}/`).catch((e: unknown) => e);
      server.close();
      expect(isZkCreditsError(error, 'socks_request_failed')).toBe(true);
      expect((error as Error).message).toMatch(/self[- ]signed certificate/);
      expect(peers).toEqual([PROXY_EGRESS]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an unreachable proxy', () => {
  it('check() throws socks_unreachable with a fix-it message, and no request goes direct', async () => {
    const deadPort = await freeTcpPort();
    const network = track(createNetwork({ socks5: `socks5://user:secret@127.0.0.1:${deadPort}` }));
    const error = await network.check().catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'socks_unreachable')).toBe(true);
    expect((error as Error).message).toMatch(/connection refused/);
    expect((error as Error).message).toMatch(/never falls back to a direct connection/);
    expect((error as Error).message).not.toContain('secret');

    for (const f of [network.fetch, network.paidFetch, network.chainFetch]) {
      const failure = await f(`http://localhost:${http.port}/must-not-arrive`).catch((e: unknown) => e);
      expect(isZkCreditsError(failure, 'socks_request_failed')).toBe(true);
      expect((failure as Error).message).toContain(`127.0.0.1:${deadPort}`);
      expect((failure as Error).message).not.toContain('secret');
    }
    const chain = createPublicClient({ transport: network.rpcTransport(`http://localhost:${http.port}/rpc`, { retryCount: 0 }) });
    await expect(chain.getChainId()).rejects.toThrow();
    expect(http.requests).toEqual([]);
    expect(http.connections).toEqual([]);
  });

  it('openNetwork() refuses to hand out a network whose proxy is down; with microsocks up it works', async () => {
    const error = await openNetwork({ socks5: `socks5://127.0.0.1:${await freeTcpPort()}` }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'socks_unreachable')).toBe(true);
    const network = track(await openNetwork({ socks5: socks.url }));
    expect(await (await network.fetch(`http://localhost:${http.port}/ok`)).json()).toMatchObject({ from: PROXY_EGRESS });
  });

  it('check() refuses something that is not a SOCKS5 proxy (here: an HTTP server)', async () => {
    const network = track(createNetwork({ socks5: `socks5://127.0.0.1:${http.port}`, checkTimeoutMs: 2_000 }));
    const error = await network.check().catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'socks_unreachable')).toBe(true);
  });

  it('non-http URLs are refused outright when proxied (no other transport could bypass it)', async () => {
    const network = track(createNetwork({ socks5: socks.url }));
    expect(() => network.rpcTransport('ws://localhost:8545')).toThrow(/must be an http\(s\) URL/);
    await expect(network.fetch('ftp://localhost/x')).rejects.toThrow(/only http\(s\) requests/);
  });
});
