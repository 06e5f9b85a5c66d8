// Protocol v2 accounts in Chromium against the real stack (Anvil + CreditPool, the API server, the
// Venice simulator, this app): the warning before the first opening, an opening for N calls, chat
// paid by tickets, one writer per account across tabs (Web Locks), a reload mid-send burning its
// ticket, and a backup restored in a fresh profile resuming after the last used ticket (/spent).
import { readFileSync } from 'node:fs';
import { SPENT_PREFIXES, downloadSpentNullifiers, initPoseidon2, readAccount, ticketNullifier, toFieldHex } from '@zkcredits/core';
import type { BrowserContext, Page } from 'playwright-core';
import { createPublicClient, http } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchProfile, removeProfile, screenshot, withTestWallet, type Profile } from './helpers/browser';
import { BUYER, MODEL, TICKET_PRICE, startStack, tokenBalance, type Stack } from './helpers/stack';

const PASS = 'a long passphrase 4 tests';
const CALLS = 8;
let stack: Stack;
let profile: Profile;
let page: Page;
const profiles: Profile[] = [];
/** The `zkcredits` member of every chat request the app sent, in order. */
const sent: { v?: number; kind?: string; nullifier?: string }[] = [];
/** A backup exported right after the opening (its counter at 0). */
let backupFile: string;
/** The account's secret, as the vault holds it (read through the test hooks). */
let k: bigint;

function recordChats(context: BrowserContext): void {
  context.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/zk/v1/chat/completions')) sent.push((JSON.parse(r.postData() ?? '{}') as { zkcredits?: object }).zkcredits ?? {});
  });
}

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

/** The vault's accounts as stored (a second unlock through the test hooks; only while nothing is in flight). */
async function accounts(p: Page): Promise<{ secret: string; accountId: string; tickets: number; nextTicket: number; burned: number }[]> {
  return p.evaluate(async (pass) => {
    type Hooks = { Vault: { unlock(p: string): Promise<{ accounts(): unknown[]; lock(): void }> } };
    const v = await (window as unknown as { __zkcTest: Hooks }).__zkcTest.Vault.unlock(pass);
    const list = v.accounts();
    v.lock();
    return list as { secret: string; accountId: string; tickets: number; nextTicket: number; burned: number }[];
  }, PASS);
}

async function callsLeft(p: Page): Promise<string> {
  await p.getByRole('button', { name: 'Vault', exact: true }).click();
  return (await p.getByTestId('calls-left').first().textContent()) ?? '';
}

async function chat(p: Page, text: string): Promise<void> {
  await p.getByRole('button', { name: 'Chat', exact: true }).click();
  await p.getByLabel('Model').locator(`option[value="${MODEL}"]`).waitFor({ state: 'attached' });
  await p.getByLabel('Message').fill(text);
  await p.getByTestId('send').click();
}

async function answered(p: Page): Promise<void> {
  await p.getByTestId('assistant-turn').last().getByTestId('proof-time').waitFor({ timeout: 120_000 });
}

const nf = (i: number) => toFieldHex(ticketNullifier(k, i));

beforeAll(async () => {
  await initPoseidon2();
  stack = await startStack();
  profile = await launchProfile();
  profiles.push(profile);
  await withTestWallet(profile.context, { rpcUrl: stack.anvil.rpcUrl, account: BUYER });
  recordChats(profile.context);
  page = await openApp(profile.context);
});

afterAll(async () => {
  for (const p of profiles) {
    await p.close().catch(() => undefined);
    removeProfile(p.dir);
  }
  await stack?.stop();
});

