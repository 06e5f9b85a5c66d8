// End-to-end encrypted chat in Chromium against the real stack. The worker verifies the
// simulator's attestation (full DCAP under the sim's test PKI, trusted only through the test
// build's hook), encrypts to the attested key, and decrypts the answer; the message is paid by
// a proof made in the browser. A recording TCP proxy sits between the app's own pass-through
// (`/api/zk`) and the API server, and both servers' output is captured: the prompt's and the
// answer's plaintext must be in none of it. A tampered attestation sends nothing and spends nothing.
import { randomBytes } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchProfile, removeProfile, screenshot, withTestWallet, type Profile } from './helpers/browser';
import { leaks, startRecordingProxy, type Recorder } from './helpers/recorder';
import { BUYER, E2EE_MODEL, MODEL, startStack, type Stack } from './helpers/stack';

const PASS = 'a long passphrase 4 tests';
const E2EE_HEADERS = ['x-venice-tee-client-pub-key', 'x-venice-tee-model-pub-key', 'x-venice-tee-signing-algo'];
const PACKED = /^[0-9a-f]{186,}$/;

let stack: Stack;
let recorder: Recorder;
let profile: Profile;
let page: Page;
const apiLog: Buffer[] = [];
const webLog: Buffer[] = [];
/** Chat requests the page made (POST /api/zk/v1/chat/completions: each carries a proof). */
const chatPosts: string[] = [];

/** A word that occurs nowhere unless this test put it there. */
const marker = (tag: string) => `zkc${tag}${randomBytes(6).toString('hex')}`;

function everythingTheServersSaw(): Buffer {
  return Buffer.concat([recorder.sent(), recorder.received(), ...apiLog, ...webLog]);
}

async function pill(p: Page): Promise<string> {
  return (await p.getByTestId('credit-pill').textContent()) ?? '';
}

async function chooseModel(p: Page, id: string): Promise<void> {
  await p.getByLabel('Model').locator(`option[value="${id}"]`).waitFor({ state: 'attached' });
  await p.getByLabel('Model').selectOption(id);
}

async function trustSimRoot(p: Page): Promise<void> {
  const root = Buffer.from(stack.sim.attestationRootCaDer).toString('hex');
  await p.waitForFunction(() => '__zkcTest' in window);
  await p.evaluate(async (hex) => {
    await (window as unknown as { __zkcTest: { trustAttestationRoot(h: string): Promise<void> } }).__zkcTest.trustAttestationRoot(hex);
  }, root);
}

function chatRequestsAtSim() {
  return stack.sim.state.requests.filter((r) => r.path.endsWith('/chat/completions'));
}

async function newPage(context: BrowserContext): Promise<Page> {
  const p = await context.newPage();
  p.on('request', (r) => void (r.method() === 'POST' && r.url().includes('/chat/completions') && chatPosts.push(r.url())));
  await p.goto(stack.webUrl);
  return p;
}

beforeAll(async () => {
  stack = await startStack({
    e2ee: true,
    apiLog: (c) => apiLog.push(c),
    webOutput: (c) => webLog.push(c),
    interpose: async (apiUrl) => (recorder = await startRecordingProxy(apiUrl)).url,
  });
  profile = await launchProfile();
  await withTestWallet(profile.context, { rpcUrl: stack.anvil.rpcUrl, account: BUYER });
  page = await newPage(profile.context);
});

afterAll(async () => {
  await profile?.close().catch(() => undefined);
  if (profile) removeProfile(profile.dir);
  await stack?.stop();
  await recorder?.close();
});

