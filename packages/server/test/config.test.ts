import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CREDIT_VK_SHA256, TREE_DEPTH, serializeDeploymentManifest, type DeploymentManifest } from '@zkcredits/core';
import { loadConfig } from '../src/config.js';
import { configProblems, validEnv } from './helpers/config.js';

const valid = validEnv;
const problems = configProblems;

describe('loadConfig', () => {
  it('fills defaults and normalises values', () => {
    const c = loadConfig(valid);
    expect(c.chain.contract).toBe(`0x${'ab'.repeat(20)}`);
    expect(c.models).toEqual([
      { id: 'llama-3.3-70b', maxTokensPerCredit: 1024, maxInputTokensPerCredit: 8192 },
      { id: 'qwen3-4b', maxTokensPerCredit: 2048, maxInputTokensPerCredit: 8192 },
    ]);
    expect(c.store).toEqual({ kind: 'sqlite', sqlitePath: './zkcredits.sqlite' });
    expect(c.apiKeyMode).toBe(false);
    expect(c.trustProxy).toBe(false);
    expect(c.reservationTtlMs).toBeGreaterThan(c.upstream.totalTimeoutMs);
  });

  it('lists every missing variable with how to set it', () => {
    const p = problems({});
    for (const name of ['ZKC_RPC_URL', 'ZKC_DEPLOYMENT', 'ZKC_CHAIN_ID', 'ZKC_CONTRACT', 'ZKC_UPSTREAM_API_KEY', 'ZKC_MODELS']) {
      expect(p.some((m) => m.includes(name))).toBe(true);
    }
  });

  it('explains bad values', () => {
    expect(problems({ ...valid, ZKC_CONTRACT: '0x1234' })[0]).toMatch(/40 hex digits/);
    expect(problems({ ...valid, ZKC_MODELS: 'llama' })[0]).toMatch(/<model id>:<max output tokens per credit>/);
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

const manifest = (over: Partial<DeploymentManifest> = {}): DeploymentManifest => ({
  version: 1,
  chainId: 8453,
  creditPool: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  deploymentBlock: 123n,
  deploymentBlockHash: `0x${'ab'.repeat(32)}`,
  token: { address: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', symbol: 'USDC', decimals: 6, permit: true },
  pricePerCredit: 50_000n,
  pricePerTicket: 50_000n,
  ttlDays: 365,
  owner: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  treasury: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  deployer: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  vkSha256: CREDIT_VK_SHA256,
  treeDepth: TREE_DEPTH,
  ...over,
});

function manifestFile(m: DeploymentManifest | string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'zkc-manifest-')), 'deployment.json');
  writeFileSync(file, typeof m === 'string' ? m : serializeDeploymentManifest(m));
  return file;
}

describe('loadConfig with a deployment manifest (ZKC_DEPLOYMENT)', () => {
  const { ZKC_CHAIN_ID: _c, ZKC_CONTRACT: _a, ...rest } = valid;

  it('takes chain, contract and deployment block from the manifest', () => {
    const c = loadConfig({ ...rest, ZKC_DEPLOYMENT: manifestFile(manifest()) });
    expect(c.chain.chainId).toBe(8453);
    expect(c.chain.contract).toBe('0x5fbdb2315678afecb367f032d93f642f64180aa3');
    expect(c.chain.deploymentBlock).toBe(123n);
    expect(c.chain.manifest?.token.symbol).toBe('USDC');
  });

  it('refuses variables that disagree with the manifest', () => {
    const file = manifestFile(manifest());
    expect(problems({ ...rest, ZKC_DEPLOYMENT: file, ZKC_CHAIN_ID: '84532' })[0]).toMatch(/ZKC_CHAIN_ID=84532 disagrees with the manifest's chain 8453/);
    expect(problems({ ...rest, ZKC_DEPLOYMENT: file, ZKC_CONTRACT: `0x${'12'.repeat(20)}` })[0]).toMatch(/ZKC_CONTRACT=.* disagrees/);
    expect(problems({ ...rest, ZKC_DEPLOYMENT: file, ZKC_DEPLOYMENT_BLOCK: '7' })[0]).toMatch(/ZKC_DEPLOYMENT_BLOCK=7 disagrees/);
    expect(loadConfig({ ...rest, ZKC_DEPLOYMENT: file, ZKC_CHAIN_ID: '8453' }).chain.chainId).toBe(8453);
  });

  it('refuses a missing file, a non-manifest and a manifest for another circuit, saying what to do', () => {
    expect(problems({ ...rest, ZKC_DEPLOYMENT: '/nonexistent/x.json' })[0]).toMatch(/ZKC_DEPLOYMENT: deployment manifest not found.*npm run deploy/);
    expect(problems({ ...rest, ZKC_DEPLOYMENT: manifestFile('{"version":1}') })[0]).toMatch(/not a valid zkcredits deployment manifest.*chainId/);
    expect(problems({ ...rest, ZKC_DEPLOYMENT: manifestFile(manifest({ vkSha256: '0'.repeat(64) })) })[0]).toMatch(/another credit circuit/);
  });

  it('waits for no confirmations on the local chain 31337 and for 2 elsewhere, unless told', () => {
    expect(loadConfig({ ...rest, ZKC_DEPLOYMENT: manifestFile(manifest({ chainId: 31337 })) }).chain.confirmations).toBe(0);
    expect(loadConfig({ ...rest, ZKC_DEPLOYMENT: manifestFile(manifest()) }).chain.confirmations).toBe(2);
    expect(loadConfig({ ...valid, ZKC_CHAIN_ID: '31337' }).chain.confirmations).toBe(0);
    expect(loadConfig({ ...valid, ZKC_CHAIN_ID: '31337', ZKC_CONFIRMATIONS: '3' }).chain.confirmations).toBe(3);
  });
});

describe('loadConfig: what one credit buys', () => {
  it('reads per-model input caps (id:out/in), defaults the rest, and refuses malformed caps', () => {
    const c = loadConfig({ ...valid, ZKC_MODELS: 'llama-3.3-70b:1024/16384,org/model:v2:512', ZKC_MAX_INPUT_TOKENS_PER_CREDIT: '4096' });
    expect(c.models).toEqual([
      { id: 'llama-3.3-70b', maxTokensPerCredit: 1024, maxInputTokensPerCredit: 16384 },
      { id: 'org/model:v2', maxTokensPerCredit: 512, maxInputTokensPerCredit: 4096 },
    ]);
    for (const bad of ['m:1024/', 'm:1024/0', 'm:1024/2/3', 'm:/8', 'm:1e3']) {
      expect(problems({ ...valid, ZKC_MODELS: bad })[0]).toMatch(/<max output tokens per credit>\[\/<max input tokens per credit>\]/);
    }
  });

  it('enables only Venice parameters it knows, and counts 3 releases before a cooldown by default', () => {
    expect(loadConfig(valid).veniceParameters).toEqual([]);
    expect(loadConfig(valid).releasesBeforeCooldown).toBe(3);
    expect(loadConfig({ ...valid, ZKC_VENICE_PARAMETERS: 'enable_web_search, include_venice_system_prompt' }).veniceParameters).toEqual([
      'enable_web_search',
      'include_venice_system_prompt',
    ]);
    expect(problems({ ...valid, ZKC_VENICE_PARAMETERS: 'enable_everything' })[0]).toMatch(/not a Venice parameter this server knows/);
  });
});
