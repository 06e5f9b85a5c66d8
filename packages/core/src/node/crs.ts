import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZkCreditsError } from '../errors.js';
import type { CrsBytes } from '../prover/backend.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const G1_FILE = 'bn254_g1.dat';
const G2_FILE = 'bn254_g2.dat';

/**
 * G1 points of the Aztec Ignition CRS the circuits may use: 2^15 + 1, enough for any circuit
 * padded to at most 2^15 gates (the credit circuit pads to far less). 64 bytes per point.
 */
export const CRS_G1_POINTS = 32_769;
/** Bytes of `bn254_g1.dat` that are checked (and all a prover or verifier may read): 2,097,216. */
export const CRS_G1_BYTES = CRS_G1_POINTS * 64;
/** Size of `bn254_g2.dat` (the Ignition `[x]₂` point). */
export const CRS_G2_BYTES = 128;
/** SHA-256 of the first `CRS_G1_BYTES` bytes of `bn254_g1.dat` (a larger file passes too). */
export const CRS_G1_SHA256 = 'd769ac6c98f8fab858a7e9967f2b7f181d8ad9fdcdf55438c915696febf0e99c';
/** SHA-256 of `bn254_g2.dat` (exactly 128 bytes). */
export const CRS_G2_SHA256 = '01797bfc4de5a96f0e516a9ea4537d18786dc30cb991aca4274c95822b69c32f';

/** Where to get the CRS: appended to every "CRS unavailable" error. */
export function crsHelp(setting = 'ZKCREDITS_CRS_PATH'): string {
  return (
    `Put the Aztec Ignition CRS in a folder and set ${setting} to it: ` +
    `${G1_FILE} (the first ${CRS_G1_POINTS} uncompressed G1 points, ${CRS_G1_BYTES} bytes; a longer file is fine) and ${G2_FILE} (${CRS_G2_BYTES} bytes). ` +
    `Download them with ` +
    `curl -fL -r 0-${CRS_G1_BYTES - 1} -o ${G1_FILE} 'https://aztec-ignition.s3.amazonaws.com/MAIN%20IGNITION/flat/g1.dat' && ` +
    `curl -fL -o ${G2_FILE} 'https://aztec-ignition.s3.amazonaws.com/MAIN%20IGNITION/flat/g2.dat', ` +
    `or copy them from a machine that has them (e.g. ~/.bb-crs). ` +
    `With the zkcredits Docker images, mount that folder read-only at /crs (docker/compose.yml: ZKC_CRS_DIR in docker/.env). ` +
    `Expected SHA-256: first ${CRS_G1_BYTES} bytes of ${G1_FILE} ${CRS_G1_SHA256}, ${G2_FILE} ${CRS_G2_SHA256}. See docs/DEPLOY.md, "The CRS".`
  );
}

/**
 * The CRS folder to use: the given path, else `$ZKCREDITS_CRS_PATH`, else `$CRS_PATH`,
 * else `../shared/crs` beside the repository when present. `undefined` means none is
 * configured (bb.js would then fetch the CRS the normal way).
 * @throws {ZkCreditsError} `crs_unavailable` when a configured folder lacks the files.
 */
export function resolveCrsPath(configured?: string, setting = 'ZKCREDITS_CRS_PATH'): string | undefined {
  const candidate = configured ?? process.env.ZKCREDITS_CRS_PATH ?? process.env.CRS_PATH;
  if (candidate) {
    const path = resolve(candidate);
    const missing = [G1_FILE, G2_FILE].filter((f) => !existsSync(join(path, f)));
    if (missing.length > 0) {
      throw new ZkCreditsError('crs_unavailable', `CRS folder ${path} is missing ${missing.join(' and ')}`, {
        details: crsHelp(setting),
      });
    }
    return path;
  }
  const shared = resolve(REPO_ROOT, '../shared/crs');
  return existsSync(join(shared, G1_FILE)) ? shared : undefined;
}

const verified = new Map<string, string>();

