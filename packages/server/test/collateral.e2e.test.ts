// GET /v1/tee/collateral end to end: the server mirrors the simulator's Intel-PCS-shaped routes
// (through a pass-through "PCS" this test controls, so it can also fail or send too much), caches
// until nextUpdate, shares one fetch between concurrent misses, and answers typed errors.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collateralFmspc, collateralNextUpdate, parseCollateral } from '@zkcredits/attest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, startStack, type Stack } from './helpers/stack.js';

const TCB_PATH = '/tdx/certification/v4/tcb';
const COLLATERAL_LIMIT = 40;

type Mode = 'sim' | 'down' | 'oversized';

/** A "PCS" that passes requests through to the sim, or fails in the way `mode` says. */
async function startPcsProxy(): Promise<{ url: string; mode: Mode; target: string; close(): Promise<void> }> {
  const state = { url: '', mode: 'sim' as Mode, target: '', close: async () => {} };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (state.mode === 'down') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
        return;
      }
      if (state.mode === 'oversized' && req.url?.startsWith(TCB_PATH)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        for (let i = 0; i < 32 && !res.destroyed; i++) await new Promise<void>((r) => res.write(chunk, () => r()));
        res.end();
        return;
      }
      const up = await fetch(`${state.target}${req.url}`);
      const headers: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') headers[k] = v;
      });
      res.writeHead(up.status, headers).end(Buffer.from(await up.arrayBuffer()));
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

describe('GET /v1/tee/collateral', () => {
  let s: Stack;
  let pcs: Awaited<ReturnType<typeof startPcsProxy>>;
  const get = (query: string, headers: Record<string, string> = {}) => fetch(`${s.url}/v1/tee/collateral?${query}`, { headers });
  const tcbFetches = () => s.sim.state.requests.filter((r) => r.path === TCB_PATH).length;

  beforeAll(async () => {
    pcs = await startPcsProxy();
    s = await startStack('sqlite', {
      env: {
        ZKC_TEE_PCS_URL: pcs.url,
        ZKC_TEE_ROOT_CA_CRL_URL: `${pcs.url}/IntelSGXRootCA.der`,
        ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE: String(COLLATERAL_LIMIT),
      },
    });
    pcs.target = s.sim.url;
  });
  afterAll(async () => {
    await s?.stop();
    await pcs?.close();
  });

  it("mirrors the PCS's collateral for the platform, valid until its nextUpdate, then serves it from cache", async () => {
    const before = tcbFetches();
    const res = await get(`fmspc=${s.sim.fmspc.toLowerCase()}&ca=platform`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const collateral = parseCollateral(await res.json());
    expect(collateralFmspc(collateral)).toBe(s.sim.fmspc);
    const nextUpdate = collateralNextUpdate(collateral).getTime();
    expect(nextUpdate).toBeGreaterThan(Date.now());
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(Math.ceil((nextUpdate - Date.now()) / 1000));
    expect(tcbFetches()).toBe(before + 1);
    // The PCS saw the FMSPC as Intel writes it; the server's key or the client never reach it.
    const seen = s.sim.state.requests.filter((r) => r.path === TCB_PATH).at(-1)!;
    expect(seen.query).toEqual({ fmspc: s.sim.fmspc });
    expect(seen.headers.authorization).toBeUndefined();

    const again = await get(`fmspc=${s.sim.fmspc}&ca=platform`);
    expect(again.status).toBe(200);
    expect(parseCollateral(await again.json())).toEqual(collateral);
    expect(tcbFetches()).toBe(before + 1);
  });

  it('shares one PCS fetch between concurrent requests for a platform not yet cached', async () => {
    const before = tcbFetches();
    const all = await Promise.all(Array.from({ length: 6 }, () => get(`fmspc=${s.sim.fmspc}&ca=processor`)));
    expect(all.map((r) => r.status)).toEqual(Array(6).fill(200));
    const bodies = new Set(await Promise.all(all.map((r) => r.text())));
    expect(bodies.size).toBe(1);
    expect(tcbFetches()).toBe(before + 1);
  });

  it('refuses a bad fmspc or ca (400, typed) without asking the PCS', async () => {
    const before = s.sim.state.requests.length;
    for (const q of ['', 'fmspc=B0C06F00000&ca=platform', 'fmspc=B0C06F00000G&ca=platform', 'fmspc=B0C06F000000&fmspc=B0C06F000000&ca=platform']) {
      expect(await errorOf(await get(q)), q).toMatchObject({ status: 400, code: 'invalid_fmspc', param: 'fmspc' });
    }
    for (const q of [`fmspc=${'ab'.repeat(6)}`, `fmspc=${'ab'.repeat(6)}&ca=Platform`, `fmspc=${'ab'.repeat(6)}&ca=root`]) {
      expect(await errorOf(await get(q)), q).toMatchObject({ status: 400, code: 'invalid_ca', param: 'ca' });
    }
    expect(s.sim.state.requests.length).toBe(before);
    expect((await fetch(`${s.url}/v1/tee/collateral`, { method: 'POST' })).status).toBe(405);
  });

  it('answers 404 collateral_not_found for an FMSPC the PCS does not know', async () => {
    expect(await errorOf(await get('fmspc=00906ED50000&ca=platform'))).toMatchObject({ status: 404, code: 'collateral_not_found', param: 'fmspc' });
  });

  it('answers 502 collateral_unavailable (with Retry-After) when the PCS is down or sends too much, and recovers', async () => {
    // A platform not cached yet: the cached ones keep being served whatever the PCS does.
    pcs.mode = 'down';
    const down = await get('fmspc=00606A000000&ca=platform');
    expect(down.headers.get('retry-after')).toBe('1');
    expect(await errorOf(down)).toMatchObject({ status: 502, code: 'collateral_unavailable', type: 'upstream_error' });
    expect((await get(`fmspc=${s.sim.fmspc}&ca=platform`)).status).toBe(200);

    pcs.mode = 'oversized';
    const big = await errorOf(await get('fmspc=00606A000000&ca=platform'));
    expect(big).toMatchObject({ status: 502, code: 'collateral_unavailable' });
    expect(big.message).toContain('too large');

    pcs.mode = 'sim';
    // Failures are not cached: the PCS is asked again (this FMSPC is unknown to it).
    expect(await errorOf(await get('fmspc=00606A000000&ca=platform'))).toMatchObject({ status: 404, code: 'collateral_not_found' });
    expect(s.logs.text).not.toContain('00606A000000');
  });

  it('has its own per-IP rate limit (429 rate_limited), apart from the other routes', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < COLLATERAL_LIMIT + 1 && !limited; i++) {
      const r = await get(`fmspc=${s.sim.fmspc}&ca=platform`);
      if (r.status === 429) limited = r;
      else await r.body?.cancel();
    }
    expect(limited, 'no 429 within the limit + 1').toBeDefined();
    expect(limited!.headers.get('retry-after')).toBe('60');
    expect(await errorOf(limited!)).toMatchObject({ status: 429, code: 'rate_limited' });
    // Chat's limit (ZKC_RATE_LIMIT_PER_MINUTE) is untouched.
    expect((await fetch(`${s.url}/v1/models`)).status).toBe(200);
  });
});
