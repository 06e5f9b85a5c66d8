// The collateral module against the real Intel collateral of the dcap-qvl sample (fixtures/):
// shape and size checks, nextUpdate, assembling it from a PCS, and the server-backed source.
import { readFileSync } from 'node:fs';
import { isZkCreditsError } from '@zkcredits/core/errors';
import { describe, expect, it } from 'vitest';
import {
  collateralNextUpdate,
  fetchPcsCollateral,
  parseCollateral,
  serverCollateralSource,
  MAX_PEM_CHAIN_CHARS,
  type CollateralCache,
} from '../src/collateral.js';
import type { Collateral } from '../src/types.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/tdx_quote_collateral.json', import.meta.url), 'utf8')) as Collateral;
const FMSPC = 'B0C06F000000';
/** Inside the fixture's validity window / after its earliest nextUpdate (the PCK CRL's). */
const VALID_AT = new Date('2025-07-01T00:00:00Z');
const EXPIRED_AT = new Date('2025-07-19T10:00:36Z');

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<{ code?: string; param?: string; details?: string; message?: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (!isZkCreditsError(e)) throw e;
    return { code: e.code, param: e.param, details: e.details, message: e.message };
  }
  throw new Error('expected a rejection');
}

describe('parseCollateral', () => {
  it('accepts the real collateral and normalises hex to lower case', () => {
    expect(parseCollateral(fixture)).toEqual(fixture);
    const upper = { ...fixture, pck_crl: fixture.pck_crl.toUpperCase(), extra: 1 };
    expect(parseCollateral(upper)).toEqual(fixture);
  });

  it('refuses a bad shape with collateral_unavailable naming the field', async () => {
    const cases: [unknown, string][] = [
      [null, ''],
      [{ ...fixture, tcb_info: undefined }, 'tcb_info'],
      [{ ...fixture, pck_crl: 'zz' }, 'pck_crl'],
      [{ ...fixture, root_ca_crl: 'abc' }, 'root_ca_crl'],
      [{ ...fixture, tcb_info_signature: 'ab'.repeat(63) }, 'tcb_info_signature'],
      [{ ...fixture, qe_identity: '{"nextUpdate":"soon"}' }, 'qe_identity'],
      [{ ...fixture, tcb_info: '[1]' }, 'tcb_info'],
      [{ ...fixture, tcb_info: `{"nextUpdate":"2030-01-01T00:00:00Z","x":"${'a'.repeat(70_000)}"}` }, 'tcb_info'],
      [{ ...fixture, pck_crl_issuer_chain: 'not pem' }, 'pck_crl_issuer_chain'],
      [{ ...fixture, pck_crl_issuer_chain: fixture.pck_crl_issuer_chain.repeat(Math.ceil(MAX_PEM_CHAIN_CHARS / 1900) + 1) }, 'pck_crl_issuer_chain'],
    ];
    for (const [value, field] of cases) {
      const e = await codeOf(() => parseCollateral(value));
      expect(e.code, field).toBe('collateral_unavailable');
      if (field) expect(e.param).toBe(field);
      expect(e.message).toContain('malformed');
    }
  });
});

describe('collateralNextUpdate', () => {
  it('is the earliest of TCB info, QE identity and both CRLs', () => {
    // The sample's PCK CRL (10:00:35) runs out before its TCB info (10:16:03) and QE identity (10:32:27).
    expect(collateralNextUpdate(fixture).toISOString()).toBe('2025-07-19T10:00:35.000Z');
    const tcbFirst = { ...fixture, tcb_info: fixture.tcb_info.replace('"nextUpdate":"2025-07-19T10:16:03Z"', '"nextUpdate":"2025-07-02T00:00:00Z"') };
    expect(collateralNextUpdate(tcbFirst).toISOString()).toBe('2025-07-02T00:00:00.000Z');
  });

  it('refuses an unparseable CRL', async () => {
    expect(await codeOf(() => collateralNextUpdate({ ...fixture, pck_crl: 'ab' }))).toMatchObject({ code: 'collateral_unavailable', param: 'pck_crl' });
  });
});

