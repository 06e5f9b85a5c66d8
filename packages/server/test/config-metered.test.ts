// The metered settings: the state secret from the environment or a file (never echoed), the price
// of every model sold, the policy rules and their cap, and the replica id.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATE_KEY_ORDER } from '@zkcredits/core';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { findViolation } from '../src/metered/policy.js';
import { configProblems, validEnv } from './helpers/config.js';

const SECRET = `0x${'0a'.repeat(32)}`;
const PRICES = 'llama-3.3-70b:700000/2800000,qwen3-4b:50000/150000';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'zkc-metered-')), 'f');
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

describe('metered configuration', () => {
  it('is off without a state key: no secret, no prices, no rules, the hostname as replica id', () => {
    const { metered } = loadConfig(validEnv);
    expect(metered.stateKey).toBeUndefined();
    expect(metered.prices.size).toBe(0);
    expect(metered.policy).toEqual({ rules: [], maxPenalty: undefined });
    expect(metered.replicaId).toBe(hostname());
  });

  it('takes the state secret from ZKC_STATE_KEY or the first line of ZKC_STATE_KEY_FILE, and prices every model', () => {
    const a = loadConfig({ ...validEnv, ZKC_STATE_KEY: SECRET, ZKC_MODEL_PRICES: PRICES, ZKC_REPLICA_ID: 'api-1' }).metered;
    expect(a.stateKey).toEqual({ secret: BigInt(SECRET) });
    expect(Object.fromEntries(a.prices)).toEqual({ 'llama-3.3-70b': { input: 700000, output: 2800000 }, 'qwen3-4b': { input: 50000, output: 150000 } });
    expect(a.replicaId).toBe('api-1');
    expect(loadConfig({ ...validEnv, ZKC_STATE_KEY_FILE: file(`${SECRET.slice(2)}\nignored\n`), ZKC_MODEL_PRICES: PRICES }).metered.stateKey).toEqual({ secret: BigInt(SECRET) });
  });

  it('refuses a bad state secret with a fix-it message that never contains it', () => {
    const order = `0x${STATE_KEY_ORDER.toString(16).padStart(64, '0')}`;
    const cases: [Record<string, string>, RegExp, string][] = [
      [{ ZKC_STATE_KEY: '0x0a0a' }, /ZKC_STATE_KEY must be the Grumpkin state secret as 0x followed by 64 hex digits/, '0x0a0a'],
      [{ ZKC_STATE_KEY: `0x${'00'.repeat(32)}` }, /ZKC_STATE_KEY: not a valid Grumpkin state secret/, '00000000'],
      [{ ZKC_STATE_KEY: order }, /not below the group order/, order.slice(4, 30)],
      [{ ZKC_STATE_KEY: SECRET, ZKC_STATE_KEY_FILE: file(SECRET) }, /ZKC_STATE_KEY and ZKC_STATE_KEY_FILE are both set/, '0a0a0a'],
      [{ ZKC_STATE_KEY_FILE: file('nope 0b0b0b\n') }, /ZKC_STATE_KEY_FILE: the first line of .* must be the Grumpkin state secret/, '0b0b0b'],
      [{ ZKC_STATE_KEY_FILE: '/nonexistent/zkc-state-key' }, /ZKC_STATE_KEY_FILE: cannot read \/nonexistent\/zkc-state-key \(ENOENT\)/, 'never'],
    ];
    for (const [env, message, secret] of cases) {
      const problems = configProblems({ ...validEnv, ZKC_MODEL_PRICES: PRICES, ...env });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(message);
      expect(problems.join('\n')).not.toContain(secret);
    }
  });

  it('needs a price for every model sold once metered calls are on, and no price for a model not sold', () => {
    expect(configProblems({ ...validEnv, ZKC_STATE_KEY: SECRET })).toEqual([expect.stringMatching(/ZKC_STATE_KEY is set .* but ZKC_MODEL_PRICES is not: .* e\.g\. ZKC_MODEL_PRICES=/)]);
    expect(configProblems({ ...validEnv, ZKC_STATE_KEY: SECRET, ZKC_MODEL_PRICES: 'llama-3.3-70b:1/2' })).toEqual([expect.stringMatching(/ZKC_MODEL_PRICES has no price for "qwen3-4b"/)]);
    expect(configProblems({ ...validEnv, ZKC_MODEL_PRICES: `${PRICES},gpt-x:1/1` })).toEqual([expect.stringMatching(/prices "gpt-x", which ZKC_MODELS does not sell/)]);
    expect(configProblems({ ...validEnv, ZKC_MODEL_PRICES: 'llama-3.3-70b:cheap' })[0]).toMatch(/<model id>:<input price>\/<output price>/);
  });

  it('reads policy rules inline or from a file, caps penalties with ZKC_POLICY_MAX_PENALTY, and matches only plaintext user text', () => {
    const rules = JSON.stringify([
      { reason: 'spam', pattern: 'buy cheap pills', penalty: 10_000 },
      { reason: 'abuse_demo', pattern: '\\bforbidden\\b', penalty: 2 },
    ]);
    const inline = loadConfig({ ...validEnv, ZKC_POLICY_RULES: rules, ZKC_POLICY_MAX_PENALTY: '5000' }).metered.policy;
    const fromFile = loadConfig({ ...validEnv, ZKC_POLICY_RULES: file(rules) }).metered.policy;
    expect(inline.maxPenalty).toBe(5000);
    expect(fromFile.maxPenalty).toBeUndefined();
    for (const policy of [inline, fromFile]) {
      expect(policy.rules.map((r) => [r.reason, r.penalty])).toEqual([
        ['spam', 10_000],
        ['abuse_demo', 2],
      ]);
      const user = (content: unknown) => [{ role: 'system', content: 'buy cheap pills' }, { role: 'user', content }];
      expect(findViolation(policy, user('Please BUY Cheap PILLS now'), false)).toEqual({ reason: 'spam', penalty: 10_000 });
      expect(findViolation(policy, user([{ type: 'text', text: 'a forbidden word' }]), false)).toEqual({ reason: 'abuse_demo', penalty: 2 });
      // Only user messages, and never an end-to-end encrypted request.
      expect(findViolation(policy, user('hello'), false)).toBeUndefined();
      expect(findViolation(policy, user('buy cheap pills'), true)).toBeUndefined();
    }
  });

  it('explains bad policy rules and a bad replica id', () => {
    const bad = (rules: unknown) => configProblems({ ...validEnv, ZKC_POLICY_RULES: typeof rules === 'string' ? rules : JSON.stringify(rules) });
    expect(bad('[not json')[0]).toMatch(/ZKC_POLICY_RULES is not valid JSON/);
    expect(bad('/nonexistent/rules.json')[0]).toMatch(/neither a JSON array nor a readable file/);
    expect(bad({ reason: 'x' })[0]).toMatch(/must be a JSON array/);
    expect(bad([{ reason: 'Spam!', pattern: 'x', penalty: 1 }])[0]).toMatch(/rule 0: reason: reason must be 1-64 characters from a-z 0-9 _/);
    expect(bad([{ reason: 'spam', pattern: 'x', penalty: 0 }])[0]).toMatch(/penalty must be at least 1/);
    expect(bad([{ reason: 'spam', pattern: 'x', penalty: 2 ** 40 }])[0]).toMatch(/below 2\^40/);
    expect(bad([{ reason: 'spam', pattern: '(', penalty: 1 }])[0]).toMatch(/rule 0 \("spam"\): pattern is not a valid regular expression/);
    expect(bad([{ reason: 'spam', pattern: 'x', penalty: 1 }, { reason: 'spam', pattern: 'y', penalty: 1 }])[0]).toMatch(/"spam" is used twice/);
    expect(bad([{ reason: 'spam', pattern: 'x', penalty: 1, extra: true }])[0]).toMatch(/rule 0/);
    expect(configProblems({ ...validEnv, ZKC_POLICY_MAX_PENALTY: '0' })[0]).toMatch(/ZKC_POLICY_MAX_PENALTY must be at least 1/);
    expect(configProblems({ ...validEnv, ZKC_REPLICA_ID: 'has space' })[0]).toMatch(/ZKC_REPLICA_ID must be 1-128 characters/);
  });
});
