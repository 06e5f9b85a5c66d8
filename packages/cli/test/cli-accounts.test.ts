// v2 flat accounts from the terminal, against the real stack (Anvil + CreditPool, server, Venice
// simulator) with real native ticket proofs, one stack for the file. A gate between the CLI and
// the server records every paid request (its ticket nullifier) and the server's answer, every
// `/v2/zkcredits/spent` bucket asked for, and can hold an answer so a `chat` can be killed with
// its request in flight. In order:
//   open 3 (the warning first; refused without confirmation) → export (backup v2: master secret +
//   the account, its counter at 0) → chat twice → balance: 1 call left;
//   chat killed mid-request → its ticket is burned on the next start, never sent again;
//   open 2 without the warning → chat;
//   import into a fresh home (recovery: every bucket downloaded) → serve pays with the next
//   ticket after the last one used. The server never answers ticket_reused or account_revoked.
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SPENT_PREFIXES, initPoseidon2, ticketNullifier, toFieldHex } from '@zkcredits/core';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import { Vault, type AccountRecord } from '@zkcredits/core/vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fundedWallet } from '../../client/test/helpers.js';
import { MODEL, startStack, type Stack } from '../../server/test/helpers/stack.js';
import { TICKET_WARNING } from '../src/commands/accounts.js';
import { FileVaultStorage } from '../src/vault-file.js';
import { BIN, cliEnv, filesUnder, runCli, tempDir } from './cli-helpers.js';

const PASS_A = 'first home passphrase';
const PASS_B = 'second home passphrase';
const WALLET = 3;
const WARNING_LINE = TICKET_WARNING.split('\n')[0]!;

type Paid = { v: 1 | 2; nullifier: string; status?: number; code?: string };
type Gate = { url: string; paid: Paid[]; spent: string[]; holdAnswers: boolean; held: number; close(): Promise<void> };

/**
 * An HTTP gate in front of the server: records paid requests and the server's answers, and
 * `/spent` buckets; with `holdAnswers`, a paid request reaches the server (which serves it) but
 * its answer is never relayed. A caller leaving aborts the forwarded call.
 */
async function startGate(target: string): Promise<Gate> {
  const gate: Gate = { url: '', paid: [], spent: [], holdAnswers: false, held: 0, close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      let record: Paid | undefined;
      if (req.method === 'POST' && req.url?.startsWith('/v1/chat/completions')) {
        const member = (JSON.parse(body.toString()) as { zkcredits?: { v?: number; nullifier?: string; nullifier_hash?: string } }).zkcredits;
        if (member) gate.paid.push((record = member.v === 2 ? { v: 2, nullifier: member.nullifier! } : { v: 1, nullifier: member.nullifier_hash! }));
      }
      if (req.url?.startsWith('/v2/zkcredits/spent')) gate.spent.push(new URL(req.url, 'http://gate').searchParams.get('prefix') ?? '');
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length', 'accept-encoding'].includes(k)) headers[k] = v;
      const up = await fetch(`${target}${req.url}`, { method: req.method ?? 'GET', headers, ...(body.length ? { body } : {}), signal: controller.signal });
      if (record) {
        record.status = up.status;
        if (!up.ok) record.code = ((await up.clone().json().catch(() => ({}))) as { error?: { code?: string } }).error?.code;
        if (gate.holdAnswers) return void gate.held++; // served, never relayed
      }
      const out: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
      });
      res.writeHead(up.status, out);
      if (up.body) for await (const chunk of up.body) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gate.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return gate;
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The vault's accounts, oldest first (read once no zkcredits process runs on the home). */
async function accountsOf(home: string, passphrase: string): Promise<{ master: bigint; accounts: AccountRecord[] }> {
  const vault = await Vault.unlock(new FileVaultStorage(join(home, 'vault.json')), passphrase);
  try {
    return { master: await vault.masterSecret(), accounts: vault.accounts() };
  } finally {
    vault.lock();
  }
}

type AccountJson = { accountId: string; status: string; calls: number; callsLeft: number; expires?: string; burned: number; inFlight: number };