/** A stub of Intel's PCS v4 serving the fixture, recording the URLs asked for. */
function stubPcs(overrides: { tcbStatus?: number; oversize?: boolean; dropHeader?: boolean; down?: boolean; fmspc?: string } = {}) {
  const urls: string[] = [];
  const tcbInfo = JSON.parse(fixture.tcb_info) as Record<string, unknown>;
  if (overrides.fmspc) tcbInfo.fmspc = overrides.fmspc;
  const fetchFn = async (input: RequestInfo | URL): Promise<Response> => {
    const url = String(input);
    urls.push(url);
    if (overrides.down) throw new TypeError('fetch failed');
    const u = new URL(url);
    const der = (hex: string) => Buffer.from(hex, 'hex');
    if (u.pathname === '/sgx/certification/v4/pckcrl') {
      const headers: Record<string, string> = overrides.dropHeader ? {} : { 'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(fixture.pck_crl_issuer_chain) };
      return new Response(overrides.oversize ? new Uint8Array(600 * 1024) : der(fixture.pck_crl), { headers });
    }
    if (u.pathname === '/tdx/certification/v4/tcb') {
      if (overrides.tcbStatus) return new Response('', { status: overrides.tcbStatus });
      const body = overrides.fmspc ? JSON.stringify({ tcbInfo, signature: fixture.tcb_info_signature }) : `{"tcbInfo":${fixture.tcb_info},"signature":"${fixture.tcb_info_signature}"}`;
      return new Response(body, { headers: { 'TCB-Info-Issuer-Chain': encodeURIComponent(fixture.tcb_info_issuer_chain), 'content-type': 'application/json' } });
    }
    if (u.pathname === '/tdx/certification/v4/qe/identity') {
      return new Response(`{"enclaveIdentity":${fixture.qe_identity},"signature":"${fixture.qe_identity_signature}"}`, {
        headers: { 'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(fixture.qe_identity_issuer_chain) },
      });
    }
    if (u.pathname === '/IntelSGXRootCA.der') return new Response(der(fixture.root_ca_crl));
    return new Response('', { status: 404 });
  };
  return { urls, fetch: fetchFn as typeof fetch };
}

const pcsOptions = (stub: ReturnType<typeof stubPcs>) => ({
  pcsUrl: 'https://pcs.test/',
  rootCaCrlUrl: 'https://certs.test/IntelSGXRootCA.der',
  fmspc: FMSPC.toLowerCase(),
  ca: 'platform' as const,
  fetch: stub.fetch,
});

describe('fetchPcsCollateral', () => {
  it('assembles exactly the collateral dcap-qvl consumes from the four PCS v4 resources', async () => {
    const stub = stubPcs();
    expect(await fetchPcsCollateral(pcsOptions(stub))).toEqual(fixture);
    expect(stub.urls.sort()).toEqual([
      'https://certs.test/IntelSGXRootCA.der',
      'https://pcs.test/sgx/certification/v4/pckcrl?ca=platform&encoding=der',
      `https://pcs.test/tdx/certification/v4/qe/identity`,
      `https://pcs.test/tdx/certification/v4/tcb?fmspc=${FMSPC}`,
    ]);
  });

  it('refuses bad input, an unknown FMSPC (param fmspc), oversize, a missing header, an unreachable PCS and another platform', async () => {
    const bad = await codeOf(fetchPcsCollateral({ ...pcsOptions(stubPcs()), fmspc: 'xyz' }));
    expect(bad).toMatchObject({ code: 'collateral_unavailable', param: 'fmspc' });
    expect(await codeOf(fetchPcsCollateral({ ...pcsOptions(stubPcs()), ca: 'nope' as 'platform' }))).toMatchObject({ param: 'ca' });
    expect(await codeOf(fetchPcsCollateral(pcsOptions(stubPcs({ tcbStatus: 404 }))))).toMatchObject({ code: 'collateral_unavailable', param: 'fmspc' });
    const down = await codeOf(fetchPcsCollateral(pcsOptions(stubPcs({ tcbStatus: 503 }))));
    expect(down).toMatchObject({ code: 'collateral_unavailable', param: undefined });
    expect(down.details).toContain('status 503');
    expect((await codeOf(fetchPcsCollateral(pcsOptions(stubPcs({ oversize: true }))))).message).toContain('too large');
    expect((await codeOf(fetchPcsCollateral(pcsOptions(stubPcs({ dropHeader: true }))))).details).toContain('SGX-PCK-CRL-Issuer-Chain');
    expect((await codeOf(fetchPcsCollateral(pcsOptions(stubPcs({ down: true }))))).message).toContain('could not be reached');
    expect((await codeOf(fetchPcsCollateral(pcsOptions(stubPcs({ fmspc: '00906ED50000' }))))).message).toContain('another platform');
  });
});

/** A stub zkcredits server answering /v1/tee/collateral with `body()`. */
function stubServer(body: () => { status: number; json: unknown }) {
  const calls: string[] = [];
  const fetchFn = async (input: RequestInfo | URL): Promise<Response> => {
    calls.push(String(input));
    await new Promise((r) => setTimeout(r, 5));
    const { status, json } = body();
    return new Response(JSON.stringify(json), { status, headers: { 'content-type': 'application/json' } });
  };
  return { calls, fetch: fetchFn as typeof fetch };
}

class MemoryCache implements CollateralCache {
  map = new Map<string, unknown>();
  async get(key: string) {
    return this.map.get(key);
  }
  async set(key: string, value: Collateral) {
    this.map.set(key, value);
  }
}

describe('serverCollateralSource', () => {
  it('asks the server once per platform until nextUpdate (concurrent lookups share one request), then again', async () => {
    const server = stubServer(() => ({ status: 200, json: fixture }));
    let now = VALID_AT;
    const source = serverCollateralSource({ baseUrl: 'https://api.test/', fetch: server.fetch, now: () => now });
    const all = await Promise.all([1, 2, 3].map(() => source({ fmspc: FMSPC, ca: 'platform' })));
    expect(all.every((c) => JSON.stringify(c) === JSON.stringify(fixture))).toBe(true);
    expect(server.calls).toEqual([`https://api.test/v1/tee/collateral?fmspc=${FMSPC}&ca=platform`]);
    await source({ fmspc: FMSPC.toLowerCase(), ca: 'platform' });
    expect(server.calls).toHaveLength(1);
    await source({ fmspc: FMSPC, ca: 'processor' });
    expect(server.calls).toHaveLength(2);
    // Past nextUpdate: the cached copy is dropped and the server asked again; it still serves the
    // old collateral, which is refused (fail closed) with how to refresh.
    now = EXPIRED_AT;
    const expired = await codeOf(source({ fmspc: FMSPC, ca: 'platform' }));
    expect(expired.code).toBe('collateral_expired');
    expect(expired.details).toMatch(/expired at 2025-07-19T10:00:35.000Z.*clock.*retry later/s);
    expect(server.calls).toHaveLength(3);
  });

  it('uses a persistent cache, ignoring entries that are malformed, expired or for another platform', async () => {
    const server = stubServer(() => ({ status: 200, json: fixture }));
    const cache = new MemoryCache();
    const source = (at: Date) => serverCollateralSource({ baseUrl: 'https://api.test', fetch: server.fetch, now: () => at, cache });
    await source(VALID_AT)({ fmspc: FMSPC, ca: 'platform' });
    expect(cache.map.get(`${FMSPC}:platform`)).toEqual(fixture);
    // A new session (new process) is served from the persistent cache.
    expect(await source(VALID_AT)({ fmspc: FMSPC, ca: 'platform' })).toEqual(fixture);
    expect(server.calls).toHaveLength(1);
    cache.map.set(`${FMSPC}:platform`, { ...fixture, tcb_info: 'garbage' });
    await source(VALID_AT)({ fmspc: FMSPC, ca: 'platform' });
    expect(server.calls).toHaveLength(2);
    cache.map.set(`00906ED50000:platform`, fixture);
    await expect(source(VALID_AT)({ fmspc: '00906ED50000', ca: 'platform' })).rejects.toMatchObject({ code: 'collateral_unavailable' });
    expect(server.calls).toHaveLength(3);
  });

  it('turns server errors and bad answers into collateral_unavailable', async () => {
    const failing = stubServer(() => ({ status: 502, json: { error: { code: 'collateral_unavailable', message: 'Intel PCS failed' } } }));
    const e = await codeOf(serverCollateralSource({ baseUrl: 'https://api.test', fetch: failing.fetch, now: () => VALID_AT })({ fmspc: FMSPC, ca: 'platform' }));
    expect(e).toMatchObject({ code: 'collateral_unavailable' });
    expect(e.details).toContain('status 502 collateral_unavailable: Intel PCS failed');
    const malformed = stubServer(() => ({ status: 200, json: { ...fixture, qe_identity_signature: 'x' } }));
    expect(await codeOf(serverCollateralSource({ baseUrl: 'https://api.test', fetch: malformed.fetch })({ fmspc: FMSPC, ca: 'platform' }))).toMatchObject({
      code: 'collateral_unavailable',
      param: 'qe_identity_signature',
    });
    const unreachable = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    expect(await codeOf(serverCollateralSource({ baseUrl: 'https://api.test', fetch: unreachable })({ fmspc: FMSPC, ca: 'platform' }))).toMatchObject({
      code: 'collateral_unavailable',
    });
  });
});
