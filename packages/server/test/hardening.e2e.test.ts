// Capacity and hardening over HTTP: saturated verifier pool, per-IP rate limits behind a
// trusted proxy, CORS allow-list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createProofPools, type ProofPools } from '../src/proof/node.js';
import { WorkerPool } from '../src/proof/pool.js';
import type { Verifier } from '../src/proof/types.js';
import { chatBody, errorOf, startStack, type Stack, minimalEnv } from './helpers/stack.js';

describe('hardening', () => {
  let s: Stack;
  let real: ProofPools;
  let gate: Promise<void> = Promise.resolve();
  let entered = 0;

  beforeAll(async () => {
    real = await createProofPools(loadConfig({ ...minimalEnv(), ZKC_VERIFIERS: '1' }), { prover: true });
    // One real verifier behind a gate the test controls, no queue: the second concurrent
    // verification finds the pool saturated.
    const gated: Verifier = {
      async verify(p) {
        entered++;
        await gate;
        return real.verifier.verify(p);
      },
      verifyTicket: (p) => real.verifier.verifyTicket(p),
      verifyMetered: (p) => real.verifier.verifyMetered(p),
    };
    const pool = new WorkerPool([gated], { maxQueue: 0, busyCode: 'verifier_busy', retryAfterSeconds: 2 });
    const pools: ProofPools = {
      verifier: { pool: pool as never, verify: (p) => pool.run((w) => w.verify(p)), verifyTicket: (p) => pool.run((w) => w.verifyTicket(p)), verifyMetered: (p) => pool.run((w) => w.verifyMetered(p)) },
      prover: real.prover,
      backend: real.backend,
      destroy: async () => {},
    };
    s = await startStack('sqlite', {
      pools,
      env: { ZKC_TRUST_PROXY: 'loopback', ZKC_RATE_LIMIT_PER_MINUTE: '40', ZKC_CORS_ORIGINS: 'https://app.example' },
    });
  });
  afterAll(async () => {
    await s?.stop();
    await real?.destroy();
  });

  it('answers 503 with Retry-After when every verifier is busy, and spends nothing', async () => {
    const [a, b] = await s.buyCredits(2);
    const bodyA = chatBody('first');
    const bodyB = chatBody('second');
    const [zkA, zkB] = [await s.prove(a!, bodyA), await s.prove(b!, bodyB)];
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const first = s.post({ ...bodyA, zkcredits: zkA });
    while (entered === 0) await new Promise((r) => setTimeout(r, 5));
    const busy = await s.post({ ...bodyB, zkcredits: zkB });
    expect(busy.headers.get('retry-after')).toBe('2');
    expect(await errorOf(busy)).toMatchObject({ status: 503, code: 'verifier_busy' });
    open();
    expect((await first).status).toBe(200);
    expect((await s.post({ ...bodyB, zkcredits: zkB })).status).toBe(200);
  });

  it('rate-limits per client IP, taken from X-Forwarded-For only from a trusted proxy', async () => {
    const get = (ip: string) => fetch(`${s.url}/v1/models`, { headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 40; i++) expect((await get('203.0.113.7')).status).toBe(200);
    const limited = await get('203.0.113.7');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await errorOf(limited)).toMatchObject({ status: 429, code: 'rate_limited', type: 'rate_limit_error' });
    expect((await get('203.0.113.8')).status).toBe(200);
  });

  it('grants CORS to allow-listed origins only', async () => {
    const ok = await fetch(`${s.url}/v1/zkcredits/config`, { headers: { origin: 'https://app.example', 'x-forwarded-for': '198.51.100.1' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const pre = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-venice-tee-client-pub-key', 'x-forwarded-for': '198.51.100.1' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('x-venice-tee-client-pub-key');
    const no = await fetch(`${s.url}/v1/zkcredits/config`, { headers: { origin: 'https://other.example', 'x-forwarded-for': '198.51.100.1' } });
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
  });
});
