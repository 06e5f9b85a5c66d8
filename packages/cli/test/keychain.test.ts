// The vault key in a real OS keychain: Debian's gnome-keyring as the Secret Service, inside its own
// D-Bus session (`dbus-run-session`), unlocked with a known password. `init --keychain` keeps a
// random vault key there (nothing about it in the home); `balance` and `export` unlock with it; outside
// that session there is no keychain, and the CLI says so. A fake server stands in for the zkcredits
// server (no proof is made). `wallet-key set --from-file` keeps the wallet key in the entry `buy`
// reads (only the address printed), `wallet-key delete` removes it. Needs gnome-keyring and dbus (scripts/ensure-deps.sh installs them).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv, filesUnder, runCli, startFakeServer, tempDir, type FakeServer } from './cli-helpers.js';

if (!existsSync('/usr/bin/gnome-keyring-daemon') || !existsSync('/usr/bin/dbus-run-session')) {
  throw new Error('gnome-keyring and dbus are not installed: apt-get install -y gnome-keyring dbus, or bash scripts/ensure-deps.sh (npm test does this)');
}

function inKeyringSession(script: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('dbus-run-session', ['--', 'sh', '-c', `printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n${script}`], {
      env: { ...cliEnv(env), DBUS_SESSION_BUS_ADDRESS: undefined } as unknown as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, output });
    });
  });
}

