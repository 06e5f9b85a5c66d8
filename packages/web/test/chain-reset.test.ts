// A vault holding credits from a chain that was reset (Anvil restarted: same chain id, same
// CreditPool address, another history), in Chromium against the real stack.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchProfile, removeProfile, screenshot, withTestWallet, type Profile } from './helpers/browser';
import { BUYER, MODEL, startStack, tokenBalance, type Stack } from './helpers/stack';

const PASS = 'a long passphrase 4 tests';
let stack: Stack;
let profile: Profile;
let page: Page;

async function pill(): Promise<string> {
  return (await page.getByTestId('credit-pill').textContent()) ?? '';
}

async function unlock(): Promise<void> {
  await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.getByTestId('credit-pill').waitFor();
}

async function anvil(method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(stack.anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return ((await res.json()) as { result: unknown }).result;
}

/** The vault's records as stored (a second unlock of the same IndexedDB through the test hooks). */
async function records(): Promise<{ status: string; deploymentBlockHash?: string; archivedAt?: number }[]> {
  return page.evaluate(async (pass) => {
    const t = (window as unknown as { __zkcTest: { Vault: { unlock(p: string): Promise<{ list(): unknown[]; lock(): void }> } } }).__zkcTest;
    const v = await t.Vault.unlock(pass);
    const list = v.list();
    v.lock();
    return list as { status: string; deploymentBlockHash?: string; archivedAt?: number }[];
  }, PASS);
}

async function buy(n: number): Promise<void> {
  await page.getByLabel('How many credits?').fill(String(n));
  await page.getByTestId('buy').click();
}

beforeAll(async () => {
  stack = await startStack();
  profile = await launchProfile();
  await withTestWallet(profile.context, { rpcUrl: stack.anvil.rpcUrl, account: BUYER });
  page = await profile.context.newPage();
  await page.goto(stack.webUrl);
});

afterAll(async () => {
  await profile?.close();
  if (profile) removeProfile(profile.dir);
  await stack?.stop();
});

describe('credits from a chain that was reset (Chromium, real stack)', () => {
  it('new credits record the hash of the block the CreditPool was deployed in', async () => {
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Repeat passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByText('Test Wallet').click();
    await page.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
    await buy(2);
    await page.getByText('2 credits added to your vault').waitFor({ timeout: 60_000 });
    const list = await records();
    expect(list.map((r) => [r.status, r.deploymentBlockHash])).toEqual([
      ['unspent', stack.deploymentBlockHash],
      ['unspent', stack.deploymentBlockHash],
    ]);
  });

  it('a purchase still unmined when the chain is reset stays pending', async () => {
    await anvil('evm_setAutomine', [false]);
    await page.evaluate(() => Object.assign((window as unknown as { __ZKC_TEST_WALLET__: object }).__ZKC_TEST_WALLET__, { hangAfterSend: true }));
    await page.getByRole('button', { name: 'Buy credits', exact: true }).click();
    await buy(1);
    await page.getByTestId('credit-pill').filter({ hasText: '1 pending' }).waitFor();
    // The transaction reached the node (its mempool) but no block.
    for (;;) {
      const pending = (await anvil('eth_getBlockByNumber', ['pending', false])) as { transactions: string[] };
      if (pending.transactions.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await pill()).toBe('2 credits · 1 pending');
  });

  it('after the reset, the vault offers to archive those credits, and the chat says why they cannot be used', async () => {
    const before = { pool: stack.pool, hash: stack.deploymentBlockHash };
    await stack.resetChain();
    // A real reset: same chain id and CreditPool address, another history.
    expect(stack.pool).toBe(before.pool);
    expect(stack.deploymentBlockHash).not.toBe(before.hash);
    expect(await tokenBalance(stack, BUYER)).toBe(20_000_000n);

    await page.reload();
    await unlock();
    const notice = page.getByTestId('reset-notice');
    await notice.waitFor({ timeout: 30_000 });
    expect(await notice.locator('b').textContent()).toBe('3 credits in your vault (2 unused, 1 pending) come from an earlier run of this chain.');
    expect(await pill()).toBe('2 credits · 1 pending');
    await screenshot(page, 'reset-offer');

    // Before archiving, a message does not wait forever for a credit the chain will never have.
    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await page.getByLabel('Model').locator(`option[value="${MODEL}"]`).waitFor({ state: 'attached' });
    await page.getByLabel('Message').fill('Is my old credit still good?');
    await page.getByTestId('send').click();
    const alert = page.getByTestId('assistant-turn').last().getByRole('alert');
    await alert.waitFor({ timeout: 60_000 });
    expect(await alert.textContent()).toBe(
      'This credit was bought on an earlier run of this chain, which has been reset: it can never be used here. Archive such credits in the notice above.',
    );
    expect(await pill()).toBe('2 credits · 1 pending');
  });

  it('archiving keeps the records but stops counting them; credits bought on the new chain count', async () => {
    await notice().getByRole('button', { name: 'Archive them' }).click();
    await page.getByTestId('archived-notice').waitFor();
    expect(await page.getByTestId('archived-notice').textContent()).toContain('Archived 3 credits from the reset chain.');
    await notice().waitFor({ state: 'detached' });
    expect(await pill()).toBe('0 credits');

    await page.getByRole('button', { name: 'Vault', exact: true }).click();
    expect(await page.getByTestId('count-unspent').textContent()).toBe('0');
    expect(await page.getByTestId('count-pending').textContent()).toBe('0');
    expect(await page.getByTestId('count-archived').textContent()).toBe('3');
    const list = await records();
    expect(list).toHaveLength(3);
    expect(list.every((r) => typeof r.archivedAt === 'number')).toBe(true);
    await screenshot(page, 'reset-archived');

    // The new chain: buy one credit; it counts and is not offered for archiving.
    await page.reload();
    await unlock();
    await page.getByRole('button', { name: 'Buy credits', exact: true }).click();
    await page.getByTestId('balance').filter({ hasText: '20.00 tUSD' }).waitFor();
    await buy(1);
    await page.getByText('1 credits added to your vault').waitFor({ timeout: 60_000 });
    expect(await pill()).toBe('1 credit');
    await page.getByRole('button', { name: 'Vault', exact: true }).click();
    expect(await page.getByTestId('count-unspent').textContent()).toBe('1');
    expect(await page.getByTestId('count-archived').textContent()).toBe('3');
    const fresh = (await records()).filter((r) => r.archivedAt === undefined);
    expect(fresh.map((r) => [r.status, r.deploymentBlockHash])).toEqual([['unspent', stack.deploymentBlockHash]]);
    expect(await notice().count()).toBe(0);
  });
});

function notice() {
  return page.getByTestId('reset-notice');
}
