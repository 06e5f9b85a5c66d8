import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const valid = {
  ZKC_RPC_URL: 'http://127.0.0.1:8545',
  ZKC_CHAIN_ID: '8453',
  ZKC_CONTRACT: `0x${'Ab'.repeat(20)}`,
  ZKC_UPSTREAM_API_KEY: 'venice-key',
  ZKC_MODELS: 'llama-3.3-70b:1024,qwen3-4b:2048',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills defaults and normalises values', () => {
    const c = loadConfig(valid);
    expect(c.chain.contract).toBe(`0x${'ab'.repeat(20)}`);
    expect(c.models).toEqual([
      { id: 'llama-3.3-70b', maxTokensPerCredit: 1024 },
      { id: 'qwen3-4b', maxTokensPerCredit: 2048 },
    ]);
    expect(c.store).toEqual({ kind: 'sqlite', sqlitePath: './zkcredits.sqlite' });
    expect(c.apiKeyMode).toBe(false);
    expect(c.trustProxy).toBe(false);
    expect(c.reservationTtlMs).toBeGreaterThan(c.upstream.totalTimeoutMs);
  });

  it('lists every missing variable with how to set it', () => {
    const p = problems({});
    for (const name of ['ZKC_RPC_URL', 'ZKC_CHAIN_ID', 'ZKC_CONTRACT', 'ZKC_UPSTREAM_API_KEY', 'ZKC_MODELS']) {
      expect(p.some((m) => m.includes(name))).toBe(true);
    }
  });

  it('explains bad values', () => {
    expect(problems({ ...valid, ZKC_CONTRACT: '0x1234' })[0]).toMatch(/40 hex digits/);
    expect(problems({ ...valid, ZKC_MODELS: 'llama' })[0]).toMatch(/<model id>:<max tokens per credit>/);
    expect(problems({ ...valid, ZKC_PORT: 'eighty' })[0]).toMatch(/ZKC_PORT must be a whole number/);
    expect(problems({ ...valid, ZKC_STORE: 'postgres' })[0]).toMatch(/ZKC_DATABASE_URL/);
    expect(problems({ ...valid, ZKC_CORS_ORIGINS: 'https://a.example/path' })[0]).toMatch(/origin like/);
    expect(problems({ ...valid, ZKC_UPSTREAM_TIMEOUT_MS: '60000', ZKC_RESERVATION_TTL_MS: '30000' })[0]).toMatch(/must exceed ZKC_UPSTREAM_TIMEOUT_MS/);
  });

  it('refuses to trust every proxy, and accepts hop counts and address lists', () => {
    expect(problems({ ...valid, ZKC_TRUST_PROXY: 'true' })[0]).toMatch(/forge its IP/);
    expect(loadConfig({ ...valid, ZKC_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ ...valid, ZKC_TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual(['loopback', '10.0.0.0/8']);
  });

  it('shares rate limits through Redis only when ZKC_REDIS_URL is set, with a per-deployment prefix', () => {
    expect(loadConfig(valid).rateLimitRedis).toBeUndefined();
    expect(loadConfig({ ...valid, ZKC_REDIS_URL: 'redis://127.0.0.1:6379' }).rateLimitRedis).toEqual({
      url: 'redis://127.0.0.1:6379',
      prefix: `zkc:rl:8453:0x${'ab'.repeat(20)}:`,
    });
    expect(loadConfig({ ...valid, ZKC_REDIS_URL: 'rediss://u:p@r.example:6380/1', ZKC_REDIS_PREFIX: 'zkc:prod:' }).rateLimitRedis?.prefix).toBe('zkc:prod:');
    expect(problems({ ...valid, ZKC_REDIS_URL: 'http://127.0.0.1:6379' })[0]).toMatch(/ZKC_REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(problems({ ...valid, ZKC_REDIS_URL: 'redis://a', ZKC_REDIS_PREFIX: 'has space' })[0]).toMatch(/ZKC_REDIS_PREFIX must be/);
    expect(problems({ ...valid, ZKC_REDIS_PREFIX: 'zkc:' })[0]).toMatch(/set ZKC_REDIS_URL/);
  });
});
