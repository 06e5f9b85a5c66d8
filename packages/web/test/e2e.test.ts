// End to end in Chromium against the real stack: Anvil + contracts, the API server, the
// Venice simulator and this app. A test wallet (EIP-1193 shim over an Anvil account, only in
// test builds) pays; every chat message is paid by a proof made in the browser.
import { readFileSync } from 'node:fs';
import { MerkleTree, initPoseidon2, toFieldHex } from '@zkcredits/core';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchProfile, recordRequests, removeProfile, screenshot, withTestWallet, type Profile } from './helpers/browser';
import { BUYER, MODEL, startStack, tokenBalance, type Stack } from './helpers/stack';

const PASS = 'a long passphrase 4 tests';
let stack: Stack;
let profile: Profile;
let page: Page;
let requests: string[];
/** A fresh browser profile holding the restored vault (set by the backup test). */
let restored: Page;
const profiles: Profile[] = [];

async function openApp(context: BrowserContext): Promise<Page> {
  const p = await context.newPage();
  await p.goto(stack.webUrl);
  return p;
}

async function unlock(p: Page): Promise<void> {
  await p.getByLabel('Passphrase', { exact: true }).fill(PASS);
  await p.getByRole('button', { name: 'Unlock' }).click();
  await p.getByTestId('credit-pill').waitFor();
}

async function pill(p: Page): Promise<string> {
  return (await p.getByTestId('credit-pill').textContent()) ?? '';
}

async function connectWallet(p: Page): Promise<void> {
  await p.getByRole('button', { name: 'Connect wallet' }).first().click();
  await p.getByText('Test Wallet').click();
  await p.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
}

async function setWallet(p: Page, patch: { reject?: string[]; hangAfterSend?: boolean }): Promise<void> {
  await p.evaluate((patch) => {
    Object.assign((window as unknown as { __ZKC_TEST_WALLET__: object }).__ZKC_TEST_WALLET__, patch);
  }, patch);
}

beforeAll(async () => {
  stack = await startStack();
  profile = await launchProfile();
  profiles.push(profile);
  await withTestWallet(profile.context, { rpcUrl: stack.anvil.rpcUrl, account: BUYER });
  requests = recordRequests(profile.context);
  page = await openApp(profile.context);
});

afterAll(async () => {
  for (const p of profiles) {
    await p.close().catch(() => undefined);
    removeProfile(p.dir);
  }
  await stack?.stop();
});

