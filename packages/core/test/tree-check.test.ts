// The tree-vs-chain check against a stand-in for the CreditPool's views (the real contract is
// exercised by the web app's browser tests against Anvil).
import { describe, expect, it } from 'vitest';
import { isZkCreditsError, verifyTreeOnChain, type ChainTreeReader } from '../src/index.js';

const POOL = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const ROOT = `0x${'12'.repeat(32)}`;
const OLD_ROOT = `0x${'34'.repeat(32)}`;

/** A chain whose CreditPool has `size` leaves, knows `roots` and has `ROOT` as its current root. */
function chain(size: number, roots: string[] = [ROOT, OLD_ROOT], fail = false): ChainTreeReader {
  return {
    getBlockNumber: async () => {
      if (fail) throw new Error('connection refused\nstack');
      return 100n;
    },
    readContract: (async (p: { functionName: string; args?: readonly [bigint]; blockNumber?: bigint }) => {
      expect(p.blockNumber).toBe(100n);
      if (p.functionName === 'isKnownRoot') return roots.some((r) => BigInt(r) === p.args![0]);
      if (p.functionName === 'nextIndex') return BigInt(size);
      if (p.functionName === 'currentRoot') return BigInt(ROOT);
      throw new Error(p.functionName);
    }) as unknown as ChainTreeReader['readContract'],
  };
}

async function code(promise: Promise<void>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    return isZkCreditsError(e) ? e.code : String(e);
  }
}

describe('verifyTreeOnChain', () => {
  it('accepts the current tree and an older known root; refuses unknown roots, larger or shrunk trees', async () => {
    const seen = new Map<string, number>();
    expect(await code(verifyTreeOnChain(chain(5), POOL, 31337, { size: 5, root: ROOT }, seen))).toBe('ok');
    expect(seen.get(`31337:${POOL.toLowerCase()}`)).toBe(5);
    expect(await code(verifyTreeOnChain(chain(5), POOL, 31337, { size: 5, root: OLD_ROOT }, seen))).toBe('tree_mismatch');
    expect(await code(verifyTreeOnChain(chain(5), POOL, 31337, { size: 6, root: ROOT }, seen))).toBe('tree_mismatch');
    expect(await code(verifyTreeOnChain(chain(5), POOL, 31337, { size: 5, root: `0x${'56'.repeat(32)}` }, seen))).toBe('tree_mismatch');
    // An older root is fine once, but never below a size verified before.
    expect(await code(verifyTreeOnChain(chain(6), POOL, 31337, { size: 4, root: OLD_ROOT }, new Map()))).toBe('ok');
    expect(await code(verifyTreeOnChain(chain(6), POOL, 31337, { size: 4, root: OLD_ROOT }, seen))).toBe('tree_mismatch');
    expect(seen.get(`31337:${POOL.toLowerCase()}`)).toBe(5);
  });

  it('an unreachable chain is chain_unavailable, with the first line of the cause', async () => {
    const error = await verifyTreeOnChain(chain(5, [ROOT], true), POOL, 31337, { size: 5, root: ROOT }, new Map()).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'chain_unavailable')).toBe(true);
    expect((error as { details?: string }).details).toBe('connection refused');
  });
});
