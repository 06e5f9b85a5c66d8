// The v2 ticket settings: retention grace, the slash job's interval, and the slasher key from the
// environment or a file, checked at start-up without ever echoing the key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { configProblems, validEnv } from './helpers/config.js';

const KEY = `0x${'5a'.repeat(32)}`;

function keyFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'zkc-slasher-')), 'key');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

describe('v2 ticket configuration', () => {
  it('keeps tickets 7 grace days, runs the slash job every minute, and has no slasher key unless given one', () => {
    const c = loadConfig(validEnv);
    expect(c.tickets).toEqual({ graceDays: 7, slashIntervalMs: 60_000 });
    expect(c.slasher).toBeUndefined();
    expect(loadConfig({ ...validEnv, ZKC_TICKET_GRACE_DAYS: '30', ZKC_SLASH_INTERVAL_MS: '5000' }).tickets).toEqual({ graceDays: 30, slashIntervalMs: 5000 });
    expect(configProblems({ ...validEnv, ZKC_TICKET_GRACE_DAYS: '1' })[0]).toMatch(/ZKC_TICKET_GRACE_DAYS must be at least 2/);
  });

  it('takes the slasher key from ZKC_SLASHER_KEY or the first line of ZKC_SLASHER_KEY_FILE (with or without 0x)', () => {
    expect(loadConfig({ ...validEnv, ZKC_SLASHER_KEY: KEY.toUpperCase().replace('0X', '0x') }).slasher).toEqual({ privateKey: KEY });
    expect(loadConfig({ ...validEnv, ZKC_SLASHER_KEY_FILE: keyFile(`${KEY}\n`) }).slasher).toEqual({ privateKey: KEY });
    expect(loadConfig({ ...validEnv, ZKC_SLASHER_KEY_FILE: keyFile(`${KEY.slice(2)}\r\nsecond line ignored\n`) }).slasher).toEqual({ privateKey: KEY });
  });

  it('refuses a bad slasher key with a fix-it message that never contains the key', () => {
    const cases: [Record<string, string>, RegExp, string][] = [
      [{ ZKC_SLASHER_KEY: '0x1234' }, /ZKC_SLASHER_KEY must be a 32-byte hex private key/, '0x1234'],
      [{ ZKC_SLASHER_KEY: `0x${'zz'.repeat(32)}` }, /ZKC_SLASHER_KEY must be a 32-byte hex private key/, 'zzzz'],
      [{ ZKC_SLASHER_KEY: `0x${'00'.repeat(32)}` }, /ZKC_SLASHER_KEY: not a valid secp256k1 private key/, '0000000000'],
      [{ ZKC_SLASHER_KEY: `0x${'ff'.repeat(32)}` }, /not a valid secp256k1 private key/, 'ffffffffff'],
      [{ ZKC_SLASHER_KEY: KEY, ZKC_SLASHER_KEY_FILE: keyFile(KEY) }, /both set: keep one/, '5a5a5a'],
      [{ ZKC_SLASHER_KEY_FILE: keyFile('not a key 5b5b5b\n') }, /ZKC_SLASHER_KEY_FILE: the first line of .* must be a 32-byte hex private key/, '5b5b5b'],
      [{ ZKC_SLASHER_KEY_FILE: '/nonexistent/zkc-slasher-key' }, /ZKC_SLASHER_KEY_FILE: cannot read \/nonexistent\/zkc-slasher-key \(ENOENT\)/, 'never'],
    ];
    for (const [env, message, secret] of cases) {
      const problems = configProblems({ ...validEnv, ...env });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(message);
      expect(problems.join('\n')).not.toContain(secret);
    }
  });
});