describe('zkcredits web app (real stack, Chromium)', () => {
  it('creates a vault, connects the wallet and shows price, balance and total before paying', async () => {
    await page.getByRole('heading', { name: /Private AI chat/ }).waitFor();
    expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
    await screenshot(page, '01-welcome');
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Repeat passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'Buy credits' }).waitFor();
    await connectWallet(page);
    await page.getByLabel('How many credits?').fill('3');
    expect(await page.getByTestId('price').textContent()).toBe('1.50 tUSD');
    expect(await page.getByTestId('balance').textContent()).toBe('20.00 tUSD');
    expect(await page.getByTestId('total').textContent()).toBe('4.50 tUSD');
    await screenshot(page, '02-buy');
  });

  it('buys 3 credits with one permit-signed transaction', async () => {
    const before = await tokenBalance(stack, BUYER);
    await page.getByTestId('buy').click();
    await page.getByText('3 credits added to your vault').waitFor({ timeout: 60_000 });
    expect(await pill(page)).toContain('3 credits');
    expect(before - (await tokenBalance(stack, BUYER))).toBe(4_500_000n);
    await screenshot(page, '03-bought');
  });

  it('a declined wallet request says so in plain words and loses nothing', async () => {
    await setWallet(page, { reject: ['eth_signTypedData_v4'] });
    const before = await tokenBalance(stack, BUYER);
    await page.getByLabel('How many credits?').fill('2');
    await page.getByTestId('buy').click();
    const alert = page.getByRole('alert').filter({ hasText: 'declined' });
    await alert.waitFor();
    expect(await alert.textContent()).toBe('You declined the request in your wallet. Nothing was paid.');
    expect(await tokenBalance(stack, BUYER)).toBe(before);
    expect(await pill(page)).toMatch(/^3 credits$/);
  });

  it('a chat message streams an answer paid by a proof made in this browser', async () => {
    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await page.getByLabel('Model').locator(`option[value="${MODEL}"]`).waitFor({ state: 'attached' });
    await page.getByLabel('Message').fill('Explain zero-knowledge proofs in two sentences.');
    await page.getByTestId('send').click();
    await page.getByTestId('status').waitFor();
    const turn = page.getByTestId('assistant-turn').last();
    await turn.getByTestId('proof-time').waitFor({ timeout: 120_000 });
    expect(((await turn.locator('.prose').textContent()) ?? '').length).toBeGreaterThan(10);
    expect(await pill(page)).toMatch(/^2 credits$/);
    await screenshot(page, '04-chat');
    // Proving fetched the circuit and CRS from the app's own origin only.
    const origins = new Set(requests.map((u) => new URL(u).origin));
    origins.delete(stack.webUrl);
    origins.delete(stack.anvil.rpcUrl);
    expect([...origins].filter((o) => o.startsWith('http'))).toEqual([]);
  });

  it('an upstream failure keeps the credit and says why', async () => {
    stack.sim.faults.once('status:500');
    await page.getByLabel('Message').fill('This one fails upstream.');
    await page.getByTestId('send').click();
    const alert = page.getByTestId('assistant-turn').last().getByRole('alert');
    await alert.waitFor({ timeout: 120_000 });
    expect(await alert.textContent()).toMatch(/not spent/i);
    expect(await pill(page)).toMatch(/^2 credits$/);
  });

  it('a reload keeps the vault (unlock again) and the conversation', async () => {
    await page.reload();
    await unlock(page);
    expect(await pill(page)).toMatch(/^2 credits$/);
    await page.getByRole('button', { name: /Explain zero-knowledge proofs/ }).waitFor();
  });

  it('approve + buy works when permit is switched off', async () => {
    await page.getByRole('button', { name: 'Buy credits', exact: true }).click();
    await page.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
    await page.getByLabel(/Pay with one signature/).uncheck();
    await page.getByLabel('How many credits?').fill('1');
    await page.getByTestId('buy').click();
    await page.getByText('1 credits added to your vault').waitFor({ timeout: 60_000 });
    expect(await pill(page)).toMatch(/^3 credits$/);
  });

  it('a tab closed mid-purchase loses nothing: pending credits are found on chain after reopening', async () => {
    await page.getByLabel(/Pay with one signature/).check();
    await setWallet(page, { hangAfterSend: true });
    await page.getByLabel('How many credits?').fill('2');
    const before = await tokenBalance(stack, BUYER);
    await page.getByTestId('buy').click();
    await page.getByTestId('credit-pill').filter({ hasText: '2 pending' }).waitFor();
    // The transaction was sent; wait until it is mined, then "crash" the tab.
    for (let i = 0; i < 100 && (await tokenBalance(stack, BUYER)) === before; i++) await new Promise((r) => setTimeout(r, 100));
    await page.close();
    page = await openApp(profile.context);
    await unlock(page);
    await page.getByTestId('credit-pill').filter({ hasText: /^5 credits$/ }).waitFor({ timeout: 30_000 });
  });

  it('renders markdown as the answer streams, and the stop button ends it', async () => {
    stack.sim.faults.always('slow:150', { route: 'chat' });
    try {
      await page.getByRole('button', { name: 'Chat', exact: true }).click();
      await page.getByRole('button', { name: /New chat/ }).click();
      await page.getByLabel('Message').fill('Show **bold** words and `inline code` then keep talking for a while please');
      await page.getByTestId('send').click();
      const turn = page.getByTestId('assistant-turn').last();
      await turn.locator('.prose strong').waitFor({ timeout: 120_000 });
      expect(await turn.locator('.prose strong').first().textContent()).toBe('bold');
      // The user's own message is markdown too: bold and inline code, no literal asterisks.
      const mine = page.getByTestId('user-turn').last();
      expect(await mine.locator('strong').textContent()).toBe('bold');
      expect(await mine.locator('code').textContent()).toBe('inline code');
      expect(await mine.textContent()).not.toContain('**');
      await page.getByTestId('stop').click();
      await turn.getByText('Stopped').waitFor();
      const shown = (await turn.locator('.prose').textContent()) ?? '';
      expect(shown).not.toContain('talking for a while please');
      // Part of an answer reached the user, so the credit was spent (as the server decided).
      await page.getByTestId('credit-pill').filter({ hasText: /^4 credits$/ }).waitFor();
    } finally {
      stack.sim.faults.clear();
    }
  });

  it('clears every conversation from this browser on request', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Clear', exact: true }).click();
    await page.getByRole('button', { name: /Explain zero-knowledge proofs/ }).waitFor({ state: 'detached' });
    expect(await page.getByTestId('assistant-turn').count()).toBe(0);
  });

  it('export → import into a fresh browser profile restores the credits', async () => {
    await page.getByRole('button', { name: 'Vault', exact: true }).click();
    expect(await page.getByTestId('count-unspent').textContent()).toBe('4');
    expect(await page.getByTestId('count-spent').textContent()).toBe('2');
    await screenshot(page, '05-vault');
    const download = page.waitForEvent('download');
    await page.getByTestId('export').click();
    const file = await (await download).path();
    expect(JSON.parse(readFileSync(file, 'utf8')).format).toBe('zkcredits-vault-backup');

    const fresh = await launchProfile({ colorScheme: 'dark' });
    profiles.push(fresh);
    const p2 = await fresh.context.newPage();
    await p2.goto(stack.webUrl);
    await p2.getByRole('button', { name: 'Restore backup' }).click();
    await p2.getByLabel('Backup file').setInputFiles(file);
    await p2.getByLabel('Passphrase', { exact: true }).fill('not the passphrase');
    await p2.getByRole('button', { name: 'Restore credits' }).click();
    const refused = p2.getByRole('alert').filter({ hasText: 'passphrase' });
    await refused.waitFor();
    expect(await refused.textContent()).toBe('That passphrase does not open this backup.');
    await p2.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await p2.getByRole('button', { name: 'Restore credits' }).click();
    await p2.getByTestId('credit-pill').filter({ hasText: /^4 credits$/ }).waitFor();
    await p2.getByRole('button', { name: 'Chat', exact: true }).click();
    await screenshot(p2, '06-restored-dark');
    restored = p2;
  });

  it('refuses a server that serves another deployment before syncing or proving: nothing is sent or spent', async () => {
    const p = restored; // a fresh tab: it has not checked the server yet
    const other = `0x${'11'.repeat(20)}`;
    await p.route('**/api/zk/v1/zkcredits/config', async (route) => {
      const response = await route.fetch();
      const honest = (await response.json()) as { chain_id: number; contract: string };
      expect(honest.contract.toLowerCase()).toBe(stack.pool.toLowerCase());
      await route.fulfill({ response, json: { ...honest, contract: other } });
    });
    const asked: string[] = [];
    const record = (r: { url(): string }) => void (/\/(leaves|chat\/completions)/.test(r.url()) && asked.push(r.url()));
    p.on('request', record);
    try {
      await p.getByLabel('Model').locator(`option[value="${MODEL}"]`).waitFor({ state: 'attached' });
      await p.getByLabel('Message').fill('Is this the right server?');
      await p.getByTestId('send').click();
      const alert = p.getByTestId('assistant-turn').last().getByRole('alert');
      await alert.waitFor({ timeout: 60_000 });
      expect(await alert.textContent()).toBe(
        'The zkcredits server behind this app serves another deployment. Nothing was proven or paid; the site’s operator has to fix its configuration.',
      );
      expect(asked).toEqual([]);
      expect(await pill(p)).toMatch(/^4 credits$/);
    } finally {
      p.off('request', record);
      await p.unroute('**/api/zk/v1/zkcredits/config');
    }
  });

  it('a server that leaves a leaf out of the tree is caught against the chain: nothing is proven or spent', async () => {
    const p = restored;
    await initPoseidon2();
    // The lying server: drop one leaf that is not the credit about to be used (the newest
    // batch's first) and send the root of what is left, so the leaves match their root.
    await p.route('**/api/zk/v1/zkcredits/leaves*', async (route) => {
      const response = await route.fetch();
      const honest = (await response.json()) as { from: number; count: number; leaves: string };
      if (honest.from !== 0) return route.fulfill({ response }); // a fresh browser asks from 0
      const bytes = Buffer.from(honest.leaves, 'base64');
      const leaves = Array.from({ length: honest.count }, (_, i) => bytes.subarray(i * 32, i * 32 + 32)).filter((_, i) => i !== honest.count - 2);
      const tree = new MerkleTree();
      tree.insertMany(leaves.map((l) => BigInt(`0x${l.toString('hex')}`)));
      const lie = { from: 0, count: leaves.length, total: leaves.length, root: toFieldHex(tree.root), leaves: Buffer.concat(leaves).toString('base64') };
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(lie) });
    });
    const chats: string[] = [];
    p.on('request', (r) => void (r.url().includes('/chat/completions') && chats.push(r.url())));
    try {
      await p.getByLabel('Model').locator(`option[value="${MODEL}"]`).waitFor({ state: 'attached' });
      await p.getByLabel('Message').fill('Who bought this credit?');
      await p.getByTestId('send').click();
      const alert = p.getByTestId('assistant-turn').last().getByRole('alert');
      await alert.waitFor({ timeout: 60_000 });
      expect(await alert.textContent()).toBe('The server’s view of the credit tree does not match the chain; nothing was spent.');
      expect(chats).toEqual([]);
      expect(await pill(p)).toMatch(/^4 credits$/);
    } finally {
      await p.unroute('**/api/zk/v1/zkcredits/leaves*');
    }
  });

  it('an answer that breaks off after the server answered 200 uses the credit, as the server counts it', async () => {
    // The provider sends its first (empty) chunk, then drops: the server has marked the credit spent.
    stack.sim.faults.once('break-after:1', { route: 'chat' });
    const p = restored;
    await p.getByLabel('Message').fill('This answer breaks off.');
    await p.getByTestId('send').click();
    const alert = p.getByTestId('assistant-turn').last().getByRole('alert');
    await alert.waitFor({ timeout: 120_000 });
    expect(await alert.textContent()).toBe('The answer broke off after it had started; its credit was used. Send the message again to retry.');
    expect(await pill(p)).toMatch(/^3 credits$/);
  });
});
