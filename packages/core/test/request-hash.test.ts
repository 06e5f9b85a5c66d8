import { describe, expect, it } from 'vitest';
import { MAX_BODY_DEPTH, ZkCreditsError, requestHash } from '../src/index.js';

const base = {
  chainId: 31337,
  contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const,
  method: 'POST',
  path: '/v1/chat/completions',
  body: { model: 'llama-3.3-70b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 64 },
};

describe('requestHash', () => {
  it('does not depend on member order or on the zkcredits member', () => {
    const h = requestHash(base);
    const reordered = { max_tokens: 64, messages: [{ content: 'hi', role: 'user' }], model: 'llama-3.3-70b' };
    expect(requestHash({ ...base, body: reordered })).toBe(h);
    expect(requestHash({ ...base, body: { ...base.body, zkcredits: { proof: 'AAAA' } } })).toBe(h);
  });

  it('changes with the body, the deployment, the method and the path', () => {
    const h = requestHash(base);
    const variants = [
      { ...base, body: { ...base.body, max_tokens: 65 } },
      { ...base, body: { ...base.body, messages: [{ role: 'user', content: 'hi!' }] } },
      { ...base, chainId: 8453 },
      { ...base, contract: '0x5FbDB2315678afecb367f032d93F642f64180aa4' as const },
      { ...base, path: '/v1/embeddings' },
      { ...base, method: 'PUT' },
    ];
    const hashes = new Set(variants.map((v) => requestHash(v)));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(h)).toBe(false);
  });

  it('is a field element', () => {
    expect(requestHash(base) < 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001n).toBe(true);
  });

  it('rejects non-canonical methods, paths with queries and bad addresses', () => {
    expect(() => requestHash({ ...base, method: 'post' })).toThrow(ZkCreditsError);
    expect(() => requestHash({ ...base, path: '/v1/chat/completions?x=1' })).toThrow(ZkCreditsError);
    expect(() => requestHash({ ...base, contract: '0x1234' as `0x${string}` })).toThrow(ZkCreditsError);
  });
});

describe('requestHash: bound headers and limits', () => {
  const e2ee = {
    'X-Venice-TEE-Client-Pub-Key': '04' + 'ab'.repeat(64),
    'x-venice-tee-model-pub-key': '04' + 'cd'.repeat(64),
    'x-venice-tee-signing-algo': 'ecdsa',
  };

  it('binds the E2EE headers (any letter case) and ignores every other header', () => {
    const plain = requestHash(base);
    const bound = requestHash({ ...base, headers: e2ee });
    expect(bound).not.toBe(plain);
    expect(requestHash({ ...base, headers: { authorization: 'Bearer x', 'user-agent': 'y' } })).toBe(plain);
    const lower = Object.fromEntries(Object.entries(e2ee).map(([k, v]) => [k.toLowerCase(), v]));
    expect(requestHash({ ...base, headers: { ...lower, accept: '*/*' } })).toBe(bound);
    expect(requestHash({ ...base, headers: { ...e2ee, 'X-Venice-TEE-Client-Pub-Key': '04' + 'ef'.repeat(64) } })).not.toBe(bound);
  });

  it('refuses bodies nested deeper than MAX_BODY_DEPTH instead of overflowing', () => {
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_BODY_DEPTH; i++) deep = [deep];
    expect(() => requestHash({ ...base, body: { deep } })).toThrow(/nested too deeply/);
    let ok: unknown = 1;
    for (let i = 0; i < MAX_BODY_DEPTH - 1; i++) ok = [ok];
    expect(() => requestHash({ ...base, body: { ok } })).not.toThrow();
  });

  it('refuses numbers JSON cannot represent (1e400 parses to Infinity) with a typed invalid_request', () => {
    const body = JSON.parse('{"model":"m","messages":[],"temperature":1e400}') as unknown;
    for (const bad of [body, { ...base.body, temperature: Number.NaN }, { ...base.body, top_p: -Infinity }]) {
      let error: unknown;
      try {
        requestHash({ ...base, body: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ZkCreditsError);
      expect((error as ZkCreditsError).code).toBe('invalid_request');
    }
  });
});
