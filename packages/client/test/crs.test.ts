/**
 * The CRS for CLI users: downloaded through a real SOCKS5 proxy (microsocks, egress 127.0.0.2) from
 * a local HTTP server serving ../shared/crs in the Ignition "flat" layout, checked against the
 * pinned SHA-256, cached atomically; a corrupt or short download caches nothing.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isZkCreditsError } from '@zkcredits/core/errors';
import { CRS_G1_BYTES } from '@zkcredits/core/node';
import { ensureCrs } from '../src/crs.js';
import { createNetwork, type Network } from '../src/network.js';
import { freeTcpPort, PROXY_EGRESS, startMicrosocks, startRecordingHttp, type Microsocks, type RecordingHttp } from './network-helpers.js';

const SHARED_CRS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/crs');
const g1 = readFileSync(join(SHARED_CRS, 'bn254_g1.dat'));
const g2 = readFileSync(join(SHARED_CRS, 'bn254_g2.dat'));

let socks: Microsocks;
let http: RecordingHttp;
let network: Network;
let base: string;
const scratch: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkc-crs-test-'));
  scratch.push(dir);
  return dir;
};

/** Serves `/<variant>/g1.dat` and `/<variant>/g2.dat`; `good` honours Range like S3 does. */
function serve(variant: string, file: string, range: string | undefined): { status: number; body: Buffer } | undefined {
  let data: Buffer;
  if (file === 'g2.dat') data = variant === 'bad-g2' ? Buffer.concat([g2.subarray(0, 127), Buffer.from([g2[127]! ^ 1])]) : g2;
  else if (file === 'g1.dat') {
    if (variant === 'corrupt') {
      data = Buffer.from(g1);
      data[1_000_000] = data[1_000_000]! ^ 0xff;
    } else if (variant === 'short') data = g1.subarray(0, CRS_G1_BYTES - 64);
    else data = Buffer.concat([g1, Buffer.alloc(64 * 1024, 7)]); // the real file goes on far beyond the pinned prefix
  } else return undefined;
  const m = /^bytes=0-(\d+)$/.exec(range ?? '');
  if (m && variant !== 'no-range') return { status: 206, body: data.subarray(0, Number(m[1]) + 1) };
  return { status: 200, body: data };
}

beforeAll(async () => {
  socks = await startMicrosocks();
  http = await startRecordingHttp((req, res) => {
    const [, variant, file] = (req.url ?? '').split('/');
    const out = serve(variant ?? '', file ?? '', req.headers.range);
    if (!out) return void res.writeHead(404).end();
    res.writeHead(out.status, { 'content-type': 'application/octet-stream', 'content-length': out.body.length }).end(out.body);
  });
  network = createNetwork({ socks5: socks.url });
  await network.check();
  base = `http://localhost:${http.port}`;
});

afterAll(async () => {
  await network?.close();
  await http?.close();
  await socks?.stop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  http.requests.length = 0;
  http.connections.length = 0;
});

