// Connection limits on the API listener, over raw TCP: a client that never finishes its
// headers is disconnected after ZKC_HEADERS_TIMEOUT_MS; one client address holds at most
// ZKC_MAX_CONNECTIONS_PER_IP connections (refused on accept beyond), unless a trusted proxy
// is configured (the proxy enforces the cap: every connection comes from it).
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey } from '../src/connections.js';
import { startStack, type Stack } from './helpers/stack.js';

type Conn = { socket: Socket; received(): string; closed: Promise<void> };

/** A raw TCP connection to the server; `closed` resolves when either side closes it. */
async function open(port: number): Promise<Conn> {
  const socket = connect({ host: '127.0.0.1', port });
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => {}); // a refused connection may end in ECONNRESET
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed };
}

const PARTIAL = 'GET /health HTTP/1.1\r\nHost: zkc.test\r\n';
const FINISH = 'Connection: close\r\n\r\n';

/** Polls a state until it holds (bounded by the test timeout). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metric(s: Stack, line: RegExp): Promise<number> {
  const text = await (await fetch(`${s.server.metricsUrl}/metrics`)).text();
  const m = line.exec(text);
  return m ? Number(m[1]) : 0;
}
const openConnections = (s: Stack) => metric(s, /^zkc_http_connections (\d+)$/m);
const refused = (s: Stack) => metric(s, /^zkc_http_connections_refused_total\{reason="per_address_cap"\} (\d+)$/m);

describe('connection limits', () => {
  let direct: Stack;
  let proxied: Stack;
  let impatient: Stack;

  beforeAll(async () => {
    // Connections held with unfinished headers must outlast the slowest machine: where the header
    // timeout is not what a test pins, it is the longest there is.
    const PATIENT = '600000';
    // Clients connect directly (no ZKC_TRUST_PROXY): at most 4 open connections per address.
    direct = await startStack('sqlite', { env: { ZKC_MAX_CONNECTIONS_PER_IP: '4', ZKC_HEADERS_TIMEOUT_MS: PATIENT } });
    // Behind a trusted proxy: the per-address cap is the proxy's.
    proxied = await startStack('sqlite', {
      chain: direct.chain,
      pools: direct.pools,
      env: { ZKC_TRUST_PROXY: 'loopback', ZKC_MAX_CONNECTIONS_PER_IP: '1', ZKC_HEADERS_TIMEOUT_MS: PATIENT },
    });
    // A short header timeout, for clients that never finish their headers.
    impatient = await startStack('sqlite', { chain: direct.chain, pools: direct.pools, env: { ZKC_HEADERS_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await impatient?.stop();
    await proxied?.stop();
    await direct?.stop();
  });

  it('refuses a client address its connection beyond ZKC_MAX_CONNECTIONS_PER_IP, keeps serving the first ones, and accepts again once some close', { timeout: 30_000 }, async () => {
    const port = direct.server.port;
    await until('no open connections', async () => (await openConnections(direct)) === 0);

    // Four slow clients, each holding a connection with unfinished headers.
    const held = await Promise.all([0, 1, 2, 3].map(() => open(port)));
    for (const c of held) c.socket.write(PARTIAL);
    await until('4 open connections', async () => (await openConnections(direct)) === 4);

    // The fifth from the same address is closed on accept, unanswered.
    const extra = await open(port);
    extra.socket.write(PARTIAL + FINISH);
    await extra.closed;
    expect(extra.received()).toBe('');
    expect(await refused(direct)).toBe(1);

    // The first four still work.
    for (const c of held.slice(0, 2)) {
      c.socket.write(FINISH);
      await c.closed;
      expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    }

    // Two closed: two new connections are accepted (and served) while the others are held…
    await until('2 open connections', async () => (await openConnections(direct)) === 2);
    const fresh = await Promise.all([0, 1].map(() => open(port)));
    for (const c of fresh) c.socket.write(PARTIAL);
    await until('4 open connections again', async () => (await openConnections(direct)) === 4);
    // …and the cap holds again.
    const again = await open(port);
    await again.closed;
    expect(await refused(direct)).toBe(2);

    for (const c of [...held.slice(2), ...fresh]) {
      c.socket.write(FINISH);
      await c.closed;
      expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    }
  });

  it('disconnects a client that sends its headers a byte at a time and never finishes (408 after ZKC_HEADERS_TIMEOUT_MS)', { timeout: 20_000 }, async () => {
    const slow = await open(impatient.server.port);
    const header = `${PARTIAL}X-Slow: `;
    let sent = 0;
    // One byte every 20 ms, forever: the header grows far slower than the 16 KiB limit.
    const drip = setInterval(() => {
      if (slow.socket.destroyed) return;
      slow.socket.write(sent < header.length ? header[sent]! : 'a');
      sent++;
    }, 20);
    try {
      await slow.closed;
    } finally {
      clearInterval(drip);
    }
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);

    // A client that connects and sends nothing is closed the same way.
    const silent = await open(impatient.server.port);
    await silent.closed;
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('leaves the per-address cap to the trusted proxy: three connections from one address are all served with a cap of 1', async () => {
    const conns = await Promise.all([0, 1, 2].map(() => open(proxied.server.port)));
    for (const c of conns) c.socket.write(PARTIAL);
    await until('3 open connections', async () => (await openConnections(proxied)) === 3);
    for (const c of conns) c.socket.write(FINISH);
    await Promise.all(conns.map((c) => c.closed));
    for (const c of conns) expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(await refused(proxied)).toBe(0);
  });

  it('counts IPv4 clients per address and IPv6 clients per /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});