/**
 * Checks a CRS folder against the pinned SHA-256 sums: the first `CRS_G1_BYTES` of
 * `bn254_g1.dat` and all of `bn254_g2.dat`. Remembers a folder that passed (until its files
 * change), so calling it once per prover costs one read.
 * @throws {ZkCreditsError} `crs_unavailable` naming the file that is missing, short or different.
 */
export function verifyCrs(path: string, setting = 'ZKCREDITS_CRS_PATH'): void {
  const dir = resolve(path);
  const g1Path = join(dir, G1_FILE);
  const g2Path = join(dir, G2_FILE);
  const fail = (what: string): never => {
    throw new ZkCreditsError('crs_unavailable', what, { details: crsHelp(setting) });
  };
  let g1Stat, g2Stat;
  try {
    g1Stat = statSync(g1Path);
    g2Stat = statSync(g2Path);
  } catch {
    return fail(`CRS folder ${dir} is missing ${!existsSync(g1Path) ? G1_FILE : G2_FILE}`);
  }
  const key = `${dir}\0${g1Stat.size}:${g1Stat.mtimeMs}\0${g2Stat.size}:${g2Stat.mtimeMs}`;
  if (verified.get(dir) === key) return;

  if (g1Stat.size < CRS_G1_BYTES) {
    fail(`CRS file ${g1Path} is truncated: ${g1Stat.size} bytes, at least ${CRS_G1_BYTES} needed (${CRS_G1_POINTS} points)`);
  }
  const g1 = Buffer.alloc(CRS_G1_BYTES);
  const fd = openSync(g1Path, 'r');
  try {
    let off = 0;
    while (off < g1.length) {
      const n = readSync(fd, g1, off, g1.length - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== g1.length) fail(`CRS file ${g1Path} is truncated: read ${off} of ${CRS_G1_BYTES} bytes`);
  } finally {
    closeSync(fd);
  }
  const g1Sum = createHash('sha256').update(g1).digest('hex');
  if (g1Sum !== CRS_G1_SHA256) {
    fail(`CRS file ${g1Path} is not the Aztec Ignition CRS: SHA-256 of its first ${CRS_G1_BYTES} bytes is ${g1Sum}, expected ${CRS_G1_SHA256}`);
  }
  const g2 = readFileSync(g2Path);
  const g2Sum = createHash('sha256').update(g2).digest('hex');
  if (g2.length !== CRS_G2_BYTES || g2Sum !== CRS_G2_SHA256) {
    fail(`CRS file ${g2Path} is not the Ignition G2 point: ${g2.length} bytes with SHA-256 ${g2Sum}, expected ${CRS_G2_BYTES} bytes with ${CRS_G2_SHA256}`);
  }
  verified.set(dir, key);
}

/**
 * The CRS folder a long-running service must have: resolved like `resolveCrsPath` (the
 * configured folder, the environment, or `../shared/crs`) and checked with `verifyCrs`.
 * Unlike `resolveCrsPath` it never falls back to a download.
 * @param setting the configuration name to tell the operator to set (e.g. `ZKC_CRS_PATH`).
 * @throws {ZkCreditsError} `crs_unavailable`, saying where to get the CRS.
 */
export function requireCrs(configured?: string, setting = 'ZKCREDITS_CRS_PATH'): string {
  const path = resolveCrsPath(configured, setting);
  if (!path) throw new ZkCreditsError('crs_unavailable', `no CRS folder configured (${setting} is not set)`, { details: crsHelp(setting) });
  verifyCrs(path, setting);
  return path;
}

/** Reads the first `numPoints` G1 points and the G2 point from a CRS folder. */
export function loadCrs(path: string, numPoints: number): CrsBytes {
  const g1 = new Uint8Array(numPoints * 64);
  const fd = openSync(join(path, G1_FILE), 'r');
  try {
    const read = readSync(fd, g1, 0, g1.length, 0);
    if (read !== g1.length) {
      throw new ZkCreditsError('crs_unavailable', 'CRS holds too few points for the circuit', {
        details: `need ${numPoints} points, ${path}/${G1_FILE} has ${Math.floor(read / 64)}. ${crsHelp()}`,
      });
    }
  } finally {
    closeSync(fd);
  }
  return { g1, g2: new Uint8Array(readFileSync(join(path, G2_FILE))) };
}
