import { describe, expect, it } from 'vitest';
import { ZkCreditsError, requestHash } from '../src/index.js';

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
