// Metered accounts from the terminal, against the real stack (Anvil + CreditPool with a pinned state
// key, the server with metered calls on, venice-sim), one real metered proof: open --metered (the
// warning, refused without confirmation) → balance (money and calls at C_max) → a chat paid by a lane
// (its refund folded in) → export (backup version 3) → import into a fresh home (lanes checked
// against the spent list) shows the same balance.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initPoseidon2 } from '@zkcredits/core';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fundedWallet } from '../../client/test/helpers.js';
import { startTestChain, type TestChain } from '../../server/test/helpers/chain.js';
import { MODEL, meteredEnv, startStack, type Stack } from '../../server/test/helpers/stack.js';
import { METERED_WARNING } from '../src/commands/accounts.js';
import { runCli, tempDir } from './cli-helpers.js';

const PASS_A = 'first home passphrase';
const PASS_B = 'second home passphrase';
const WALLET = 3;
const WARNING_LINE = METERED_WARNING.split('\n')[1]!.trim();

type MeteredJson = { accountId: string; status: string; lanes: number; priceUnits: number; money: string; moneyText: string; callsAtCmax: number; cMax: number; pending: number; expires?: string };

describe('zkcredits open --metered / balance / chat / export → import', () => {
  let chain: TestChain;
  let stack: Stack;
  let root: string;
  let homeA: string;
  let homeB: string;
  let backup: string;

  const cli = (home: string, pass: string, args: string[], env: Record<string, string> = {}) => runCli(['--home', home, '--json', ...args], { env: { ZKC_PASSPHRASE: pass, ...env } });
  const meteredIn = async (home: string, pass: string) => {
    const res = await cli(home, pass, ['balance']);
    expect(res.code, res.stderr).toBe(0);
    return (res.json as { metered: MeteredJson[] }).metered;
  };
  const open = ['open', '--metered', '--lanes', '2', '--deposit', '0.3', '--stake', '0.002'];

  beforeAll(async () => {
    await initPoseidon2();
    chain = await startTestChain();
    stack = await startStack('sqlite', { chain, env: meteredEnv(chain) });
    await fundedWallet(stack, WALLET);
    root = await tempDir('metered');
    homeA = join(root, 'a');
    homeB = join(root, 'b');
    backup = join(root, 'backup.json');
    for (const [home, pass] of [
      [homeA, PASS_A],
      [homeB, PASS_B],
    ] as const) {
      const init = await runCli(['--home', home, '--json', 'init', '--server', stack.url, '--rpc', chain.rpcUrl, '--no-keychain', '--model', MODEL], { env: { ZKC_PASSPHRASE: pass } });
      expect(init.code, init.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await stack?.stop();
    await chain?.stop();
  });

  it('warns before the first account and opens nothing without confirmation; bad amounts are usage errors', async () => {
    const refused = await cli(homeA, PASS_A, open, { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! });
    expect(refused.json).toMatchObject({ ok: false, error: { code: 'confirmation_required' } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(WARNING_LINE);
    const lanes = await cli(homeA, PASS_A, ['open', '--metered', '--lanes', '3', '--deposit', '1', '--stake', '1', '--yes']);
    expect(lanes.json).toMatchObject({ ok: false, error: { code: 'usage' } });
    const money = await cli(homeA, PASS_A, ['open', '--metered', '--deposit', 'ten', '--stake', '1', '--yes']);
    expect(money.json).toMatchObject({ ok: false, error: { code: 'usage' } });
    expect(await meteredIn(homeA, PASS_A)).toEqual([]);
  });

  it('open --metered --lanes 2 --deposit 0.3 --stake 0.002 --yes: 0.3 tUSD over 2 lanes, 6 calls at C_max; balance says so offline', async () => {
    const before = stack.server.indexer.status.leafCount;
    const opened = await cli(homeA, PASS_A, [...open, '--yes'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! });
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stderr).toContain(WARNING_LINE);
    expect(opened.stderr).toContain('Paying 0.302 tUSD');
    const result = opened.json as { ok: boolean; warned: boolean; transactionHash: string; metered: MeteredJson };
    expect(result).toMatchObject({ ok: true, warned: true, metered: { status: 'open', lanes: 2, priceUnits: 300_000, money: '300000', moneyText: '0.3 tUSD', callsAtCmax: 6, cMax: chain.cMax } });
    expect(result.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    await stack.waitIndexed(before + 1);

    expect(await meteredIn(homeA, PASS_A)).toEqual([expect.objectContaining({ accountId: result.metered.accountId, priceUnits: 300_000, callsAtCmax: 6, pending: 0 })]);
    const human = await runCli(['--home', homeA, 'balance'], { env: { ZKC_PASSPHRASE: PASS_A } });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('Metered accounts: 6 calls at C_max left in 1 account');
    expect(human.stdout).toContain('metered  0.3 tUSD left, 6 calls at C_max (0.05 tUSD)  2 lanes');
  });

  it('a chat is paid by a lane: the balance drops by what the call cost, less than C_max', async () => {
    const chat = await cli(homeA, PASS_A, ['chat', '-m', 'a metered question']);
    expect(chat.code, chat.stderr).toBe(0);
    expect((chat.json as { content: string }).content).toContain('a metered question');
    const [account] = await meteredIn(homeA, PASS_A);
    const cost = 300_000 - account!.priceUnits;
    expect(cost).toBeGreaterThan(0);
    expect(cost).toBeLessThan(chain.cMax);
    expect(account).toMatchObject({ pending: 0, callsAtCmax: 5 });
  });

  it('export writes backup version 3; import into a fresh home checks the lanes and shows the same balance', async () => {
    const exported = await cli(homeA, PASS_A, ['export', backup]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.json).toMatchObject({ ok: true, accounts: 0, metered: 1, masterSecret: true });
    const file = JSON.parse(await readFile(backup, 'utf8')) as { version: number; metered: unknown[] };
    expect(file).toMatchObject({ version: 3 });
    expect(file.metered).toHaveLength(1);

    const imported = await cli(homeB, PASS_B, ['import', backup], { ZKC_BACKUP_PASSPHRASE: PASS_A });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json).toMatchObject({ ok: true, metered: { added: 1, updated: 0 }, recoveredMetered: [{ status: 'open', lanes: 2, staleLanes: 0, pendingLanes: 0 }] });
    const [a] = await meteredIn(homeA, PASS_A);
    expect(await meteredIn(homeB, PASS_B)).toEqual([{ ...a, recoveryNeeded: false }]);
  });
});
