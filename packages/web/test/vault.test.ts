// The credential vault in a real browser (Chromium): IndexedDB + Web Crypto, no mocks.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchProfile, removeProfile, type Profile } from './helpers/browser';
import { startWeb, type Web } from './helpers/stack';

let web: Web;
let profile: Profile;
let page: Page;

const PASS = 'correct horse battery';

/** A credit record as the app stores it (values are arbitrary but well-formed). */
function record(i: number, status = 'unspent') {
  const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
  return {
    id: i.toString(16).padStart(32, '0'),
    nullifier: h(1000 + i),
    secret: h(2000 + i),
    commitment: h(3000 + i),
    status,
    chainId: 31337,
    contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    batch: 'b'.repeat(32),
    fromBlock: '1',
    createdAt: 1_700_000_000_000 + i,
    ...(status === 'unspent' ? { leafIndex: i } : {}),
  };
}

type Result = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** Runs `fn` in the page with the test hooks; errors come back as { code, message }. */
async function run(fn: string, arg: unknown = null): Promise<Result> {
  return page.evaluate(
    async ([src, a]) => {
      const t = (window as unknown as { __zkcTest: Record<string, unknown> }).__zkcTest;
      try {
        // eslint-disable-next-line no-new-func
        const value = await new Function('t', 'arg', `return (async () => { ${src} })()`)(t, a);
        return { ok: true as const, value };
      } catch (e) {
        const err = e as { code?: string; message?: string };
        return { ok: false as const, code: err.code ?? 'unknown', message: err.message ?? String(e) };
      }
    },
    [fn, arg] as const,
  );
}

beforeAll(async () => {
  // The vault needs no chain or API server: dummy endpoints are never contacted.
  web = await startWeb({ serverUrl: 'http://127.0.0.1:9', pool: '0x5FbDB2315678afecb367f032d93F642f64180aa3', rpcUrl: 'http://127.0.0.1:9' });
  profile = await launchProfile();
  page = await profile.context.newPage();
  await page.goto(web.url);
  await page.waitForFunction(() => '__zkcTest' in window);
});

afterAll(async () => {
  await profile?.close();
  if (profile) removeProfile(profile.dir);
  await web?.stop();
});

