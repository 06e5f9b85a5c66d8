// The CRS the server proves and verifies with is checked against pinned SHA-256 sums at start
// (in images it is a mounted volume): a wrong, short or missing CRS is refused with a typed
// error that says where to get the right one.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { isZkCreditsError } from '@zkcredits/core';
import { CRS_G1_BYTES, CRS_G1_SHA256, CRS_G2_SHA256, requireCrs, verifyCrs } from '@zkcredits/core/node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startServer } from '../src/server.js';

const SHARED_CRS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/crs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A CRS folder made from the real one, with `edit` applied to the two files' bytes. */
function crsFolder(edit: { g1?: (b: Buffer) => Buffer; g2?: (b: Buffer) => Buffer } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'zkc-crs-'));
  dirs.push(dir);
  const g1 = readFileSync(join(SHARED_CRS, 'bn254_g1.dat'));
  const g2 = readFileSync(join(SHARED_CRS, 'bn254_g2.dat'));
  writeFileSync(join(dir, 'bn254_g1.dat'), edit.g1 ? edit.g1(Buffer.from(g1)) : g1);
  writeFileSync(join(dir, 'bn254_g2.dat'), edit.g2 ? edit.g2(Buffer.from(g2)) : g2);
  return dir;
}

function refusal(fn: () => unknown): { message: string; code: string } {
  try {
    fn();
  } catch (err) {
    if (!isZkCreditsError(err)) throw err;
    return { message: err.message, code: err.code };
  }
  throw new Error('expected the CRS to be refused');
}

describe('CRS check', () => {
  it('pins exactly the bytes the circuits need: 32,769 G1 points and the 128-byte G2 point', () => {
    const g1 = readFileSync(join(SHARED_CRS, 'bn254_g1.dat'));
    expect(CRS_G1_BYTES).toBe(2_097_216);
    expect(createHash('sha256').update(g1.subarray(0, CRS_G1_BYTES)).digest('hex')).toBe(CRS_G1_SHA256);
    expect(createHash('sha256').update(readFileSync(join(SHARED_CRS, 'bn254_g2.dat'))).digest('hex')).toBe(CRS_G2_SHA256);
    expect(() => verifyCrs(SHARED_CRS)).not.toThrow();
  });

  it('accepts a longer G1 file whose first 2,097,216 bytes match', () => {
    const dir = crsFolder({ g1: (b) => Buffer.concat([b, Buffer.alloc(64 * 10, 7)]) });
    expect(requireCrs(dir, 'ZKC_CRS_PATH')).toBe(dir);
  });

  it('refuses a truncated G1 file, saying how many bytes it needs and where to get them', () => {
    const dir = crsFolder({ g1: (b) => b.subarray(0, CRS_G1_BYTES - 64) });
    const r = refusal(() => verifyCrs(dir, 'ZKC_CRS_PATH'));
    expect(r.code).toBe('crs_unavailable');
    expect(r.message).toContain('truncated');
    expect(r.message).toContain(String(CRS_G1_BYTES));
    expect(r.message).toContain('set ZKC_CRS_PATH');
    expect(r.message).toContain('aztec-ignition');
  });

  it('refuses a G1 file with one changed byte inside the pinned range', () => {
    const dir = crsFolder({
      g1: (b) => {
        b[CRS_G1_BYTES - 1]! ^= 1;
        return b;
      },
    });
    const r = refusal(() => verifyCrs(dir));
    expect(r.code).toBe('crs_unavailable');
    expect(r.message).toContain('is not the Aztec Ignition CRS');
    expect(r.message).toContain(CRS_G1_SHA256);
  });

  it('refuses a G2 file that is not the 128-byte Ignition point', () => {
    const longer = crsFolder({ g2: (b) => Buffer.concat([b, Buffer.alloc(1)]) });
    expect(refusal(() => verifyCrs(longer)).message).toContain('is not the Ignition G2 point');
    const changed = crsFolder({
      g2: (b) => {
        b[0]! ^= 0xff;
        return b;
      },
    });
    expect(refusal(() => verifyCrs(changed)).code).toBe('crs_unavailable');
  });

  it('refuses a folder without the files, and re-checks a folder whose files changed', () => {
    const empty = mkdtempSync(join(tmpdir(), 'zkc-crs-empty-'));
    dirs.push(empty);
    expect(refusal(() => requireCrs(empty, 'ZKC_CRS_PATH')).message).toMatch(/missing bn254_g1\.dat and bn254_g2\.dat[\s\S]*set ZKC_CRS_PATH/);

    const dir = crsFolder();
    verifyCrs(dir); // passes and is remembered...
    writeFileSync(join(dir, 'bn254_g1.dat'), Buffer.alloc(CRS_G1_BYTES + 64)); // ...until the file changes
    expect(refusal(() => verifyCrs(dir)).message).toContain('is not the Aztec Ignition CRS');
  });

  it('makes the server refuse to start before it touches the chain', async () => {
    const dir = crsFolder({ g1: (b) => b.subarray(0, 1000) });
    const config = loadConfig({
      ZKC_RPC_URL: 'http://127.0.0.1:9', // nothing listens: the CRS check must come first
      ZKC_CHAIN_ID: '31337',
      ZKC_CONTRACT: `0x${'11'.repeat(20)}`,
      ZKC_UPSTREAM_API_KEY: 'unused',
      ZKC_MODELS: 'm:16',
      ZKC_CRS_PATH: dir,
    });
    const err = await startServer(config, createLogger({ level: 'silent' })).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isZkCreditsError(err, 'crs_unavailable')).toBe(true);
    expect((err as Error).message).toContain('truncated');
  });
});
