// The app on a phone-sized screen (390×844, touch) in Chromium against the real stack:
// nothing scrolls sideways on any screen, and the header's navigation is behind a menu button.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PHONE, launchProfile, removeProfile, screenshot, withTestWallet, type Profile } from './helpers/browser';
import { horizontalOverflow } from './helpers/layout';
import { BUYER, startStack, type Stack } from './helpers/stack';

const PASS = 'a long passphrase 4 tests';
let stack: Stack;
let profile: Profile;
let page: Page;

const menuButton = () => page.getByRole('button', { name: 'Menu' });
const menu = () => page.getByRole('navigation', { name: 'Menu' });

beforeAll(async () => {
  stack = await startStack();
  profile = await launchProfile({ device: PHONE });
  await withTestWallet(profile.context, { rpcUrl: stack.anvil.rpcUrl, account: BUYER });
  page = await profile.context.newPage();
  await page.goto(stack.webUrl);
});

afterAll(async () => {
  await profile?.close();
  if (profile) removeProfile(profile.dir);
  await stack?.stop();
});

describe('on a phone (390×844)', () => {
  it('welcome: nothing overflows sideways', async () => {
    await page.getByRole('heading', { name: /Private AI chat/ }).waitFor();
    expect(await page.evaluate(() => window.innerWidth)).toBe(390);
    expect(await horizontalOverflow(page)).toEqual([]);
    await screenshot(page, 'phone-01-welcome');
  });

  it('buy: the header shows a menu button instead of the tabs; nothing overflows, before and after paying', async () => {
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Repeat passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'Buy credits' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(false);
    expect(await menuButton().getAttribute('aria-expanded')).toBe('false');
    expect(await horizontalOverflow(page)).toEqual([]);

    await page.getByRole('button', { name: 'Connect wallet' }).click();
    await page.getByText('Test Wallet').click();
    await page.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
    await page.getByLabel('How many credits?').fill('1024');
    expect(await horizontalOverflow(page)).toEqual([]);
    await page.getByLabel('How many credits?').fill('2');
    await page.getByTestId('buy').click();
    await page.getByText('2 credits added to your vault').waitFor({ timeout: 60_000 });
    expect(await horizontalOverflow(page)).toEqual([]);
    await screenshot(page, 'phone-02-buy');
  });

  it('the menu button opens the navigation, which goes to the vault and closes', async () => {
    await menuButton().click();
    await menu().waitFor();
    expect(await menuButton().getAttribute('aria-expanded')).toBe('true');
    expect(await horizontalOverflow(page)).toEqual([]);
    await screenshot(page, 'phone-03-menu');
    await menu().getByRole('button', { name: 'Vault' }).click();
    await page.getByRole('heading', { name: 'Vault', exact: true }).waitFor();
    await menu().waitFor({ state: 'detached' });
    expect(await menuButton().getAttribute('aria-expanded')).toBe('false');
    expect(await page.getByTestId('count-unspent').textContent()).toBe('2');
    expect(await horizontalOverflow(page)).toEqual([]);
    await screenshot(page, 'phone-04-vault');
  });

  it('chat: fits the screen; the conversation list opens from a button', async () => {
    await menuButton().click();
    await menu().getByRole('button', { name: 'Chat' }).click();
    await page.getByRole('heading', { name: 'What can I help with?' }).waitFor();
    await page.getByLabel('Message').fill(`A long line without spaces: ${'https://example.org/'.repeat(20)}`);
    expect(await horizontalOverflow(page)).toEqual([]);
    await screenshot(page, 'phone-05-chat');

    const conversations = page.getByRole('navigation', { name: 'Conversations' });
    expect(await conversations.isVisible()).toBe(false);
    await page.getByRole('button', { name: /Conversations/ }).click();
    await conversations.waitFor();
    expect(await horizontalOverflow(page)).toEqual([]);
    await page.locator('#conversations').getByRole('button', { name: /New chat/ }).click();
    await conversations.waitFor({ state: 'hidden' });
  });
});