describe('vault (IndexedDB + Web Crypto, in Chromium)', () => {
  it('refuses a passphrase shorter than 10 characters', async () => {
    const r = await run('await t.Vault.create("short")');
    expect(r).toMatchObject({ ok: false, code: 'weak_passphrase' });
    expect((await run('return await t.Vault.exists()')).ok && (await run('return await t.Vault.exists()'))).toMatchObject({ value: false });
  });

  it('stores credits encrypted: the raw IndexedDB rows hold no secret', async () => {
    const r = await run(
      `const v = await t.Vault.create(arg.pass); await v.add(arg.records); v.lock();
       const db = await new Promise((res, rej) => { const q = indexedDB.open('zkcredits-vault'); q.onsuccess = () => res(q.result); q.onerror = rej; });
       const rows = await new Promise((res) => { const q = db.transaction('credits').objectStore('credits').getAll(); q.onsuccess = () => res(q.result); });
       db.close();
       return JSON.stringify(rows);`,
      { pass: PASS, records: [record(1), record(2), record(3, 'pending')] },
    );
    expect(r.ok).toBe(true);
    const raw = (r as { value: string }).value;
    expect(raw).toContain('"ct"');
    for (const n of [1001, 2001, 3001, 1002]) expect(raw).not.toContain(n.toString(16).padStart(64, '0'));
  });

  it('a wrong passphrase fails with wrong_passphrase; the right one opens the same counts', async () => {
    expect(await run('await t.Vault.unlock("not the passphrase")')).toMatchObject({ ok: false, code: 'wrong_passphrase' });
    const r = await run('const v = await t.Vault.unlock(arg); const c = v.counts(); v.lock(); return c;', PASS);
    expect(r).toEqual({ ok: true, value: { unspent: 2, spent: 0, pending: 1, archived: 0 } });
  });

  it('survives a reload (data is in IndexedDB, the key is not)', async () => {
    await page.reload();
    await page.waitForFunction(() => '__zkcTest' in window);
    const r = await run('const v = await t.Vault.unlock(arg); const n = v.list().length; v.lock(); return n;', PASS);
    expect(r).toEqual({ ok: true, value: 3 });
  });

  it('export → import: a backup restores credits and merges statuses (spent wins)', async () => {
    const exported = await run('const v = await t.Vault.unlock(arg); await v.update(arg2, { status: "spent", spentAt: 1 }); const f = await v.exportBackup(); v.lock(); return f;'.replace('arg2', JSON.stringify(record(1).id)), PASS);
    expect(exported.ok).toBe(true);
    const file = (exported as { value: string }).value;
    expect(JSON.parse(file)).toMatchObject({ format: 'zkcredits-vault-backup', version: 1, kdf: { name: 'PBKDF2', hash: 'SHA-256' } });
    expect(file).not.toContain((1001).toString(16).padStart(64, '0'));
    // Wipe this browser, restore from the file.
    await run('await new Promise((res) => { const q = indexedDB.deleteDatabase("zkcredits-vault"); q.onsuccess = res; q.onblocked = res; });');
    expect(await run('return await t.Vault.exists()')).toEqual({ ok: true, value: false });
    const restored = await run('const v = await t.Vault.restore(arg.file, arg.pass); const c = v.counts(); v.lock(); return c;', { file, pass: PASS });
    expect(restored).toEqual({ ok: true, value: { unspent: 1, spent: 1, pending: 1, archived: 0 } });
  });

  it('importing the same backup twice adds nothing', async () => {
    const r = await run(
      'const v = await t.Vault.unlock(arg.pass); const f = await v.exportBackup(); const res = await v.importBackup(f, arg.pass); const c = v.counts(); v.lock(); return { res, c };',
      { pass: PASS },
    );
    expect(r).toEqual({ ok: true, value: { res: { added: 0, updated: 0, accounts: { added: 0, updated: 0 } }, c: { unspent: 1, spent: 1, pending: 1, archived: 0 } } });
  });

  it('a damaged backup or a wrong backup passphrase is refused and changes nothing', async () => {
    const r = await run(
      `const v = await t.Vault.unlock(arg.pass);
       const good = JSON.parse(await v.exportBackup());
       const out = {};
       const attempt = async (name, text, pass) => { try { await v.importBackup(text, pass); out[name] = 'accepted'; } catch (e) { out[name] = e.code; } };
       await attempt('notJson', '{"format": "zkcredits-vault-', arg.pass);
       await attempt('otherJson', JSON.stringify({ hello: 'world' }), arg.pass);
       await attempt('wrongPass', JSON.stringify(good), 'wrong passphrase!!');
       const flipped = structuredClone(good);
       const ct = flipped.credits[0].ct; flipped.credits[0].ct = (ct[0] === 'A' ? 'B' : 'A') + ct.slice(1);
       await attempt('tampered', JSON.stringify(flipped), arg.pass);
       const swapped = structuredClone(good);
       [swapped.credits[0].id, swapped.credits[1].id] = [swapped.credits[1].id, swapped.credits[0].id];
       await attempt('swapped', JSON.stringify(swapped), arg.pass);
       const weakKdf = structuredClone(good); weakKdf.kdf.iterations = 1;
       await attempt('weakKdf', JSON.stringify(weakKdf), arg.pass);
       out.counts = v.counts(); out.n = v.list().length; v.lock();
       return out;`,
      { pass: PASS },
    );
    expect(r).toEqual({
      ok: true,
      value: {
        notJson: 'backup_invalid',
        otherJson: 'backup_invalid',
        wrongPass: 'backup_wrong_passphrase',
        tampered: 'backup_invalid',
        swapped: 'backup_invalid',
        weakKdf: 'backup_invalid',
        counts: { unspent: 1, spent: 1, pending: 1, archived: 0 },
        n: 3,
      },
    });
  });

  it('reads credits saved without a deployment block hash; the hash and the archive mark survive export → import', async () => {
    const hash = `0x${'cd'.repeat(32)}`;
    const r = await run(
      `await new Promise((res) => { const q = indexedDB.deleteDatabase("zkcredits-vault"); q.onsuccess = res; q.onblocked = res; });
       const v = await t.Vault.create(arg.pass);
       await v.add([arg.legacy, arg.stamped, arg.other]);
       const archived = await v.archive([arg.stamped.id, arg.other.id, arg.other.id]);
       v.lock();
       const again = await t.Vault.unlock(arg.pass);
       const file = await again.exportBackup();
       const afterUnlock = { counts: again.counts(), legacyHash: again.get(arg.legacy.id).deploymentBlockHash ?? null };
       again.lock();
       await new Promise((res) => { const q = indexedDB.deleteDatabase("zkcredits-vault"); q.onsuccess = res; q.onblocked = res; });
       const restored = await t.Vault.restore(file, arg.pass);
       const s = restored.get(arg.stamped.id);
       const out = { archived, afterUnlock, restored: restored.counts(), stamped: { hash: s.deploymentBlockHash, archived: typeof s.archivedAt } };
       restored.lock();
       return out;`,
      { pass: PASS, legacy: record(11), stamped: { ...record(12), deploymentBlockHash: hash }, other: record(13, 'pending') },
    );
    expect(r).toEqual({
      ok: true,
      value: {
        archived: 2,
        afterUnlock: { counts: { unspent: 1, spent: 0, pending: 0, archived: 2 }, legacyHash: null },
        restored: { unspent: 1, spent: 0, pending: 0, archived: 2 },
        stamped: { hash, archived: 'number' },
      },
    });
  });

  it('refuses a credit whose deployment block hash is malformed', async () => {
    const r = await run('const v = await t.Vault.unlock(arg.pass); try { await v.add([arg.bad]); } finally { v.lock(); }', {
      pass: PASS,
      bad: { ...record(20), deploymentBlockHash: '0x1234' },
    });
    expect(r).toMatchObject({ ok: false });
  });

  it('opens the IndexedDB rows and the backup the app wrote before the vault moved to core', async () => {
    const fixture = JSON.parse(readFileSync(new URL('../../core/test/fixtures/vault-web-v1.json', import.meta.url), 'utf8')) as {
      passphrase: string;
      records: unknown[];
      indexedDb: { meta: unknown; credits: unknown[] };
      backup: string;
    };
    const r = await run(
      `const drop = () => new Promise((res) => { const q = indexedDB.deleteDatabase("zkcredits-vault"); q.onsuccess = res; });
       await drop();
       const missing = await t.Vault.unlock(arg.passphrase).then(() => 'accepted', (e) => e.code + ': ' + e.message);
       // That attempt made an empty database of today's version: start again from the old app's (version 1).
       await drop();
       const db = await new Promise((res, rej) => {
         const q = indexedDB.open('zkcredits-vault', 1);
         q.onupgradeneeded = () => { q.result.createObjectStore('meta'); q.result.createObjectStore('credits', { keyPath: 'id' }); };
         q.onsuccess = () => res(q.result); q.onerror = rej;
       });
       await new Promise((res, rej) => {
         const tx = db.transaction(['meta', 'credits'], 'readwrite');
         tx.objectStore('meta').put(arg.indexedDb.meta, 'vault');
         for (const c of arg.indexedDb.credits) tx.objectStore('credits').put(c);
         tx.oncomplete = res; tx.onerror = rej;
       });
       db.close();
       const wrong = await t.Vault.unlock('not the passphrase').then(() => 'accepted', (e) => e.code + ': ' + e.message);
       const v = await t.Vault.unlock(arg.passphrase);
       const out = { missing, wrong, list: v.list(), fromBackup: await t.readBackup(arg.backup, arg.passphrase) };
       v.lock();
       return out;`,
      fixture,
    );
    expect(r).toEqual({
      ok: true,
      value: {
        missing: 'vault_missing: There is no vault in this browser yet.',
        wrong: 'wrong_passphrase: That passphrase does not unlock this vault.', list: fixture.records, fromBackup: fixture.records },
    });
  });

  it('generates credentials of 31 random bytes each (top byte zero), non-zero and distinct', async () => {
    const r = await run('return Array.from({ length: 64 }, () => t.generateSecrets());');
    expect(r.ok).toBe(true);
    const pairs = (r as { value: { nullifier: string; secret: string }[] }).value;
    const values = pairs.flatMap((p) => [p.nullifier, p.secret]);
    for (const v of values) {
      expect(v).toMatch(/^0x00[0-9a-f]{62}$/);
      expect(BigInt(v)).toBeGreaterThan(0n);
    }
    expect(new Set(values).size).toBe(values.length);
  });
});
