// Debian Chromium driven by playwright-core, one fresh profile per launch.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { WEB_DIR } from './stack';

export const ARTIFACTS = join(WEB_DIR, 'test-artifacts');

export type Profile = { context: BrowserContext; dir: string; close(): Promise<void> };

/** A phone-sized screen (an iPhone 12–15 class viewport), touch, mobile layout viewport. */
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } as const;

export type ProfileOptions = {
  /** Reopen this user-data-dir instead of a fresh one. */
  dir?: string;
  colorScheme?: 'light' | 'dark';
  /** Screen emulation, e.g. PHONE (default: a 1280×800 desktop window). */
  device?: { viewport: { width: number; height: number }; isMobile?: boolean; hasTouch?: boolean; deviceScaleFactor?: number };
  javaScriptEnabled?: boolean;
};

/** Launches Chromium with a fresh user-data-dir (or `dir` to reopen a profile). */
export async function launchProfile(options: ProfileOptions = {}): Promise<Profile> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'zkc-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
    ...(options.device ?? { viewport: { width: 1280, height: 800 } }),
    colorScheme: options.colorScheme ?? 'light',
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    acceptDownloads: true,
  });
  return {
    context,
    dir,
    async close() {
      await context.close();
    },
  };
}

export function removeProfile(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Gives the page the test wallet (an Anvil account behind an EIP-1193 shim in test builds). */
export async function withTestWallet(
  context: BrowserContext,
  wallet: { rpcUrl: string; account: string; reject?: string[]; hangAfterSend?: boolean },
): Promise<void> {
  await context.addInitScript((w) => {
    (window as unknown as { __ZKC_TEST_WALLET__: unknown }).__ZKC_TEST_WALLET__ = w;
  }, wallet);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** Every request the page makes, to assert none leaves the app's origin (besides the local chain RPC). */
export function recordRequests(context: BrowserContext): string[] {
  const urls: string[] = [];
  context.on('request', (r) => urls.push(r.url()));
  return urls;
}
