/**
 * The CRS (Aztec Ignition structured reference string) for CLI users: a local folder, or a download
 * through the network layer (so through the SOCKS proxy when one is set), checked against the
 * SHA-256 sums pinned in `@zkcredits/core/node` and then cached. bb.js's own downloader is never
 * used: it would fetch directly, bypassing the proxy, and cache unchecked bytes in `~/.bb-crs`.
 *
 * What is fetched: the Ignition "flat" files, uncompressed (64 bytes per G1 point, `x ‖ y`
 * big-endian), the layout of `bn254_g1.dat`. Only the first `CRS_G1_BYTES` of `g1.dat` (the points
 * the circuits may use, all the pinned sum covers) are requested, with an HTTP Range. (bb.js 5 itself
 * downloads `g1_compressed.dat`, 32 bytes per point, from crs.aztec-cdn.foundation: those bytes
 * are not the pinned ones and would need decompressing first.)
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ZkCreditsError } from '@zkcredits/core/errors';
import { CRS_G1_BYTES, CRS_G1_SHA256, CRS_G2_BYTES, CRS_G2_SHA256, crsHelp, verifyCrs } from '@zkcredits/core/node';
import type { Network } from './network.js';

/** Aztec's Ignition transcript, flat layout: `g1.dat` (uncompressed G1 points) and `g2.dat`. */
export const DEFAULT_CRS_URL = 'https://aztec-ignition.s3.amazonaws.com/MAIN%20IGNITION/flat/';

/** File names the folder holds (the names bb.js and core read). */
export const CRS_FILES = { g1: 'bn254_g1.dat', g2: 'bn254_g2.dat' } as const;

export type EnsureCrsOptions = {
  /** A local folder with `bn254_g1.dat` and `bn254_g2.dat`: checked, never downloaded into. */
  path?: string | undefined;
  /** Base URL holding `g1.dat` and `g2.dat` (Ignition flat layout). Default: `DEFAULT_CRS_URL`. */
  url?: string | undefined;
  /** Folder the download is cached in (created 0700 if missing; files 0644, they are public). */
  cacheDir: string;
  /** Carries the download (through the SOCKS proxy when one is configured). */
  network: Pick<Network, 'fetch'>;
  /** Limit for the whole download. Default 10 minutes (Tor can be slow). */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Bytes received so far, for a progress bar. */
  onProgress?: ((progress: { file: 'g1' | 'g2'; received: number; total: number }) => void) | undefined;
  /** The setting to name in error messages. Default `ZKC_CRS_PATH`. */
  setting?: string | undefined;
};

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * A checked CRS folder: `path` when given (checked, nothing downloaded), else `cacheDir` when it
 * already holds a good copy, else a fresh download from `url` into `cacheDir`. Downloaded bytes are
 * checked before anything is written; files land by atomic rename, so `cacheDir` never holds a
 * partial or unchecked file.
 * @returns the folder to give the prover (`crsPath`).
 * @throws {ZkCreditsError} `crs_unavailable`: the folder is wrong, the download failed, or its bytes
 *   differ from the pinned ones (then nothing is cached). Network errors are kept as `cause`.
 */
export async function ensureCrs(options: EnsureCrsOptions): Promise<string> {
  const setting = options.setting ?? 'ZKC_CRS_PATH';
  if (options.path !== undefined) {
    const dir = resolve(options.path);
    verifyCrs(dir, setting);
    return dir;
  }
  const cacheDir = resolve(options.cacheDir);
  try {
    verifyCrs(cacheDir, setting);
    return cacheDir;
  } catch {
    // Missing or wrong: download (a good copy replaces a bad one).
  }

  const base = new URL(options.url ?? DEFAULT_CRS_URL);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const g1Url = new URL('g1.dat', base).href;
  const g2Url = new URL('g2.dat', base).href;
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 600_000), ...(options.signal ? [options.signal] : [])];
  const signal = AbortSignal.any(signals);

  const g1 = await download(options, g1Url, 'g1', CRS_G1_BYTES, signal, setting);
  const g2 = await download(options, g2Url, 'g2', CRS_G2_BYTES, signal, setting);
  const mismatch = (what: string, url: string, sum: string, expected: string) =>
    new ZkCreditsError('crs_unavailable', `the CRS downloaded from ${url} is not the Aztec Ignition CRS`, {
      details: `SHA-256 of ${what} is ${sum}, expected ${expected}; nothing was cached. Check the CRS URL, or download by hand. ${crsHelp(setting)}`,
    });
  const g1Sum = sha256(g1);
  if (g1Sum !== CRS_G1_SHA256) throw mismatch(`its first ${CRS_G1_BYTES} bytes`, g1Url, g1Sum, CRS_G1_SHA256);
  const g2Sum = sha256(g2);
  if (g2Sum !== CRS_G2_SHA256) throw mismatch(`its ${CRS_G2_BYTES} bytes`, g2Url, g2Sum, CRS_G2_SHA256);

  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(cacheDir, '.crs-download-'));
  try {
    await writeDurably(join(tmp, CRS_FILES.g1), g1);
    await writeDurably(join(tmp, CRS_FILES.g2), g2);
    // Each file is complete and checked before its rename: any mix of old and new is a good CRS.
    await rename(join(tmp, CRS_FILES.g1), join(cacheDir, CRS_FILES.g1));
    await rename(join(tmp, CRS_FILES.g2), join(cacheDir, CRS_FILES.g2));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  verifyCrs(cacheDir, setting);
  return cacheDir;
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const file = await open(path, 'wx', 0o644);
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await chmod(path, 0o644); // whatever the umask
}

/**
 * Fetches exactly `size` bytes from the start of `url`: asks for that range, and of a server that
 * ignores ranges (200) reads only that much. Fewer bytes, an HTTP error or a network error fail.
 */
async function download(
  options: EnsureCrsOptions,
  url: string,
  file: 'g1' | 'g2',
  size: number,
  signal: AbortSignal,
  setting: string,
): Promise<Uint8Array> {
  const fail = (why: string, cause?: unknown) =>
    new ZkCreditsError('crs_unavailable', `could not download the CRS from ${url}: ${why}`, {
      details: `Nothing was cached. ${crsHelp(setting)}`,
      cause,
    });
  let response: Response;
  try {
    response = await options.network.fetch(url, { headers: { Range: `bytes=0-${size - 1}` }, signal });
  } catch (e) {
    throw fail((e as Error)?.message ?? String(e), e);
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel().catch(() => {});
    throw fail(`HTTP ${response.status}`);
  }
  if (!response.body) throw fail('empty response');
  const out = new Uint8Array(size);
  let received = 0;
  const reader = response.body.getReader();
  try {
    while (received < size) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, size - received);
      out.set(value.subarray(0, take), received);
      received += take;
      options.onProgress?.({ file, received, total: size });
    }
  } catch (e) {
    throw fail(`the transfer broke after ${received} bytes: ${(e as Error)?.message ?? String(e)}`, e);
  } finally {
    // Stop the transfer: a server that ignored the range would otherwise send the whole (GB) file.
    await reader.cancel().catch(() => {});
  }
  if (received < size) throw fail(`got ${received} bytes, ${size} needed`);
  return out;
}