describe('the vault key in a real Secret Service (gnome-keyring)', () => {
  let fake: FakeServer;
  let dir: string;

  beforeAll(async () => {
    fake = await startFakeServer();
    dir = await tempDir('keychain');
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('init --keychain, then balance and export unlock from it; without it, says so', async () => {
    const home = join(dir, 'home');
    const xdgHome = join(dir, 'user'); // gnome-keyring keeps its keyring under $HOME/.local/share
    await mkdir(join(xdgHome, '.cache'), { recursive: true, mode: 0o700 });
    const cli = `"${process.execPath}" "${BIN}" --home "${home}" --json`;
    const script = [
      `${cli} init --server "${fake.url}" --rpc "${fake.rpcUrl}" --keychain > "${dir}/init.json"; echo "init=$?"`,
      `${cli} balance > "${dir}/balance.json"; echo "balance=$?"`,
      `ZKC_BACKUP_PASSPHRASE='backup passphrase here' ${cli} export "${dir}/backup.json" > "${dir}/export.json"; echo "export=$?"`,
    ].join('\n');
    const run = await inKeyringSession(script, { HOME: xdgHome, KEYRING_PASSWORD: 'keyring-test-password' });
    expect(run.output).toContain('init=0');
    expect(run.output).toContain('balance=0');
    expect(run.output).toContain('export=0');
    expect(JSON.parse(await readFile(join(dir, 'init.json'), 'utf8'))).toMatchObject({ ok: true, keyStorage: 'keychain' });
    expect(JSON.parse(await readFile(join(dir, 'balance.json'), 'utf8'))).toMatchObject({ ok: true, credits: { unspent: 0 } });
    const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as { keyStorage: string; vaultId: string };
    expect(config.keyStorage).toBe('keychain');

    // The random vault key is in the keyring, never in the home.
    for (const f of await filesUnder(home)) expect(f.mode).toBe(0o600);

    // No keychain outside that session: a clear error, exit 3; a passphrase does not unlock it either.
    const outside = await runCli(['--home', home, 'balance'], { env: { ZKC_PASSPHRASE: 'whatever passphrase' } });
    expect(outside.code).toBe(3);
    expect(outside.stderr).toMatch(/No OS keychain is available/);

    // The export was re-encrypted to the backup passphrase: it imports into a passphrase home.
    const other = join(dir, 'other');
    const init = await runCli(['--home', other, 'init', '--server', fake.url, '--rpc', fake.rpcUrl, '--no-keychain'], { env: { ZKC_PASSPHRASE: 'other home passphrase' } });
    expect(init.code, init.stderr).toBe(0);
    const imported = await runCli(['--home', other, '--json', 'import', join(dir, 'backup.json')], { env: { ZKC_PASSPHRASE: 'other home passphrase', ZKC_BACKUP_PASSPHRASE: 'backup passphrase here' } });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json).toMatchObject({ ok: true, added: 0 });
  });
  it('wallet-key set --from-file keeps the key in the keychain (address printed only); delete removes it; without a keychain, says so', async () => {
    const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
    const key = `0x${'5c'.repeat(32)}`;
    const home = join(dir, 'wallet-home');
    const xdgHome = join(dir, 'wallet-user');
    await mkdir(join(xdgHome, '.cache'), { recursive: true, mode: 0o700 });
    const keyFile = join(dir, 'wallet.key');
    await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    const cli = `"${process.execPath}" "${BIN}" --home "${home}"`;
    // What the keychain holds, read the way `buy` does (written outside every home).
    const readBack = `(cd "${PKG}" && "${process.execPath}" -e "const {Entry}=require('@napi-rs/keyring'); process.stdout.write(String(new Entry('zkcredits','wallet-key',{linux:{store:'secret-service'}}).getPassword()))")`;
    const script = [
      `${cli} --json wallet-key set --from-file "${keyFile}" > "${dir}/set.json" 2> "${dir}/set.err"; echo "set=$?"`,
      `${cli} wallet-key set --from-file "${keyFile}" > "${dir}/set.txt" 2>> "${dir}/set.err"; echo "set-human=$?"`,
      `${readBack} > "${dir}/stored.txt"`,
      `${cli} --json wallet-key delete > "${dir}/delete.json"; echo "delete=$?"`,
      `${readBack} > "${dir}/after.txt"`,
      `${cli} --json wallet-key delete > "${dir}/delete2.json"; echo "delete2=$?"`,
    ].join('\n');
    const run = await inKeyringSession(script, { HOME: xdgHome, KEYRING_PASSWORD: 'keyring-test-password' });
    for (const step of ['set=0', 'set-human=0', 'delete=0', 'delete2=0']) expect(run.output, run.output).toContain(step);
    const { privateKeyToAccount } = await import('viem/accounts');
    const address = privateKeyToAccount(key as `0x${string}`).address;
    expect(JSON.parse(await readFile(join(dir, 'set.json'), 'utf8'))).toEqual({ ok: true, address, entry: 'zkcredits/wallet-key' });
    expect(await readFile(join(dir, 'set.txt'), 'utf8')).toContain(address);
    expect(await readFile(join(dir, 'stored.txt'), 'utf8')).toBe(key);
    expect(JSON.parse(await readFile(join(dir, 'delete.json'), 'utf8'))).toEqual({ ok: true, deleted: true });
    expect(await readFile(join(dir, 'after.txt'), 'utf8')).toBe('null');
    expect(JSON.parse(await readFile(join(dir, 'delete2.json'), 'utf8'))).toEqual({ ok: true, deleted: false });

    // The key is in none of the CLI's output, nor in the zkcredits home or $HOME (the keyring is encrypted).
    const hex = key.slice(2);
    for (const f of ['set.json', 'set.txt', 'set.err', 'delete.json', 'delete2.json']) expect(await readFile(join(dir, f), 'utf8'), f).not.toContain(hex);
    expect(run.output).not.toContain(hex);
    for (const root of [home, xdgHome]) {
      for (const f of await filesUnder(root).catch(() => [])) expect(f.text.toLowerCase().includes(hex), f.path).toBe(false);
    }

    // Outside the session there is no keychain: a clear error, exit 3, and still not the key.
    const outside = await runCli(['--home', home, 'wallet-key', 'set', '--from-file', keyFile]);
    expect(outside.code).toBe(3);
    expect(outside.stderr).toMatch(/No OS keychain is available/);
    expect(outside.stdout + outside.stderr).not.toContain(hex);
    const outsideDelete = await runCli(['--home', home, '--json', 'wallet-key', 'delete']);
    expect(outsideDelete.code).toBe(3);
    expect(outsideDelete.json).toMatchObject({ ok: false, error: { code: 'keychain_unavailable' } });
  });
});
