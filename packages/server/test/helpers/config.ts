// The configuration tests' shared pieces: an environment that loads, and the problems of one that does not.
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

export const validEnv = {
  ZKC_RPC_URL: 'http://127.0.0.1:8545',
  ZKC_CHAIN_ID: '8453',
  ZKC_CONTRACT: `0x${'Ab'.repeat(20)}`,
  ZKC_UPSTREAM_API_KEY: 'venice-key',
  ZKC_MODELS: 'llama-3.3-70b:1024,qwen3-4b:2048',
};

/** Every problem `loadConfig` lists for `env` (fails the test if it loads). */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