describe('zkcredits open / chat / serve with v2 accounts, export → import with recovery', () => {
  let stack: Stack;
  let gate: Gate;
  let root: string;
  let homeA: string;
  let homeB: string;
  let backup: string;

  beforeAll(async () => {
    await initPoseidon2();
    stack = await startStack('sqlite');
    gate = await startGate(stack.url);
    await fundedWallet(stack, WALLET);
    root = await tempDir('accounts');
    homeA = join(root, 'a');
    homeB = join(root, 'b');
    backup = join(root, 'backup.json');
    const init = await runCli(['--home', homeA, '--json', 'init', '--server', gate.url, '--rpc', stack.chain.rpcUrl, '--no-keychain', '--model', MODEL], { env: { ZKC_PASSPHRASE: PASS_A } });
    expect(init.code, init.stderr).toBe(0);
  });

  afterAll(async () => {
    await gate?.close();
    await stack?.stop();
  });

  const cli = (home: string, pass: string, args: string[], env: Record<string, string> = {}) => runCli(['--home', home, '--json', ...args], { env: { ZKC_PASSPHRASE: pass, ...env } });
  const accountsIn = async (home: string, pass: string) => {
    const res = await cli(home, pass, ['balance']);
    expect(res.code, res.stderr).toBe(0);
    return (res.json as { accounts: AccountJson[] }).accounts;
  };
  const refusedTicket = () => gate.paid.filter((p) => p.code === 'ticket_reused' || p.code === 'account_revoked');

  it('warns before the first account and opens nothing without confirmation', async () => {
    const refused = await cli(homeA, PASS_A, ['open', '3'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! });
    expect(refused.code).toBe(1);
    expect(refused.json).toMatchObject({ ok: false, error: { code: 'confirmation_required' } });
    expect(refused.stderr).toContain(WARNING_LINE);
    expect(refused.stderr).toContain('the account secret becomes public');
    expect(await accountsIn(homeA, PASS_A)).toEqual([]);
  });

  it('open 3 --yes (approve + open): the warning, then one account of 3 calls with its expiry and transaction', async () => {
    const before = stack.server.indexer.status.leafCount;
    const opened = await cli(homeA, PASS_A, ['open', '3', '--yes'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! });
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stderr).toContain(WARNING_LINE);
    const result = opened.json as { ok: boolean; warned: boolean; transactionHash: string; accounts: { accountId: string; calls: number; expires: string }[] };
    expect(result).toMatchObject({ ok: true, warned: true, accounts: [{ calls: 3 }] });
    expect(result.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(result.accounts[0]!.accountId).toMatch(/^0x[0-9a-f]{64}$/);
    expect(result.accounts[0]!.expires).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((opened.stdout + opened.stderr).toLowerCase()).not.toContain(ANVIL_KEYS[WALLET]!.slice(2).toLowerCase());
    await stack.waitIndexed(before + 1);
  });

  it('exports a version 2 backup holding the master secret and the account (its counter at 0), no secret in plaintext', async () => {
    const exported = await cli(homeA, PASS_A, ['export', backup]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.json).toMatchObject({ ok: true, credits: 0, accounts: 1, masterSecret: true });
    expect((await stat(backup)).mode & 0o777).toBe(0o600);
    const file = JSON.parse(await readFile(backup, 'utf8')) as { version: number; master?: unknown; accounts: unknown[] };
    expect(file.version).toBe(2);
    expect(file.master).toBeDefined();
    expect(file.accounts).toHaveLength(1);
    const { master, accounts } = await accountsOf(homeA, PASS_A);
    const secrets = [toFieldHex(master), accounts[0]!.secret].flatMap((s) => [s.slice(2), BigInt(s).toString(10)]);
    for (const f of [...(await filesUnder(homeA)), { path: backup, text: await readFile(backup, 'latin1') }]) {
      for (const s of secrets) expect(f.text.toLowerCase().includes(s), `${f.path} holds a secret`).toBe(false);
    }
  });

  it('pays two chats with two tickets of the account: balance shows 1 call left of 3', async () => {
    for (const text of ['first ticket', 'second ticket']) {
      const chat = await cli(homeA, PASS_A, ['chat', '-m', text]);
      expect(chat.code, chat.stderr).toBe(0);
      expect((chat.json as { content: string }).content.length).toBeGreaterThan(0);
    }
    expect(gate.paid.map((p) => [p.v, p.status])).toEqual([
      [2, 200],
      [2, 200],
    ]);
    const { accounts } = await accountsOf(homeA, PASS_A);
    const k = BigInt(accounts[0]!.secret);
    expect(gate.paid.map((p) => p.nullifier)).toEqual([0, 1].map((i) => toFieldHex(ticketNullifier(k, i))));

    const [account] = await accountsIn(homeA, PASS_A);
    expect(account).toMatchObject({ status: 'open', calls: 3, callsLeft: 1, burned: 0, inFlight: 0 });
    const human = await runCli(['--home', homeA, 'balance'], { env: { ZKC_PASSPHRASE: PASS_A } });
    expect(human.stdout).toContain('1 of 3 calls left');
  });

  it('burns the ticket of a chat killed mid-request: the next start burns it and never sends it again', async () => {
    gate.holdAnswers = true;
    const child = spawn(process.execPath, [BIN, '--home', homeA, 'chat', '-m', 'killed while the answer is on its way'], { env: cliEnv({ ZKC_PASSPHRASE: PASS_A }), stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await until(() => gate.held === 1, 'the paid request to reach the server');
    } finally {
      child.kill('SIGKILL');
      await exited;
      gate.holdAnswers = false;
    }
    const killed = gate.paid[2]!;
    expect(killed).toMatchObject({ v: 2, status: 200 });

    // The next process finds ticket 2 in the journal and burns it: no call is left on this account.
    const [account] = await accountsIn(homeA, PASS_A);
    expect(account).toMatchObject({ status: 'open', calls: 3, callsLeft: 0, burned: 1, inFlight: 0 });
    const { accounts } = await accountsOf(homeA, PASS_A);
    expect(killed.nullifier).toBe(toFieldHex(ticketNullifier(BigInt(accounts[0]!.secret), 2)));
    expect(accounts[0]).toMatchObject({ nextTicket: 3, journal: [] });
  });

  it('opens a second account without the warning (--permit, --wallet-key-file); the next chat pays with its first ticket', async () => {
    const keyFile = join(root, 'wallet.key');
    await writeFile(keyFile, `${ANVIL_KEYS[WALLET]}\n`, { mode: 0o600 });
    const before = stack.server.indexer.status.leafCount;
    const opened = await cli(homeA, PASS_A, ['open', '2', '--permit', '--wallet-key-file', keyFile]);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.json).toMatchObject({ ok: true, warned: false, accounts: [{ calls: 2 }] });
    expect(opened.stderr).not.toContain(WARNING_LINE);
    await stack.waitIndexed(before + 1);

    const chat = await cli(homeA, PASS_A, ['chat', '-m', 'paid by the second account']);
    expect(chat.code, chat.stderr).toBe(0);
    const { accounts } = await accountsOf(homeA, PASS_A);
    expect(gate.paid.at(-1)).toEqual({ v: 2, status: 200, nullifier: toFieldHex(ticketNullifier(BigInt(accounts[1]!.secret), 0)) });
    expect((await accountsIn(homeA, PASS_A)).map((a) => a.callsLeft)).toEqual([0, 1]);
  });

  it('import into a fresh home recovers the counters (every /spent bucket); serve then pays with the next unused ticket', async () => {
    const initB = await cli(homeB, PASS_B, ['init', '--server', gate.url, '--rpc', stack.chain.rpcUrl, '--no-keychain', '--model', MODEL]);
    expect(initB.code, initB.stderr).toBe(0);
    gate.spent.length = 0;
    // The backup holds account 1 at ticket 0; tickets 0 to 2 were used since. Account 2 was opened
    // after it: found on chain from the master secret; its ticket 0 was used since too.
    const imported = await cli(homeB, PASS_B, ['import', backup], { ZKC_BACKUP_PASSPHRASE: PASS_A });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json).toMatchObject({
      ok: true,
      accounts: { added: 2, updated: 0 },
      recovered: [
        { status: 'open', calls: 3, nextTicket: 3, found: 'store' },
        { status: 'open', calls: 2, nextTicket: 1, found: 'chain' },
      ],
    });
    expect([...new Set(gate.spent)]).toEqual([...SPENT_PREFIXES]);
    expect((await accountsIn(homeB, PASS_B)).map((a) => [a.calls, a.callsLeft])).toEqual([
      [3, 0],
      [2, 1],
    ]);

    const child = spawn(process.execPath, [BIN, '--home', homeB, '--json', 'serve', '--port', '0'], { env: cliEnv({ ZKC_PASSPHRASE: PASS_B }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      const baseURL = await new Promise<string>((resolveStart, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolveStart((JSON.parse(line) as { baseURL: string }).baseURL);
        });
        void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      const token = (JSON.parse(await readFile(join(homeB, 'config.json'), 'utf8')) as { proxyToken: string }).proxyToken;
      const paid = await fetch(`${baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'through the proxy, from the restored home' }], max_tokens: 16 }),
      });
      expect(paid.status, await paid.clone().text()).toBe(200);
      expect(paid.headers.get('x-zkcredits-calls-left')).toBe('0');
      await paid.json();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    const { accounts } = await accountsOf(homeB, PASS_B);
    expect(gate.paid.at(-1)).toEqual({ v: 2, status: 200, nullifier: toFieldHex(ticketNullifier(BigInt(accounts[1]!.secret), 1)) });
  });

  it('never sent one ticket twice: every nullifier the server saw is new, none answered ticket_reused or account_revoked', () => {
    expect(gate.paid).toHaveLength(5);
    expect(new Set(gate.paid.map((p) => p.nullifier)).size).toBe(gate.paid.length);
    expect(refusedTicket()).toEqual([]);
  });
});
