import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** The repository root: the first ancestor of the working directory holding protocol/constants.json. */
export function repoRoot(): string {
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, 'protocol', 'constants.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

function fromRoot(value: string | undefined, fallback: string): string {
  const path = value && value.length > 0 ? value : fallback;
  return isAbsolute(path) ? path : resolve(repoRoot(), path);
}

/** Folder with bn254_g1.dat / bn254_g2.dat (env CRS_PATH, default ../shared/crs from the repo root). */
export function crsDir(): string {
  return fromRoot(process.env.CRS_PATH, '../shared/crs');
}