const cachedNames = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe('ensureCrs', () => {
  it('downloads through the proxy, only the pinned prefix, checks it, caches it 0644; the second call downloads nothing', async () => {
    const cacheDir = join(tempDir(), 'crs');
    const progress: number[] = [];
    const dir = await ensureCrs({ url: `${base}/good`, cacheDir, network, onProgress: (p) => p.file === 'g1' && progress.push(p.received) });
    expect(dir).toBe(cacheDir);
    expect(cachedNames(cacheDir)).toEqual(['bn254_g1.dat', 'bn254_g2.dat']);
    expect(readFileSync(join(cacheDir, 'bn254_g1.dat')).equals(g1)).toBe(true);
    expect(readFileSync(join(cacheDir, 'bn254_g2.dat')).equals(g2)).toBe(true);
    expect(statSync(join(cacheDir, 'bn254_g1.dat')).mode & 0o777).toBe(0o644);
    expect(statSync(join(cacheDir, 'bn254_g2.dat')).mode & 0o777).toBe(0o644);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(progress.at(-1)).toBe(CRS_G1_BYTES);

    expect(http.requests.map((r) => r.url)).toEqual(['/good/g1.dat', '/good/g2.dat']);
    expect(new Set(http.requests.map((r) => r.remoteAddress))).toEqual(new Set([PROXY_EGRESS]));
    expect(new Set(http.connections)).toEqual(new Set([PROXY_EGRESS]));

    await ensureCrs({ url: `${base}/good`, cacheDir, network });
    expect(http.requests).toHaveLength(2);
  });

  it('reads just the pinned prefix from a server that ignores Range', async () => {
    const cacheDir = tempDir();
    await ensureCrs({ url: `${base}/no-range/`, cacheDir, network });
    expect(statSync(join(cacheDir, 'bn254_g1.dat')).size).toBe(CRS_G1_BYTES);
  });

  it.each([
    ['corrupt', /is not the Aztec Ignition CRS[\s\S]*SHA-256 of its first 2097216 bytes/],
    ['bad-g2', /is not the Aztec Ignition CRS[\s\S]*SHA-256 of its 128 bytes/],
    ['short', /got 2097152 bytes, 2097216 needed/],
    ['missing', /HTTP 404/],
  ])('a %s download is a crs_unavailable error and caches nothing', async (variant, message) => {
    const cacheDir = join(tempDir(), 'crs');
    const error = await ensureCrs({ url: `${base}/${variant === 'missing' ? 'nowhere/x' : variant}`, cacheDir, network }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'crs_unavailable')).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/nothing was cached/i);
    expect(cachedNames(cacheDir)).toEqual([]);
  });

  it('a bad cached copy is replaced by a good download', async () => {
    const cacheDir = tempDir();
    writeFileSync(join(cacheDir, 'bn254_g1.dat'), Buffer.alloc(CRS_G1_BYTES));
    writeFileSync(join(cacheDir, 'bn254_g2.dat'), g2);
    await ensureCrs({ url: `${base}/good`, cacheDir, network });
    expect(readFileSync(join(cacheDir, 'bn254_g1.dat')).equals(g1)).toBe(true);
    expect(cachedNames(cacheDir)).toEqual(['bn254_g1.dat', 'bn254_g2.dat']);
  });

  it('a local path is checked and used as is, without any network', async () => {
    const offline = createNetwork({ socks5: `socks5://127.0.0.1:${await freeTcpPort()}` });
    const cacheDir = tempDir();
    expect(await ensureCrs({ path: SHARED_CRS, cacheDir, network: offline })).toBe(SHARED_CRS);
    expect(cachedNames(cacheDir)).toEqual([]);

    const wrong = tempDir();
    writeFileSync(join(wrong, 'bn254_g1.dat'), Buffer.alloc(CRS_G1_BYTES));
    writeFileSync(join(wrong, 'bn254_g2.dat'), g2);
    const error = await ensureCrs({ path: wrong, cacheDir, network: offline, setting: '--crs-path' }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'crs_unavailable')).toBe(true);
    expect((error as Error).message).toMatch(/not the Aztec Ignition CRS/);
    expect((error as Error).message).toContain('--crs-path');
    expect(http.requests).toEqual([]);
  });

  it('with the proxy down, the download fails (typed) and nothing goes direct', async () => {
    const down = createNetwork({ socks5: `socks5://127.0.0.1:${await freeTcpPort()}` });
    const cacheDir = tempDir();
    const error = await ensureCrs({ url: `${base}/good`, cacheDir, network: down }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'crs_unavailable')).toBe(true);
    expect(isZkCreditsError((error as Error).cause, 'socks_request_failed')).toBe(true);
    expect(http.connections).toEqual([]);
    expect(cachedNames(cacheDir)).toEqual([]);
  });
});
