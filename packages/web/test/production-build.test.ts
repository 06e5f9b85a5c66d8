// What only test builds may contain is absent from a production build: the test wallet, the
// `window.__zkcTest` hooks and trusting a test attestation root (the simulator's PKI) instead
// of Intel's. All of it sits behind NEXT_PUBLIC_ZKC_TEST_WALLET, fixed at build time; nothing
// at run time can turn it on. Each marker is looked for in the test build too, so a marker that
// minification would erase cannot pass vacuously. Makes the production build (`npm start`'s)
// when it is missing or older than the sources (scripts/web-build.sh).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_TRUST_MARKER } from '../src/e2ee/test-trust';
import { REPO_ROOT, TEST_DIST_DIR, WEB_DIR, assertTestBuild } from './helpers/stack';

/** Strings only test-build code has (property names and literals survive minification). */
const TEST_ONLY = [
  '__ZKC_TEST_WALLET__', // the test wallet's options
  'zkc-test-wallet-connected',
  '__zkcTest', // the hooks
  'trustAttestationRoot',
  'e2eeTrustTestRoot', // the worker's hook
  'e2eeBenchVerify',
  TEST_TRUST_MARKER, // the module that trusts a test root
];
/** In both builds: the E2EE code itself (proves the scan reads the right files). */
const BOTH = ['ecdsa_encryption', 'x-venice-tee-client-pub-key'];

function javascript(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(js|mjs|cjs)$/.test(name)) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out.join('\n');
}

let production: string;
let test: string;

beforeAll(() => {
  assertTestBuild();
  execFileSync('bash', ['scripts/web-build.sh'], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
  // Browser code and the server's bundles (route handlers, server components).
  production = javascript(join(WEB_DIR, '.next', 'static')) + javascript(join(WEB_DIR, '.next', 'server'));
  test = javascript(join(WEB_DIR, TEST_DIST_DIR, 'static')) + javascript(join(WEB_DIR, TEST_DIST_DIR, 'server'));
}, 600_000);

describe('the production build', () => {
  it('has none of the test-only code: no test wallet, no hooks, no way to trust a test attestation root', () => {
    expect(TEST_ONLY.filter((m) => !test.includes(m))).toEqual([]); // each marker does show up where it belongs
    expect(TEST_ONLY.filter((m) => production.includes(m))).toEqual([]);
  });

  it('does have the end-to-end encryption code', () => {
    expect(BOTH.filter((m) => !production.includes(m))).toEqual([]);
  });
});
