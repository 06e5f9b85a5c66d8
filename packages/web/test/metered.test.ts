// Protocol v2 metered accounts in Chromium against the real stack (Anvil + CreditPool with a pinned
// state key, the API server with a price table, the Venice simulator, this app; real proofs): open
// an account with lanes, deposit and stake in money; a message charged what it really cost (the
// server's signed refund folded into the balance, never shown); the state persisted over a reload;
// and a call whose answer was lost (reload mid-call) recovered by asking for that call's state.
import { readMeteredParams } from '@zkcredits/core';
import type { Page } from 'playwright-core';
import { createPublicClient, formatUnits, http } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchProfile, removeProfile, screenshot, withTestWallet, type Profile } from './helpers/browser';
import { BUYER, MODEL, startStack, tokenBalance, type Stack } from './helpers/stack';

const PASS = 'a long passphrase 4 tests';
const LANES = 2;
const DEPOSIT = 500_000; // price units per lane (0.50 tUSD: the test token's price unit is its base unit)
const STAKE = 50_000; // 0.05 tUSD per lane
let stack: Stack;
let profile: Profile;
let page: Page;
let cMax: number;
/** The `zkcredits` member of every chat request the app sent, in order. */
const sent: { v?: number; kind?: string; nullifier?: string; [k: string]: unknown }[] = [];
/** Every state question the page asked (`GET …/v2/zkcredits/state/{nullifier}`). */
const asked: string[] = [];

/** tUSD as the app shows it (6 decimals, at least 2 after the point). */
function money(units: number): string {
  const [whole, frac = ''] = formatUnits(BigInt(units), 6).split('.');
  return `${whole}.${frac.padEnd(2, '0')} tUSD`;
}

async function unlock(p: Page): Promise<void> {
  await p.getByLabel('Passphrase', { exact: true }).fill(PASS);
  await p.getByRole('button', { name: 'Unlock' }).click();
  await p.getByTestId('credit-pill').waitFor();
}

async function chat(p: Page, text: string): Promise<void> {
  await p.getByRole('button', { name: 'Chat', exact: true }).click();
  await p.getByLabel('Model').locator(`option[value="${MODEL}"]`).waitFor({ state: 'attached' });
  await p.getByLabel('Message').fill(text);
  await p.getByTestId('send').click();
}

/** The metered account as the vault stores it (a second unlock through the test hooks). */
async function stored(p: Page): Promise<{ lanes: { state: { kind: string; r?: number }; pending?: unknown }[] }> {
  return p.evaluate(async (pass) => {
    type Hooks = { Vault: { unlock(p: string): Promise<{ meteredAccounts(): unknown[]; lock(): void }> } };
    const v = await (window as unknown as { __zkcTest: Hooks }).__zkcTest.Vault.unlock(pass);
    const [a] = v.meteredAccounts();
    v.lock();
    return a as { lanes: { state: { kind: string; r?: number }; pending?: unknown }[] };
  }, PASS);
}

async function vaultBalance(p: Page): Promise<{ balance: string; calls: string; state: string }> {
  await p.getByRole('button', { name: 'Vault', exact: true }).click();
  const row = p.getByTestId('metered-row');
  return {
    balance: (await row.getByTestId('metered-balance').textContent()) ?? '',
    calls: (await row.getByTestId('metered-calls').textContent()) ?? '',
    state: (await row.getByTestId('account-state').textContent()) ?? '',
  };
}

