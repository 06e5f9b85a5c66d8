import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZkCreditsError } from '../errors.js';
import type { CrsBytes } from '../prover/backend.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const G1_FILE = 'bn254_g1.dat';
const G2_FILE = 'bn254_g2.dat';

/**
 * The CRS folder to use: the given path, else `$ZKCREDITS_CRS_PATH`, else `$CRS_PATH`,
 * else `../shared/crs` beside the repository when present. `undefined` means none is
 * configured (bb.js would then fetch the CRS the normal way).
 */
export function resolveCrsPath(configured?: string): string | undefined {
  const candidate = configured ?? process.env.ZKCREDITS_CRS_PATH ?? process.env.CRS_PATH;
  if (candidate) {
    const path = resolve(candidate);
    if (!existsSync(join(path, G1_FILE)) || !existsSync(join(path, G2_FILE))) {
      throw new ZkCreditsError('crs_unavailable', 'CRS folder is missing its files', {
        details: `expected ${G1_FILE} and ${G2_FILE} in ${path}`,
      });
    }
    return path;
  }
  const shared = resolve(REPO_ROOT, '../shared/crs');
  return existsSync(join(shared, G1_FILE)) ? shared : undefined;
}

/** Reads the first `numPoints` G1 points and the G2 point from a CRS folder. */
export function loadCrs(path: string, numPoints: number): CrsBytes {
  const g1 = new Uint8Array(numPoints * 64);
  const fd = openSync(join(path, G1_FILE), 'r');
  try {
    const read = readSync(fd, g1, 0, g1.length, 0);
    if (read !== g1.length) {
      throw new ZkCreditsError('crs_unavailable', 'CRS holds too few points for the circuit', {
        details: `need ${numPoints} points, ${path}/${G1_FILE} has ${Math.floor(read / 64)}`,
      });
    }
  } finally {
    closeSync(fd);
  }
  return { g1, g2: new Uint8Array(readFileSync(join(path, G2_FILE))) };
}
