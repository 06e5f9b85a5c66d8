// The CLI end to end against the real stack (Anvil + forge-deployed CreditPool, server, Venice
// simulator), with real native proofs: init → buy → balance → chat → export, then import into a
// fresh home and balance there (the counts agree). Then the secrets at rest: no credential in
// plaintext anywhere in either home or the backup, every file 0600, the homes 0700. Last, a `buy`
// (approve + buy) paying with the key from `--wallet-key-file`.
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import { encodeCredential } from '@zkcredits/core';
import { Vault } from '@zkcredits/core/vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, startStack, type Stack } from '../../server/test/helpers/stack.js';
import { fundedWallet } from '../../client/test/helpers.js';
import { FileVaultStorage } from '../src/vault-file.js';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { BIN, cliEnv, filesUnder, runCli, tempDir } from './cli-helpers.js';

const PASS_A = 'first home passphrase';
const PASS_B = 'second home passphrase';
const WALLET = 3;

type Counts = { unspent: number; spent: number; pending: number };

describe('zkcredits init → buy → balance → chat → export → import → balance', () => {
  let stack: Stack;
  let root: string;
  let homeA: string;
  let homeB: string;
  let backup: string;

  beforeAll(async () => {
    stack = await startStack('sqlite');
    await fundedWallet(stack, WALLET);
    root = await tempDir('flow');
    homeA = join(root, 'a');
    homeB = join(root, 'b');
    backup = join(root, 'backup.json');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const cli = (home: string, pass: string, args: string[], env: Record<string, string> = {}) =>
    runCli(['--home', home, '--json', ...args], { env: { ZKC_PASSPHRASE: pass, ...env } });

  it('runs the whole path', async () => {
    const init = await cli(homeA, PASS_A, ['init', '--server', stack.url, '--rpc', stack.chain.rpcUrl, '--no-keychain', '--model', MODEL]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.json).toMatchObject({ ok: true, chainId: stack.chain.chainId, contract: stack.chain.pool, keyStorage: 'passphrase' });

    const bought = await cli(homeA, PASS_A, ['buy', '3', '--permit'], { ZKC_WALLET_KEY: ANVIL_KEYS[WALLET]! });
    expect(bought.code, bought.stderr).toBe(0);
    expect(bought.json).toMatchObject({ ok: true, bought: 3, credits: { unspent: 3, pending: 0 } });
    expect(bought.stdout + bought.stderr).not.toContain(ANVIL_KEYS[WALLET]!.slice(2));
    await stack.waitIndexed(3);

    const before = await cli(homeA, PASS_A, ['balance']);
    expect(before.json).toMatchObject({ ok: true, credits: { unspent: 3, spent: 0, pending: 0 } });

    const chat = await cli(homeA, PASS_A, ['chat', '-m', 'hello from the cli']);
    expect(chat.code, chat.stderr).toBe(0);
    const answer = chat.json as { ok: boolean; model: string; content: string };
    expect(answer).toMatchObject({ ok: true, model: MODEL });
    expect(answer.content.length).toBeGreaterThan(0);

    // The prompt can also come from stdin, in human mode (the answer streams to stdout).
    const piped = await runCli(['--home', homeA, 'chat'], { env: { ZKC_PASSPHRASE: PASS_A }, input: 'and from stdin' });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.trim().length).toBeGreaterThan(0);

    const after = await cli(homeA, PASS_A, ['balance']);
    expect(after.json).toMatchObject({ ok: true, credits: { unspent: 1, spent: 2, pending: 0 } });

    const sync = await cli(homeA, PASS_A, ['sync']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.json).toMatchObject({ ok: true, leaves: 3, credits: { unspent: 1, spent: 2 } });

    const exported = await cli(homeA, PASS_A, ['export', backup]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.json).toMatchObject({ ok: true, credits: 3 });
    expect((await stat(backup)).mode & 0o777).toBe(0o600);
    expect((await cli(homeA, PASS_A, ['export', backup])).code).toBe(2); // never overwritten without --force

    // A fresh home with its own passphrase; the backup's is the first home's.
    const initB = await cli(homeB, PASS_B, ['init', '--server', stack.url, '--rpc', stack.chain.rpcUrl, '--no-keychain']);
    expect(initB.code, initB.stderr).toBe(0);
    const wrongBackupPass = await cli(homeB, PASS_B, ['import', backup]);
    expect(wrongBackupPass.code).toBe(3);
    expect(wrongBackupPass.json).toMatchObject({ ok: false, error: { code: 'backup_wrong_passphrase' } });
    const imported = await cli(homeB, PASS_B, ['import', backup], { ZKC_BACKUP_PASSPHRASE: PASS_A });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json).toMatchObject({ ok: true, added: 3, updated: 0 });
    const again = await cli(homeB, PASS_B, ['import', backup], { ZKC_BACKUP_PASSPHRASE: PASS_A });
    expect(again.json).toMatchObject({ ok: true, added: 0, updated: 0 });

    const balanceA = (after.json as { credits: Counts }).credits;
    const balanceB = await cli(homeB, PASS_B, ['balance']);
    expect((balanceB.json as { credits: Counts }).credits).toEqual(balanceA);

    // The imported credit pays in the new home too.
    const chatB = await cli(homeB, PASS_B, ['chat', '--model', MODEL, '-m', 'hello from the second home']);
    expect(chatB.code, chatB.stderr).toBe(0);
    expect((await cli(homeB, PASS_B, ['balance'])).json).toMatchObject({ credits: { unspent: 0, spent: 3 } });
    // …and once it is spent, nothing is left: exit 6.
    const empty = await cli(homeB, PASS_B, ['chat', '--model', MODEL, '-m', 'one too many']);
    expect(empty.code, empty.stderr).toBe(6);
  }, 300_000); // about twenty processes of the bin, each starting the CLI afresh

  it('keeps no credential in plaintext; files 0600, homes 0700', async () => {
    const vault = await Vault.unlock(new FileVaultStorage(join(homeA, 'vault.json')), PASS_A);
    const records = vault.list();
    vault.lock();
    expect(records).toHaveLength(3);
    const secrets: string[] = [];
    for (const r of records) {
      for (const v of [r.nullifier, r.secret]) secrets.push(v.slice(2), BigInt(v).toString(10));
      secrets.push(encodeCredential({ nullifier: BigInt(r.nullifier), secret: BigInt(r.secret) }));
    }
    for (const home of [homeA, homeB]) {
      expect((await stat(home)).mode & 0o777).toBe(0o700);
      const files = await filesUnder(home);
      expect(files.map((f) => f.path.slice(home.length + 1)).sort()).toEqual(['config.json', 'vault.json']);
      for (const f of files) {
        expect(f.mode, f.path).toBe(0o600);
        const text = f.text.toLowerCase();
        expect(f.text).not.toMatch(/zkc1[0-9a-z]{20}/);
        for (const s of secrets) expect(text.includes(s.toLowerCase()), `${f.path} holds a credential`).toBe(false);
      }
    }
    const backupText = (await filesUnder(root)).find((f) => f.path === backup)!.text.toLowerCase();
    for (const s of secrets) expect(backupText.includes(s.toLowerCase())).toBe(false);
  });

  it('serve: the proxy on loopback with the home token; a credit spent elsewhere is found out; stops on SIGTERM and frees the vault', async () => {
    const child = spawn(process.execPath, [BIN, '--home', homeA, '--json', 'serve', '--port', '0'], { env: cliEnv({ ZKC_PASSPHRASE: PASS_A }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      const started = await new Promise<{ url: string; baseURL: string }>((resolveStart, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolveStart(JSON.parse(line) as { url: string; baseURL: string });
        });
        void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const token = (JSON.parse(await readFile(join(homeA, 'config.json'), 'utf8')) as { proxyToken: string }).proxyToken;
      expect((await fetch(`${started.baseURL}/models`)).status).toBe(401);
      const models = await fetch(`${started.baseURL}/models`, { headers: { authorization: `Bearer ${token}` } });
      expect(models.status).toBe(200);
      const paid = await fetch(`${started.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'through the proxy' }], max_tokens: 16 }),
      });
      // Home A's last credit was imported into home B and spent there: the proof is refused as
      // spent, the credit marked so, and no other is left (402, no_credits).
      expect(paid.status).toBe(402);
      expect(((await paid.json()) as { error: { code: string } }).error.code).toBe('no_credits');
      // The vault is held by serve: another process is refused.
      expect((await cli(homeA, PASS_A, ['balance'])).json).toMatchObject({ ok: false, error: { code: 'vault_busy' } });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect((await cli(homeA, PASS_A, ['balance'])).json).toMatchObject({ ok: true, credits: { unspent: 0, spent: 3 } });
  });
  it('buy 1 --wallet-key-file (a 0600 file; approve + buy): the key is read from it and shown nowhere', async () => {
    const keyFile = join(root, 'wallet.key');
    await writeFile(keyFile, `${ANVIL_KEYS[WALLET]!.slice(2)}\n`, { mode: 0o600 }); // first line, 0x optional
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const bought = await cli(homeA, PASS_A, ['buy', '1', '--wallet-key-file', keyFile]);
    expect(bought.code, bought.stderr).toBe(0);
    expect(bought.json).toMatchObject({ ok: true, bought: 1, credits: { unspent: 1, spent: 3, pending: 0 } });
    expect((bought.stdout + bought.stderr).toLowerCase()).not.toContain(ANVIL_KEYS[WALLET]!.slice(2).toLowerCase());
    for (const f of await filesUnder(homeA)) expect(f.text.toLowerCase().includes(ANVIL_KEYS[WALLET]!.slice(2).toLowerCase()), f.path).toBe(false);
  });
});