/** The server's signed state of a call (asked by the test, as anyone could). */
async function serverState(nullifier: string): Promise<{ r: number; p: number }> {
  const res = await fetch(`${stack.server.url}/v2/zkcredits/state/${nullifier}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { r: number; p: number };
}

beforeAll(async () => {
  stack = await startStack();
  cMax = (await readMeteredParams(createPublicClient({ chain: foundry, transport: http(stack.anvil.rpcUrl) }), stack.pool)).cMax;
  profile = await launchProfile();
  await withTestWallet(profile.context, { rpcUrl: stack.anvil.rpcUrl, account: BUYER });
  profile.context.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/zk/v1/chat/completions')) sent.push((JSON.parse(r.postData() ?? '{}') as { zkcredits?: (typeof sent)[number] }).zkcredits ?? {});
    if (r.url().includes('/api/zk/v2/zkcredits/state/')) asked.push(r.url().split('/').pop()!);
  });
  page = await profile.context.newPage();
  await page.goto(stack.webUrl);
});

afterAll(async () => {
  await profile?.close().catch(() => undefined);
  if (profile) removeProfile(profile.dir);
  await stack?.stop();
});

describe('metered accounts in the web app (real stack, Chromium)', () => {
  it('opens a metered account: lanes, deposit and stake per lane in money, total (deposit + stake) · lanes', async () => {
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Repeat passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'Buy credits' }).waitFor();
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByText('Test Wallet').click();
    await page.getByRole('button', { name: 'Metered account' }).click();
    await page.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
    expect(await page.getByTestId('metered-cmax').textContent()).toBe(money(cMax));
    await page.getByTestId('metered-lanes').getByRole('button', { name: String(LANES), exact: true }).click();
    await page.getByLabel('Deposit per lane').fill('0.50');
    await page.getByLabel('Stake per lane').fill('0.05');
    expect(await page.getByTestId('metered-total').textContent()).toBe(money((DEPOSIT + STAKE) * LANES));
    const note = (await page.getByTestId('metered-note').textContent()) ?? '';
    expect(note).toContain(`${LANES} calls at once`);
    expect(note).toContain('forfeited by policy penalties');
    await screenshot(page, 'metered-00-form');

    const before = await tokenBalance(stack, BUYER);
    await page.getByTestId('open-metered').click();
    await page.getByTestId('accept-warning').click(); // the vault's first account
    await page.getByTestId('metered-opened').waitFor({ timeout: 60_000 });
    expect(before - (await tokenBalance(stack, BUYER))).toBe(BigInt((DEPOSIT + STAKE) * LANES));
    await page.getByTestId('metered-pill').filter({ hasText: money(DEPOSIT * LANES) }).waitFor();
    await screenshot(page, 'metered-01-opened');
  });

  it('a message is charged what it really cost: the balance drops by exactly C_max − r, never by C_max', async () => {
    await chat(page, 'Hello from a metered account.');
    const turn = page.getByTestId('assistant-turn').last();
    await turn.getByTestId('proof-time').waitFor({ timeout: 120_000 });
    expect(sent.map((z) => [z.v, z.kind])).toEqual([[2, 'metered']]);
    // Nothing the server produced travels back: the request carries a proof and fresh values only.
    expect(Object.keys(sent[0]!).sort()).toEqual(['cm_new', 'kind', 'nullifier', 'proof', 'root', 'today', 'v', 'y']);
    const { r, p } = await serverState(sent[0]!.nullifier!);
    const cost = cMax - r;
    expect(p).toBe(0);
    expect(cost).toBeGreaterThan(0);
    expect(cost).toBeLessThan(cMax);
    // The zkcredits.state event was consumed, not shown.
    const text = (await turn.textContent()) ?? '';
    expect(text).not.toMatch(/metered_state|zkcredits/);
    expect(await turn.getByTestId('call-cost').textContent()).toBe(`cost ${money(cost)}`);
    await screenshot(page, 'metered-03-chat');

    const left = DEPOSIT * LANES - cost;
    const shown = await vaultBalance(page);
    expect(shown).toEqual({ balance: money(left), calls: String(Math.floor((DEPOSIT - cost) / cMax) + DEPOSIT / cMax), state: 'active' });
    await screenshot(page, 'metered-02-vault');
  });

  it('after a reload the lane state is still there (signed, nothing pending) and so is the balance', async () => {
    const { balance } = await vaultBalance(page);
    await page.reload();
    await unlock(page);
    expect((await vaultBalance(page)).balance).toBe(balance);
    const lanes = (await stored(page)).lanes;
    expect(lanes.filter((l) => l.state.kind === 'signed')).toHaveLength(1);
    expect(lanes.some((l) => l.pending)).toBe(false);
    expect(asked).toEqual([]); // the state came with the answer: no question about it
  });

  it('a call whose answer is lost (reload mid-call) gets its state by asking for that call only, and refunds everything', async () => {
    const { balance } = await vaultBalance(page);
    stack.sim.faults.once('hang');
    const inFlight = page.waitForRequest((q) => q.method() === 'POST' && q.url().endsWith('/chat/completions'), { timeout: 120_000 });
    await chat(page, 'This answer never comes.');
    await inFlight;
    const nullifier = sent.at(-1)!.nullifier!;
    // The server has taken the call (reserved, not signed: its answer hangs) before the tab goes.
    for (let i = 0; (await fetch(`${stack.server.url}/v2/zkcredits/state/${nullifier}`)).status !== 409; i++) {
      if (i > 600) throw new Error('the server never took the call');
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.reload();
    await unlock(page);
    // On load the pending lane asks for its state (the server signs a full refund once the client is gone).
    await page.getByRole('button', { name: 'Vault', exact: true }).click();
    await page.getByTestId('metered-row').getByTestId('metered-balance').filter({ hasText: balance }).waitFor({ timeout: 60_000 });
    expect((await serverState(nullifier)).r).toBe(cMax);
    expect(new Set(asked)).toEqual(new Set([nullifier]));
    expect((await stored(page)).lanes.some((l) => l.pending)).toBe(false);
  });
});
