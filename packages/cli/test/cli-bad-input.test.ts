// Bad input changes nothing and says why, with its exit code: a server with another verification
// key, another chain (named by the user, or the RPC's), a damaged vault, a wrong passphrase, a home
// already initialised, a vault held by another process. A tiny fake server plays the zkcredits
// server and the RPC; no proof is made here.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CHAIN_ID, runCli, snapshot, startFakeServer, tempDir, type FakeServer } from './cli-helpers.js';

const PASS = 'correct horse battery staple';

describe('zkcredits with bad input', () => {
  let fake: FakeServer;
  let home: string;

  beforeAll(async () => {
    fake = await startFakeServer();
    home = join(await tempDir('bad'), 'home');
    const init = await runCli(['--home', home, '--json', 'init', '--server', fake.url, '--rpc', fake.rpcUrl, '--no-keychain'], { env: { ZKC_PASSPHRASE: PASS } });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.json).toMatchObject({ ok: true, chainId: FAKE_CHAIN_ID, keyStorage: 'passphrase' });
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('a server with another verification key: exit 4, no home made', async () => {
    const elsewhere = join(await tempDir('vk'), 'home');
    fake.config.verification_key_sha256 = 'ff'.repeat(32);
    try {
      const r = await runCli(['--home', elsewhere, 'init', '--server', fake.url, '--rpc', fake.rpcUrl], { env: { ZKC_PASSPHRASE: PASS } });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/another circuit/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(elsewhere)).toBe(false);
    } finally {
      fake.config.verification_key_sha256 = (await import('@zkcredits/core')).CREDIT_VK_SHA256;
    }
  });

  it('another chain than the one named, or an RPC on another chain: exit 4, no home made', async () => {
    const elsewhere = join(await tempDir('chain'), 'home');
    const named = await runCli(['--home', elsewhere, '--json', 'init', '--server', fake.url, '--rpc', fake.rpcUrl, '--chain-id', '1'], { env: { ZKC_PASSPHRASE: PASS } });
    expect(named.code).toBe(4);
    expect(named.json).toMatchObject({ ok: false, error: { code: 'wrong_chain' } });
    fake.rpcChainId = 10;
    try {
      const rpc = await runCli(['--home', elsewhere, 'init', '--server', fake.url, '--rpc', fake.rpcUrl], { env: { ZKC_PASSPHRASE: PASS } });
      expect(rpc.code).toBe(4);
      expect(rpc.stderr).toMatch(/RPC is on another chain/);
    } finally {
      fake.rpcChainId = FAKE_CHAIN_ID;
    }
    expect(existsSync(elsewhere)).toBe(false);
  });

  it('init into a home that exists: exit 2, unchanged', async () => {
    const before = await snapshot(home);
    const r = await runCli(['--home', home, 'init', '--server', fake.url, '--rpc', fake.rpcUrl], { env: { ZKC_PASSPHRASE: PASS } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already initialised/);
    expect(await snapshot(home)).toEqual(before);
  });

  it('a wrong passphrase: exit 3, unchanged; no passphrase and no terminal: exit 3', async () => {
    const before = await snapshot(home);
    const wrong = await runCli(['--home', home, '--json', 'balance'], { env: { ZKC_PASSPHRASE: 'not the passphrase at all' } });
    expect(wrong.code).toBe(3);
    expect(wrong.json).toMatchObject({ ok: false, error: { code: 'wrong_passphrase' } });
    expect(wrong.stdout + wrong.stderr).not.toContain('not the passphrase at all');
    const none = await runCli(['--home', home, 'balance']);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/ZKC_PASSPHRASE/);
    expect(await snapshot(home)).toEqual(before);
    const right = await runCli(['--home', home, '--json', 'balance'], { env: { ZKC_PASSPHRASE: PASS } });
    expect(right.code).toBe(0);
    expect(right.json).toMatchObject({ ok: true, credits: { unspent: 0, spent: 0, pending: 0 } });
  });

  it('a passphrase file works; a short new passphrase is refused', async () => {
    const dir = await tempDir('pf');
    await writeFile(join(dir, 'pass'), `${PASS}\n`, { mode: 0o600 });
    const r = await runCli(['--home', home, '--passphrase-file', join(dir, 'pass'), '--json', 'balance']);
    expect(r.code).toBe(0);
    const weak = await runCli(['--home', join(dir, 'home'), 'init', '--server', fake.url, '--rpc', fake.rpcUrl, '--no-keychain'], { env: { ZKC_PASSPHRASE: 'short' } });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/at least 10 characters/);
  });

  it('a damaged vault: exit 3, the file left as it was', async () => {
    const vaultPath = join(home, 'vault.json');
    const good = await readFile(vaultPath, 'utf8');
    try {
      for (const bad of [good.slice(0, good.length / 2), JSON.stringify({ ...JSON.parse(good), meta: { ...JSON.parse(good).meta, check: { iv: 'AAAA', ct: 'AAAA' } } })]) {
        await writeFile(vaultPath, bad);
        const before = await snapshot(home);
        const r = await runCli(['--home', home, '--json', 'balance'], { env: { ZKC_PASSPHRASE: PASS } });
        expect(r.code).toBe(3);
        expect((r.json as { error: { code: string } }).error.code).toMatch(/vault_corrupt|wrong_passphrase/);
        expect(await snapshot(home)).toEqual(before);
      }
    } finally {
      await writeFile(vaultPath, good);
    }
  });

  it('a vault held by a live process: exit 3 (vault_busy); a dead holder’s lock is cleared', async () => {
    const lock = join(home, 'vault.lock');
    const os = await import('node:os');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'serve', since: Date.now() }), { mode: 0o600 });
    const busy = await runCli(['--home', home, '--json', 'balance'], { env: { ZKC_PASSPHRASE: PASS } });
    expect(busy.code).toBe(3);
    expect(busy.json).toMatchObject({ ok: false, error: { code: 'vault_busy' } });
    expect(busy.stderr).toContain(`pid ${process.pid}`);
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    await writeFile(lock, JSON.stringify({ pid: dead, host: os.hostname(), command: 'chat', since: Date.now() }), { mode: 0o600 });
    const cleared = await runCli(['--home', home, '--json', 'balance'], { env: { ZKC_PASSPHRASE: PASS } });
    expect(cleared.code).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });

  it('asked for a keychain where there is none: says so (exit 3); by default falls back to the passphrase and says so', async () => {
    const dir = await tempDir('nokc');
    const forced = await runCli(['--home', join(dir, 'a'), 'init', '--server', fake.url, '--rpc', fake.rpcUrl, '--keychain'], { env: { ZKC_PASSPHRASE: PASS } });
    expect(forced.code).toBe(3);
    expect(forced.stderr).toMatch(/No OS keychain is available/);
    expect(existsSync(join(dir, 'a'))).toBe(false);
    const auto = await runCli(['--home', join(dir, 'b'), '--json', 'init', '--server', fake.url, '--rpc', fake.rpcUrl], { env: { ZKC_PASSPHRASE: PASS } });
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(/No OS keychain is available.*passphrase instead/);
    expect(auto.json).toMatchObject({ keyStorage: 'passphrase' });
  });

  it('usage errors exit 1; --help exits 0 for every command', async () => {
    expect((await runCli(['--home', home, 'buy', 'many'], { env: { ZKC_PASSPHRASE: PASS } })).code).toBe(1);
    expect((await runCli(['nonsense'])).code).toBe(1);
    const commands = ['init', 'buy', 'balance', 'sync', 'export', 'import', 'attest', 'chat', 'serve', 'doctor'];
    const results = await Promise.all(commands.map((cmd) => runCli([cmd, '--help'])));
    for (const [i, r] of results.entries()) {
      expect(r.code, commands[i]).toBe(0);
      expect(r.stdout, commands[i]).toContain(`Usage: zkcredits ${commands[i]}`);
    }
  });

  it('a SOCKS proxy that does not answer: refuses to run (exit 5)', async () => {
    const r = await runCli(['--home', home, '--socks5', 'socks5://127.0.0.1:1', 'sync'], { env: { ZKC_PASSPHRASE: PASS } });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/SOCKS/);
  });
});