describe('end-to-end encrypted chat (real stack, Chromium)', () => {
  it('buys 3 credits with the test wallet', async () => {
    await page.getByLabel('Passphrase', { exact: true }).fill(PASS);
    await page.getByLabel('Repeat passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Create vault' }).click();
    await page.getByRole('heading', { name: 'Buy credits' }).waitFor();
    await page.getByRole('button', { name: 'Connect wallet' }).first().click();
    await page.getByText('Test Wallet').click();
    await page.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
    await page.getByLabel('How many credits?').fill('3');
    await page.getByTestId('buy').click();
    await page.getByText('3 credits added to your vault').waitFor({ timeout: 60_000 });
    expect(await pill(page)).toMatch(/^3 credits$/);
    await trustSimRoot(page);
  });

  it('E2EE by default: verified in the browser, paid by a proof, decrypted; plaintext in no byte the servers saw or logged', async () => {
    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    // The default model is the E2EE one, labelled so; the other says the operator can read it.
    await page.waitForFunction((id) => (document.querySelector('select[aria-label="Model"]') as HTMLSelectElement | null)?.value === id, E2EE_MODEL);
    expect(await page.getByLabel('Model').locator(`option[value="${E2EE_MODEL}"]`).textContent()).toContain('end-to-end encrypted');
    expect(await page.getByLabel('Model').locator(`option[value="${MODEL}"]`).textContent()).toContain('the operator can read this');
    await page.getByTestId('e2ee-badge').and(page.locator('[data-state="pending"]')).waitFor();

    const word = marker('prompt');
    const prompt = `Keep this between us: ${word} is my secret.`;
    const before = chatRequestsAtSim().length;
    await page.getByLabel('Message').fill(prompt);
    await page.getByTestId('send').click();
    const turn = page.getByTestId('assistant-turn').last();
    await turn.getByTestId('proof-time').waitFor({ timeout: 120_000 });
    await turn.getByTestId('e2ee-turn').waitFor();
    const answer = ((await turn.locator('.prose').textContent()) ?? '').trim();
    // The sim answers `sim-<hash>: <the words of the question>`: decrypted here, so the marker is back.
    expect(answer).toMatch(/^sim-[0-9a-f]{8}:/);
    expect(answer).toContain(word);
    expect(await pill(page)).toMatch(/^2 credits$/);

    // The badge says what was verified; its details list every check.
    const badge = page.getByTestId('e2ee-badge');
    expect(await badge.getAttribute('data-state')).toBe('verified');
    expect(await badge.textContent()).toMatch(/^E2EE · DCAP verified · UpToDate · debug off · key 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4}/);
    await badge.click();
    const details = page.getByTestId('e2ee-details');
    await details.waitFor();
    for (const check of ['nonce_echo', 'signing_key', 'debug_off', 'report_data', 'dcap_signature', 'dcap_crl', 'tcb_status']) {
      expect(await details.locator(`tr[data-check="${check}"]`).getAttribute('data-status'), check).toBe('pass');
    }
    expect(await details.locator('tr[data-check="gpu"]').getAttribute('data-status')).toBe('skipped');
    expect(await details.textContent()).toContain('NVIDIA GPU evidence is not verified');
    expect(await details.textContent()).toContain('E2EE gateway VM');
    await screenshot(page, 'e2ee-01-verified');

    // The enclave (sim) got ciphertext only, the three headers, no tools.
    const chats = chatRequestsAtSim();
    expect(chats.length).toBe(before + 1);
    const atSim = chats.at(-1)!;
    expect(atSim.e2ee).toBe(true);
    for (const h of E2EE_HEADERS) expect(atSim.headers[h], h).toBeTruthy();
    expect(atSim.headers['x-venice-tee-model-pub-key']).toBe(stack.sim.enclavePublicKeyHex(E2EE_MODEL));
    const body = atSim.body as { messages: { content: string }[]; tools?: unknown };
    expect(body.tools).toBeUndefined();
    expect(body.messages.length).toBeGreaterThan(0);
    for (const m of body.messages) expect(m.content).toMatch(PACKED);
    expect(atSim.encryptedFields).toBe(body.messages.length);

    // Plaintext nowhere: not between the app's pass-through and the API server (both ways),
    // not in the API server's logs (most verbose level), not in the web server's output.
    const seen = everythingTheServersSaw();
    const answerHead = answer.split(' ')[0]!; // `sim-xxxxxxxx:`, a word only the plaintext answer has
    expect(leaks(seen, [prompt, word, answer, answerHead])).toEqual([]);
    // …and the recording did carry the request: its ciphertext and headers went through.
    expect(recorder.sent().includes(Buffer.from(body.messages[0]!.content))).toBe(true);
    expect(recorder.sent().toString('latin1').toLowerCase()).toContain('x-venice-tee-client-pub-key');
    expect(apiLog.length).toBeGreaterThan(0);
  });

  it('an E2EE conversation is never sent to a model the operator can read; a new chat can be, labelled so (and the recording sees it)', async () => {
    await chooseModel(page, MODEL);
    await page.getByTestId('e2ee-downgrade').waitFor();
    expect(await page.getByTestId('send').isDisabled()).toBe(true);

    await page.getByRole('button', { name: /New chat/ }).first().click();
    await chooseModel(page, MODEL);
    const badge = page.getByTestId('e2ee-badge');
    await badge.and(page.locator('[data-state="off"]')).waitFor();
    expect(await badge.textContent()).toBe('Not end-to-end encrypted · the operator can read this');
    const word = marker('readable');
    await page.getByLabel('Message').fill(`Readable on purpose: ${word}`);
    await page.getByTestId('send').click();
    const turn = page.getByTestId('assistant-turn').last();
    await turn.getByTestId('proof-time').waitFor({ timeout: 120_000 });
    expect(await turn.getByTestId('e2ee-turn').count()).toBe(0);
    // The control: what the operator can read does show up in the recording, both ways (the
    // answer streams word by word: its first word and the marker each travel whole).
    const answer = ((await turn.locator('.prose').textContent()) ?? '').trim();
    expect(answer).toContain(word);
    expect(leaks(recorder.sent(), [word])).toEqual([word]);
    expect(leaks(recorder.received(), [answer.split(' ')[0]!, word])).toEqual([answer.split(' ')[0]!, word]);
    expect(await pill(page)).toMatch(/^1 credit$/);
  });

  it('a tampered attestation: nothing is sent or proven, the message names the failed check, the credit stays unspent', async () => {
    await page.getByRole('button', { name: /New chat/ }).first().click();
    await chooseModel(page, E2EE_MODEL);
    const cases = [
      { fault: { debug: true }, check: 'debug_off', words: 'Debug mode is off — failed' },
      { fault: { brokenQuoteSignature: true }, check: 'dcap_signature', words: 'Quote signed through Intel’s certificate chain (DCAP) — failed' },
    ] as const;
    const word = marker('tampered');
    const prompt = `Only for a verified enclave: ${word}`;
    const posts = chatPosts.length;
    const atSim = stack.sim.state.chatRequestCount;
    try {
      for (const c of cases) {
        stack.sim.attestationFaults.set(c.fault);
        await page.getByLabel('Message').fill(prompt);
        await page.getByTestId('send').click();
        const alert = page.getByTestId('assistant-turn').last().getByRole('alert');
        await alert.filter({ hasText: c.words }).waitFor({ timeout: 60_000 });
        expect(await alert.textContent()).toMatch(/^The model’s attestation did not verify, so your message was not sent and no credit was used\./);
        const badge = page.getByTestId('e2ee-badge');
        expect(await badge.getAttribute('data-state')).toBe('failed');
        await page.getByTestId('e2ee-refused').waitFor();
        // The question is back in the box; a readable model is offered, never switched to.
        expect(await page.getByLabel('Message').inputValue()).toBe(prompt);
        expect(await page.getByLabel('Model').inputValue()).toBe(E2EE_MODEL);
        expect(await page.getByTestId('use-readable').textContent()).toContain('the operator can read this');
        await badge.click();
        expect(await page.getByTestId('e2ee-details').locator(`tr[data-check="${c.check}"]`).getAttribute('data-status')).toBe('fail');
        await badge.click();
      }
      await screenshot(page, 'e2ee-02-refused');
      expect(chatPosts.length).toBe(posts);
      expect(stack.sim.state.chatRequestCount).toBe(atSim);
      expect(leaks(everythingTheServersSaw(), [prompt, word])).toEqual([]);
      expect(await pill(page)).toMatch(/^1 credit$/);
      await page.getByRole('button', { name: 'Vault', exact: true }).click();
      expect(await page.getByTestId('count-unspent').textContent()).toBe('1');
    } finally {
      stack.sim.attestationFaults.clear();
    }
  });

  it('once the enclave verifies again, the question goes through, under another conversation’s fresh client key', async () => {
    const firstKey = chatRequestsAtSim().find((r) => r.e2ee)!.headers['x-venice-tee-client-pub-key'];
    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await page.getByRole('button', { name: /Only for a verified enclave/ }).click();
    await page.waitForFunction((id) => (document.querySelector('select[aria-label="Model"]') as HTMLSelectElement | null)?.value === id, E2EE_MODEL);
    await page.getByLabel('Message').fill((await page.getByTestId('user-turn').last().textContent())!.trim());
    await page.getByTestId('send').click();
    const turn = page.getByTestId('assistant-turn').last();
    await turn.getByTestId('e2ee-turn').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('e2ee-badge').getAttribute('data-state')).toBe('verified');
    const atSim = chatRequestsAtSim().at(-1)!;
    expect(atSim.e2ee).toBe(true);
    expect(atSim.headers['x-venice-tee-client-pub-key']).toMatch(/^04[0-9a-f]{128}$/);
    expect(atSim.headers['x-venice-tee-client-pub-key']).not.toBe(firstKey);
    // The questions that never left are not sent as history: one message, encrypted.
    expect((atSim.body as { messages: unknown[] }).messages.length).toBe(1);
    expect(await pill(page)).toMatch(/^0 credits$/);
    const answer = (await turn.locator('.prose').textContent())!.trim();
    expect(leaks(everythingTheServersSaw(), [answer, answer.split(' ')[0]!])).toEqual([]);
  });

  it('an E2EE message paid by a ticket of an account: the ticket binds the E2EE headers, plaintext still nowhere', async () => {
    await page.getByRole('button', { name: 'Buy credits', exact: true }).click();
    await page.getByRole('button', { name: 'Account for many calls' }).click();
    await page.getByTestId('balance').filter({ hasText: 'tUSD' }).waitFor();
    await page.getByLabel('How many calls?').fill('2');
    await page.getByTestId('open-account').click();
    await page.getByTestId('accept-warning').click();
    await page.getByTestId('account-opened').waitFor({ timeout: 60_000 });

    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await page.getByRole('button', { name: /New chat/ }).first().click();
    await chooseModel(page, E2EE_MODEL);
    const word = marker('ticket');
    const prompt = `Paid by a ticket: ${word}`;
    const paid = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/chat/completions'));
    await page.getByLabel('Message').fill(prompt);
    await page.getByTestId('send').click();
    const request = await paid;
    const turn = page.getByTestId('assistant-turn').last();
    await turn.getByTestId('e2ee-turn').waitFor({ timeout: 120_000 });
    expect((await turn.locator('.prose').textContent()) ?? '').toContain(word);
    // A v2 ticket (its request hash covers the three headers: the server verified it with them).
    expect((JSON.parse(request.postData()!) as { zkcredits: { v: number; kind: string } }).zkcredits).toMatchObject({ v: 2, kind: 'flat' });
    for (const h of E2EE_HEADERS) expect(request.headers()[h], h).toBeTruthy();
    await page.getByTestId('credit-pill').filter({ hasText: /^0 credits · 1 call$/ }).waitFor();
    expect(leaks(everythingTheServersSaw(), [prompt, word])).toEqual([]);
  });
});