describe('v2 accounts in the web app (real stack, Chromium)', () => {
  it('says what a reused ticket publishes before the first opening, then opens an account for N calls at the contract’s price', async () => {
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Repeat passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'Buy credits' }).waitFor();
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByText('Test Wallet').click();
    await page.getByRole('button', { name: 'Account for many calls' }).click();
    await page.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
    expect(await page.getByLabel('How many calls?').inputValue()).toBe('100');
    expect(await page.getByTestId('call-price').textContent()).toBe('0.01 tUSD');
    expect(await page.getByTestId('account-total').textContent()).toBe('1.00 tUSD');
    expect(await page.getByTestId('account-expiry').textContent()).toMatch(/^365 days \(until \w{3} \d{1,2}, \d{4}\)$/);
    await page.getByLabel('How many calls?').fill(String(CALLS));
    expect(await page.getByTestId('account-total').textContent()).toBe('0.08 tUSD');

    const before = await tokenBalance(stack, BUYER);
    await page.getByTestId('open-account').click();
    const warning = page.getByTestId('account-warning');
    await warning.waitFor();
    const words = (await warning.textContent()) ?? '';
    expect(words).toContain('publish the account’s secret');
    expect(words).toContain('past messages');
    expect(words).toContain('never sends a ticket again with another message');
    expect(words).toContain('one tab at a time');
    await screenshot(page, 'accounts-01-warning');
    // Nothing was saved or paid before the warning was accepted.
    expect(await tokenBalance(stack, BUYER)).toBe(before);
    expect(await accounts(page)).toEqual([]);

    await page.getByTestId('accept-warning').click();
    await page.getByTestId('account-opened').waitFor({ timeout: 60_000 });
    expect(before - (await tokenBalance(stack, BUYER))).toBe(TICKET_PRICE * BigInt(CALLS));
    await page.getByTestId('credit-pill').filter({ hasText: `0 credits · ${CALLS} calls` }).waitFor();
    const [account] = await accounts(page);
    k = BigInt(account!.secret);
    const client = createPublicClient({ chain: foundry, transport: http(stack.anvil.rpcUrl) });
    expect(await readAccount(client, stack.pool, BigInt(account!.accountId))).toMatchObject({ tickets: CALLS, status: 1 });
    await screenshot(page, 'accounts-02-opened');

    // A backup made now (counter at 0), restored later in a fresh profile.
    await page.getByRole('button', { name: 'Vault', exact: true }).click();
    const download = page.waitForEvent('download');
    await page.getByTestId('export').click();
    backupFile = (await (await download).path())!;
    expect(JSON.parse(readFileSync(backupFile, 'utf8')).version).toBe(2);
  });

  it('pays two messages with two tickets: calls left goes N → N−2, and the server saw two distinct nullifiers', async () => {
    await chat(page, 'First message paid by a ticket.');
    await answered(page);
    await chat(page, 'Second message paid by a ticket.');
    await answered(page);
    expect(sent.map((z) => [z.v, z.kind])).toEqual([[2, 'flat'], [2, 'flat']]);
    expect(sent.map((z) => z.nullifier)).toEqual([nf(0), nf(1)]);
    const spent = await downloadSpentNullifiers({ server: stack.server.url, fetch });
    expect(spent.has(BigInt(nf(0))) && spent.has(BigInt(nf(1)))).toBe(true);
    expect(await callsLeft(page)).toBe(String(CALLS - 2));
    await screenshot(page, 'accounts-03-vault');
  });

  it('two tabs never use the same ticket: the second waits for the account’s Web Lock, then takes the next ticket', async () => {
    const other = await openApp(profile.context);
    try {
      await unlock(other);
      stack.sim.faults.once('hang'); // the first tab's answer does not come until it stops
      const firstSent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/chat/completions'), { timeout: 120_000 });
      await chat(page, 'This answer hangs while the other tab waits.');
      await firstSent;
      await chat(other, 'Sent from the second tab.');
      await other.getByTestId('status').filter({ hasText: 'Another tab is using your account' }).waitFor({ timeout: 60_000 });
      expect(sent).toHaveLength(3); // the second tab sent nothing while the first held the account
      await page.getByTestId('stop').click();
      await page.getByTestId('assistant-turn').last().getByText('Stopped').waitFor();
      await answered(other);
      expect(sent.slice(2).map((z) => z.nullifier)).toEqual([nf(2), nf(3)]);
    } finally {
      await other.close();
    }
  });

  it('a reload in the middle of a send burns that ticket, and the next message uses the next one', async () => {
    stack.sim.faults.once('hang');
    const inFlight = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/chat/completions'), { timeout: 120_000 });
    await chat(page, 'This tab reloads before the answer.');
    await inFlight;
    expect(sent.at(-1)?.nullifier).toBe(nf(4));
    await page.reload();
    await unlock(page);
    const [account] = await accounts(page);
    expect(account).toMatchObject({ nextTicket: 5 });
    // Burned: this send, and the one stopped in the first tab (no answer: it stayed in flight for an identical retry).
    expect(account!.burned).toBe(2);
    await chat(page, 'After the reload.');
    await answered(page);
    expect(sent.at(-1)?.nullifier).toBe(nf(5));
    expect(await callsLeft(page)).toBe(String(CALLS - 6));
  });

  it('a second opening does not ask again: the warning is remembered in the vault', async () => {
    await page.getByRole('button', { name: 'Buy credits', exact: true }).click();
    await page.getByRole('button', { name: 'Account for many calls' }).click();
    await page.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
    await page.getByLabel('How many calls?').fill('1');
    await page.getByTestId('open-account').click();
    // Opening goes on only once the warning is accepted: it was not shown.
    await page.getByTestId('account-opened').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('account-warning').count()).toBe(0);
    await page.getByTestId('credit-pill').filter({ hasText: `· ${CALLS - 6 + 1} calls` }).waitFor();
  });

  it('a backup restored in a fresh profile resumes after the last used ticket (recovery through /spent)', async () => {
    const fresh = await launchProfile();
    profiles.push(fresh);
    const asked: string[] = [];
    fresh.context.on('request', (r) => void (r.url().includes('/zkcredits/spent') && asked.push(new URL(r.url()).search)));
    recordChats(fresh.context);
    const p = await openApp(fresh.context);
    await p.getByRole('button', { name: 'Restore backup' }).click();
    await p.getByLabel('Backup file').setInputFiles(backupFile);
    await p.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await p.getByRole('button', { name: 'Restore credits' }).click();
    await p.getByTestId('recovery-done').waitFor({ timeout: 60_000 });
    // Every bucket, through the app's own origin; never a question about one nullifier.
    expect(asked.map((q) => new URLSearchParams(q).get('prefix'))).toEqual([...SPENT_PREFIXES]);
    // The backup's account continues after ticket 5 (the last the server saw); the account opened
    // after the backup was made is found on chain from the master secret.
    const restored = await accounts(p);
    expect(restored.find((a) => BigInt(a.secret) === k)).toMatchObject({ nextTicket: 6 });
    expect(restored).toHaveLength(2);
    await p.getByTestId('credit-pill').filter({ hasText: `· ${CALLS - 6 + 1} calls` }).waitFor();
    await chat(p, 'From the restored vault.');
    await answered(p);
    expect(sent.at(-1)?.nullifier).toBe(nf(6));
  });
});
