import { z } from 'zod';

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte hex address')
  .transform((a) => a as `0x${string}`);

/** Chains the app can buy on. 31337 is the local Anvil chain (development and tests). */
export const SUPPORTED_CHAIN_IDS = [8453, 84532, 31337] as const;
export type SupportedChainId = (typeof SUPPORTED_CHAIN_IDS)[number];

/** What the browser needs to know about the deployment; passed from the server at render time. */
export const publicConfig = z.object({
  chainId: z.union([z.literal(8453), z.literal(84532), z.literal(31337)]),
  pool: address,
  /** JSON-RPC URL the browser reads the chain with (required for 31337, optional otherwise). */
  rpcUrl: z.string().url().optional(),
  /** WalletConnect Cloud project id; without it only browser-extension wallets are offered. */
  walletConnectProjectId: z.string().min(1).optional(),
});
export type PublicConfig = z.infer<typeof publicConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the deployment from the environment (server side, once per render):
 * ZKC_CHAIN_ID, ZKC_POOL_ADDRESS, ZKC_RPC_URL, ZKC_WALLETCONNECT_PROJECT_ID.
 */
export function readPublicConfig(env: Record<string, string | undefined> = process.env): PublicConfig {
  const parsed = publicConfig.safeParse({
    chainId: env.ZKC_CHAIN_ID ? Number(env.ZKC_CHAIN_ID) : 31337,
    pool: env.ZKC_POOL_ADDRESS,
    rpcUrl: env.ZKC_RPC_URL || (env.ZKC_CHAIN_ID ? undefined : 'http://127.0.0.1:8545'),
    walletConnectProjectId: env.ZKC_WALLETCONNECT_PROJECT_ID || undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(
      `invalid web config: ${issue.path.join('.') || 'value'}: ${issue.message}. ` +
        'Set ZKC_CHAIN_ID (8453, 84532 or 31337), ZKC_POOL_ADDRESS (the CreditPool address) and, for 31337, ZKC_RPC_URL.',
    );
  }
  return parsed.data;
}

/** Base URL of the zkcredits API server the app proxies to (server side only). */
export function serverUrl(env: Record<string, string | undefined> = process.env): string {
  const raw = env.ZKC_SERVER_URL ?? 'http://127.0.0.1:8787';
  const parsed = z.string().url().safeParse(raw);
  if (!parsed.success) throw new ConfigError(`ZKC_SERVER_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  return parsed.data.replace(/\/+$/, '');
}
