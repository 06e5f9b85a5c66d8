// What a first visit looks like in Chromium against the real stack, the production way: no
// test wallet (none injected), dark mode, JavaScript off, the tab's icon.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchProfile, removeProfile, screenshot, type Profile } from './helpers/browser';
import { textContrast } from './helpers/layout';
import { startStack, type Stack } from './helpers/stack';

const PASS = 'a long passphrase 4 tests';
let stack: Stack;
const profiles: Profile[] = [];
/** Dark mode, and no wallet: this profile never gets the test wallet. */
let page: Page;

async function profile(options: Parameters<typeof launchProfile>[0]): Promise<Page> {
  const p = await launchProfile(options);
  profiles.push(p);
  const tab = await p.context.newPage();
  await tab.goto(stack.webUrl);
  return tab;
}

beforeAll(async () => {
  stack = await startStack();
  page = await profile({ colorScheme: 'dark' });
});

afterAll(async () => {
  for (const p of profiles) {
    await p.close().catch(() => undefined);
    removeProfile(p.dir);
  }
  await stack?.stop();
});

describe('a first visit (Chromium, real stack)', () => {
  it('disabled buttons stay readable in dark mode (text contrast at least 4.5:1)', async () => {
    await page.getByRole('heading', { name: /Private AI chat/ }).waitFor();
    const create = page.getByRole('button', { name: 'Create vault' });
    expect(await create.isDisabled()).toBe(true);
    expect(await textContrast(create)).toBeGreaterThanOrEqual(4.5);

    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Repeat passphrase').fill(PASS);
    await create.click();
    // A desktop window: the tabs sit in the header, there is no menu button.
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await page.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    const send = page.getByTestId('send');
    expect(await send.isDisabled()).toBe(true);
    expect(await textContrast(send)).toBeGreaterThanOrEqual(4.5);
    await page.getByRole('button', { name: 'Vault', exact: true }).click();
    const importButton = page.getByTestId('import');
    expect(await importButton.isDisabled()).toBe(true);
    expect(await textContrast(importButton)).toBeGreaterThanOrEqual(4.5);
  });

  it('without a wallet in the browser, the buy screen says so in plain words and links to wallets', async () => {
    expect(await page.evaluate(() => 'ethereum' in window)).toBe(false);
    await page.getByRole('button', { name: 'Buy credits', exact: true }).click();
    const notice = page.getByTestId('no-wallet');
    await notice.waitFor();
    expect(await notice.locator('b').textContent()).toBe('No wallet found in this browser.');
    const link = notice.getByRole('link', { name: /Find a wallet/ });
    expect(await link.getAttribute('href')).toBe('https://ethereum.org/en/wallets/find-wallet/');
    expect(await link.getAttribute('target')).toBe('_blank');
    // No button that cannot do anything: neither on the screen nor in the header.
    expect(await page.getByRole('button', { name: /Connect/ }).count()).toBe(0);
    // The price still shows, read from the chain and the deployment manifest.
    await page.getByTestId('price').filter({ hasText: '1.50 tUSD' }).waitFor();
    await screenshot(page, 'no-wallet-dark');
  });

  it('with JavaScript off, the page says it needs JavaScript', async () => {
    const off = await profile({ javaScriptEnabled: false });
    const message = off.getByText(/zkcredits needs JavaScript/);
    expect(await message.isVisible()).toBe(true);
    expect(await page.getByText(/zkcredits needs JavaScript/).isVisible()).toBe(false);
  });

  it('the tab shows the app icon (an SVG served by the app)', async () => {
    const href = await page.locator('head link[rel="icon"]').getAttribute('href');
    expect(href).toMatch(/^\/icon\.svg/);
    const res = await page.request.get(new URL(href!, stack.webUrl).href);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toContain('image/svg+xml');
    expect(await res.text()).toContain('<svg');
  });
});
