/**
 * What the client tells the SOCKS5 proxy, read by a recording SOCKS5 server written for this test:
 * a fresh user name for every paid call (Tor's IsolateSOCKSAuth puts each on its own circuit),
 * one other stable identity for chain reads, and target host names (ATYP 3: remote DNS).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPublicClient } from 'viem';
import { createNetwork, type Network } from '../src/network.js';
import { startRecordingHttp, startRecordingSocks, type RecordingHttp, type RecordingSocks } from './network-helpers.js';

let socks: RecordingSocks;
let http: RecordingHttp;
const networks: Network[] = [];
const track = (n: Network) => (networks.push(n), n);

beforeAll(async () => {
  socks = await startRecordingSocks();
  http = await startRecordingHttp((req, res) => {
    if (req.url === '/rpc') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const { id } = JSON.parse(body) as { id: number };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, result: '0x7a69' }));
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});

afterAll(async () => {
  await Promise.all(networks.map((n) => n.close()));
  await http?.close();
  await socks?.close();
});

beforeEach(() => {
  socks.connects.length = 0;
  socks.probes.length = 0;
});

const usernames = (from: number, to?: number) => socks.connects.slice(from, to).map((c) => c.username);

describe('SOCKS identities (recording SOCKS5 server)', () => {
  it('two paid calls use two fresh user names; chain reads and other requests keep their own', async () => {
    const network = track(createNetwork({ socks5: socks.url }));
    const base = `http://localhost:${http.port}`;

    await (await network.paidFetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{}' })).text();
    await (await network.paidFetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{}' })).text();
    const [paid1, paid2] = usernames(0);

    const chain = createPublicClient({ transport: network.rpcTransport(`${base}/rpc`) });
    await chain.getChainId();
    await (await network.chainFetch(`${base}/rpc`, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}' })).text();
    const chainNames = new Set(usernames(2));

    const before = socks.connects.length;
    await network.close(); // force new connections: the identity must survive them
    await (await network.fetch(`${base}/v1/zkcredits/config`)).text();
    await network.close();
    await (await network.fetch(`${base}/v1/tee/attestation`)).text();
    await network.close();
    await chain.getChainId().catch(() => {}); // viem caches the chain id; force one more chain connection:
    await (await network.chainFetch(`${base}/rpc`, { method: 'POST', body: '{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}' })).text();
    const later = socks.connects.slice(before);

    // Every CONNECT named the host (ATYP 3 = domain name): the client resolved nothing itself.
    expect(socks.connects.length).toBeGreaterThanOrEqual(6);
    for (const c of socks.connects) {
      expect(c).toMatchObject({ atyp: 3, host: 'localhost', port: http.port });
      expect(c.offered).toContain(0x02);
      expect(c.username).toMatch(/^[0-9a-f]{32}$/);
      expect(c.password).toMatch(/^[0-9a-f]{32}$/);
    }

    // Paid calls: one fresh identity each.
    expect(paid1).toBeDefined();
    expect(paid2).toBeDefined();
    expect(paid1).not.toBe(paid2);

    // Chain reads: one stable identity of their own, also across reconnects.
    expect(chainNames.size).toBe(1);
    const [chainName] = chainNames;
    expect(later.at(-1)!.username).toBe(chainName);
    expect([paid1, paid2]).not.toContain(chainName);

    // Server/attestation requests: one more stable identity, shared by neither.
    const [configConn, attestationConn] = later;
    expect(configConn!.username).toBe(attestationConn!.username);
    expect([paid1, paid2, chainName]).not.toContain(configConn!.username);

    // A new network (a new process) shares no identity with this one.
    const other = track(createNetwork({ socks5: socks.url }));
    const n = socks.connects.length;
    await (await other.chainFetch(`${base}/rpc`, { method: 'POST', body: '{"jsonrpc":"2.0","id":3,"method":"eth_chainId"}' })).text();
    expect(socks.connects[n]!.username).not.toBe(chainName);
  });

  it('isolatedFetch() is one more identity, stable for its task and shared with nothing else', async () => {
    const network = track(createNetwork({ socks5: socks.url }));
    const base = `http://localhost:${http.port}`;
    const purchase = network.isolatedFetch();
    await (await purchase(`${base}/a`)).text();
    await network.close();
    await (await purchase(`${base}/b`)).text();
    await (await network.fetch(`${base}/c`)).text();
    const [a, b, c] = usernames(0);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('twenty concurrent paid calls use twenty different user names', async () => {
    const network = track(createNetwork({ socks5: socks.url }));
    await Promise.all(Array.from({ length: 20 }, async (_, i) => (await network.paidFetch(`http://localhost:${http.port}/p${i}`)).text()));
    expect(socks.connects).toHaveLength(20);
    expect(new Set(usernames(0)).size).toBe(20);
  });

  it('check() completes the user/password handshake with a throwaway identity and connects nowhere', async () => {
    const network = track(createNetwork({ socks5: socks.url }));
    await network.check();
    await new Promise((r) => setTimeout(r, 50));
    expect(socks.connects).toEqual([]);
    expect(socks.probes).toHaveLength(1);
    expect(socks.probes[0]!.username).toMatch(/^[0-9a-f]{32}$/);
  });

  it('fixed credentials from the URL are sent as given on every connection (isolation off, said so)', async () => {
    const [, rest] = socks.url.split('//');
    const network = track(createNetwork({ socks5: `socks5://alice:s%40cret@${rest}` }));
    expect(network.isolatesCalls).toBe(false);
    expect(network.proxy).toBe(`socks5://***@${rest}`);
    await (await network.paidFetch(`http://localhost:${http.port}/x`)).text();
    await (await network.paidFetch(`http://localhost:${http.port}/y`)).text();
    await (await network.chainFetch(`http://localhost:${http.port}/z`)).text();
    expect(socks.connects.map((c) => [c.username, c.password])).toEqual([
      ['alice', 's@cret'],
      ['alice', 's@cret'],
      ['alice', 's@cret'],
    ]);
  });
});
