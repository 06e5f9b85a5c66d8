import { z } from 'zod';
import type { DeploymentManifest } from '@zkcredits/core';
import { readManifestFile } from './server/deployment';

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte hex address')
  .transform((a) => a as `0x${string}`);

/** Chains the app can buy on. 31337 is the local Anvil chain (development and tests). */
export const SUPPORTED_CHAIN_IDS = [8453, 84532, 31337] as const;

/** The payment token as the deployment manifest describes it. */
export const tokenInfo = z.object({
  address,
  symbol: z.string().min(1).max(32),
  decimals: z.number().int().min(0).max(36),
  /** The token accepts ERC-2612 permits on this chain. */
  permit: z.boolean(),
});
export type TokenInfo = z.infer<typeof tokenInfo>;

/** What the browser needs to know about the deployment; passed from the server at render time. */
export const publicConfig = z.object({
  chainId: z.union([z.literal(8453), z.literal(84532), z.literal(31337)]),
  pool: address,
  /** JSON-RPC URL the browser reads the chain with (required for 31337, optional otherwise). */
  rpcUrl: z.string().url().optional(),
  /** WalletConnect Cloud project id; without it only browser-extension wallets are offered. */
  walletConnectProjectId: z.string().min(1).optional(),
  /** From the deployment manifest (absent when configured with ZKC_CHAIN_ID/ZKC_POOL_ADDRESS). */
  deployment: z
    .object({
      /** Block of the CreditPool deployment, as a decimal string. */
      block: z.string().regex(/^[0-9]+$/),
      /** Its hash: tells this deployment apart from one on a reset chain at the same address. */
      blockHash: z.string().regex(/^0x[0-9a-f]{64}$/).transform((h) => h as `0x${string}`),
    })
    .optional(),
  /** From the deployment manifest; without it the app reads symbol and decimals from the chain. */
  token: tokenInfo.optional(),
});
export type PublicConfig = z.infer<typeof publicConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Builds the browser's config from the environment and, when `ZKC_DEPLOYMENT` is set, the
 * deployment manifest it points to (`manifest`, already read and checked). The manifest gives
 * the chain, the CreditPool, its deployment block and the token; ZKC_CHAIN_ID and
 * ZKC_POOL_ADDRESS are only a fallback without a manifest, and must agree with it if given.
 * ZKC_RPC_URL and ZKC_WALLETCONNECT_PROJECT_ID always come from the environment.
 */
export function publicConfigFrom(env: Record<string, string | undefined>, manifest?: DeploymentManifest): PublicConfig {
  if (manifest) {
    const clash: string[] = [];
    if (env.ZKC_CHAIN_ID && Number(env.ZKC_CHAIN_ID) !== manifest.chainId) clash.push(`ZKC_CHAIN_ID=${env.ZKC_CHAIN_ID}`);
    if (env.ZKC_POOL_ADDRESS && env.ZKC_POOL_ADDRESS.toLowerCase() !== manifest.creditPool.toLowerCase()) {
      clash.push(`ZKC_POOL_ADDRESS=${env.ZKC_POOL_ADDRESS}`);
    }
    if (clash.length > 0) {
      throw new ConfigError(
        `${clash.join(' and ')} disagree${clash.length === 1 ? 's' : ''} with the deployment manifest ZKC_DEPLOYMENT ` +
          `(chain ${manifest.chainId}, CreditPool ${manifest.creditPool}). Remove ${clash.length === 1 ? 'it' : 'them'} or make ${clash.length === 1 ? 'it' : 'them'} match.`,
      );
    }
  }
  const chainId = manifest ? manifest.chainId : env.ZKC_CHAIN_ID ? Number(env.ZKC_CHAIN_ID) : 31337;
  const parsed = publicConfig.safeParse({
    chainId,
    pool: manifest ? manifest.creditPool : env.ZKC_POOL_ADDRESS,
    rpcUrl: env.ZKC_RPC_URL || (chainId === 31337 ? 'http://127.0.0.1:8545' : undefined),
    walletConnectProjectId: env.ZKC_WALLETCONNECT_PROJECT_ID || undefined,
    deployment: manifest ? { block: manifest.deploymentBlock.toString(), blockHash: manifest.deploymentBlockHash.toLowerCase() } : undefined,
    token: manifest ? { ...manifest.token } : undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.') || 'value';
    throw new ConfigError(
      manifest
        ? `invalid web config from the deployment manifest: ${where}: ${issue.message}. The app buys on chains ${SUPPORTED_CHAIN_IDS.join(', ')}.`
        : `invalid web config: ${where}: ${issue.message}. ` +
            'Set ZKC_DEPLOYMENT (the deployment manifest), or ZKC_CHAIN_ID (8453, 84532 or 31337) and ZKC_POOL_ADDRESS (the CreditPool address).',
    );
  }
  return parsed.data;
}

/**
 * Reads the deployment from the environment (server side, at every render): the manifest at
 * ZKC_DEPLOYMENT when set (else ZKC_CHAIN_ID, ZKC_POOL_ADDRESS), ZKC_RPC_URL,
 * ZKC_WALLETCONNECT_PROJECT_ID.
 */
export function readPublicConfig(env: Record<string, string | undefined> = process.env): PublicConfig {
  return publicConfigFrom(env, env.ZKC_DEPLOYMENT ? readManifestFile(env.ZKC_DEPLOYMENT) : undefined);
}

/** Base URL of the zkcredits API server the app proxies to (server side only). */
export function serverUrl(env: Record<string, string | undefined> = process.env): string {
  const raw = env.ZKC_SERVER_URL ?? 'http://127.0.0.1:8787';
  const parsed = z.string().url().safeParse(raw);
  if (!parsed.success) throw new ConfigError(`ZKC_SERVER_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  return parsed.data.replace(/\/+$/, '');
}
