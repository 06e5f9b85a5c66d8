// Which vault credits belong to a chain that was reset (pure logic; the browser test
// chain-reset.test.ts covers the whole flow against a real restarted Anvil).
import { describe, expect, it } from 'vitest';
import { creditsFromResetChain, isFromResetChain, type ChainNow } from '../src/chain/chain-reset';
import type { CreditRecord } from '../src/vault';

const POOL = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const NOW: ChainNow = { chainId: 31337, pool: POOL, deploymentBlockHash: `0x${'11'.repeat(32)}`, latestBlock: 100n };
const OLD = `0x${'22'.repeat(32)}` as const;

function credit(patch: Partial<CreditRecord>): CreditRecord {
  return {
    id: '0'.repeat(32),
    nullifier: `0x${'01'.repeat(32)}`,
    secret: `0x${'02'.repeat(32)}`,
    commitment: `0x${'03'.repeat(32)}`,
    status: 'unspent',
    chainId: 31337,
    contract: POOL,
    batch: 'b'.repeat(32),
    fromBlock: '50',
    createdAt: 1,
    ...patch,
  };
}

describe('credits from a reset chain', () => {
  it('a credit whose deployment block hash differs from the chain’s is from a reset chain; the same hash is not', () => {
    expect(isFromResetChain(credit({ deploymentBlockHash: OLD }), NOW)).toBe(true);
    expect(isFromResetChain(credit({ deploymentBlockHash: NOW.deploymentBlockHash }), NOW)).toBe(false);
    // Even made at a block the new chain has not reached yet: the hash decides.
    expect(isFromResetChain(credit({ deploymentBlockHash: NOW.deploymentBlockHash, fromBlock: '500' }), NOW)).toBe(false);
  });

  it('a credit without the hash (older app) is from a reset chain only if made at a block this chain has not reached', () => {
    expect(isFromResetChain(credit({ fromBlock: '101' }), NOW)).toBe(true);
    expect(isFromResetChain(credit({ fromBlock: '100' }), NOW)).toBe(false);
  });

  it('credits of another chain or CreditPool, and archived ones, are never offered', () => {
    const records = [
      credit({ id: 'a'.repeat(32), deploymentBlockHash: OLD }),
      credit({ id: 'b'.repeat(32), deploymentBlockHash: OLD, chainId: 84532 }),
      credit({ id: 'c'.repeat(32), deploymentBlockHash: OLD, contract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' }),
      credit({ id: 'd'.repeat(32), deploymentBlockHash: OLD, archivedAt: 5 }),
      credit({ id: 'e'.repeat(32), deploymentBlockHash: OLD, contract: POOL.toLowerCase() as `0x${string}`, status: 'pending' }),
    ];
    expect(creditsFromResetChain(records, NOW).map((r) => r.id)).toEqual(['a'.repeat(32), 'e'.repeat(32)]);
  });
});
