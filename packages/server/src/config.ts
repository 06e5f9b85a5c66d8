import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { MAX_METERED_AMOUNT, STATE_KEY_ORDER, defaultConfirmations, type DeploymentManifest } from '@zkcredits/core';
import { readDeploymentManifest } from '@zkcredits/core/node';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { type Policy, parsePolicyRules } from './metered/policy.js';
import { type PriceTable, missingPrices, parsePriceTable } from './metered/pricing.js';

/** One model the server sells, with the most output and input tokens one credit buys. */
export type ModelConfig = { id: string; maxTokensPerCredit: number; maxInputTokensPerCredit: number };

/** Venice's `venice_parameters` keys an operator may enable (each can change what Venice bills). */
export const VENICE_PARAMETER_KEYS = [
  'character_slug',
  'strip_thinking_response',
  'disable_thinking',
  'enable_web_search',
  'enable_web_scraping',
  'enable_web_citations',
  'include_search_results_in_stream',
  'return_search_results_as_documents',
  'include_venice_system_prompt',
] as const;

export type TrustProxy = boolean | number | string[];

/** The validated server configuration (see README for the environment variables). */
export type Config = {
  host: string;
  port: number;
  chain: {
    rpcUrl: string;
    /** The manifest the deployment was read from (ZKC_DEPLOYMENT), if any. */
    manifest: DeploymentManifest | undefined;
    chainId: number;
    contract: `0x${string}`;
    /** First block to scan; read from the contract when not configured. */
    deploymentBlock: bigint | undefined;
    confirmations: number;
    pollIntervalMs: number;
    /** Most blocks asked for in one eth_getLogs call. */
    logBlockRange: number;
  };
  store: { kind: 'sqlite'; sqlitePath: string } | { kind: 'postgres'; databaseUrl: string };
  upstream: {
    baseUrl: string;
    apiKey: string;
    /** Until the response headers arrive. */
    headersTimeoutMs: number;
    /** Longest gap between two body chunks. */
    idleTimeoutMs: number;
    /** Whole upstream call, streaming included. */
    totalTimeoutMs: number;
  };
  models: ModelConfig[];
  /** `venice_parameters` keys clients may send besides `enable_e2ee` (always allowed). */
  veniceParameters: string[];
  /** Releases of one credit (failed provider calls) before it cools down (PROTOCOL.md, "Release cooldown"). */
  releasesBeforeCooldown: number;
  apiKeyMode: boolean;
  proofs: {
    backend: 'auto' | 'native' | 'wasm';
    crsPath: string | undefined;
    verifiers: number;
    verifyQueue: number;
    provers: number;
    proveQueue: number;
  };
  /** A reservation older than this is abandoned (crash) and the credit is spendable again. */
  reservationTtlMs: number;
  /** Protocol v2 flat tickets. */
  tickets: {
    /** Days tickets are kept beyond first_seen + TTL_DAYS, and revoked nullifiers beyond the account's expiry. */
    graceDays: number;
    /** Between two rounds of the background job that publishes evidence (slash). */
    slashIntervalMs: number;
  };
  /** The operator key that sends `slash` transactions; undefined: evidence is kept and waits for one. */
  slasher: { privateKey: `0x${string}` } | undefined;
  /** Protocol v2 metered calls (step 2). */
  metered: {
    /** The Grumpkin state secret the server signs states with; undefined: metered calls are refused (`metered_unavailable`). */
    stateKey: { secret: bigint } | undefined;
    /** Price per 1M input/output tokens of each model, in price units (ZKC_MODEL_PRICES). */
    prices: PriceTable;
    /** Rules whose violations cost a penalty, and the cap of one penalty (undefined: C_max). */
    policy: Policy;
    /** This replica's name in the metered reservations it holds (ZKC_REPLICA_ID; default: the hostname). */
    replicaId: string;
  };
  limits: {
    maxBodyBytes: number;
    rateLimitPerMinute: number;
    /** Per-IP limit of `GET /v1/tee/collateral`, counted apart from the other routes. */
    collateralRateLimitPerMinute: number;
    retryAfterSeconds: number;
  };
  /** Where the DCAP collateral mirror (`GET /v1/tee/collateral`) fetches from. */
  tee: {
    /** Intel PCS (or a PCCS) base URL, without `/sgx|tdx/certification/v4`. */
    pcsUrl: string;
    /** Intel SGX root CA CRL (DER, or hex from a PCCS). */
    rootCaCrlUrl: string;
  };
  /** Shared per-IP counts for all replicas; undefined = in memory, per process. */
  rateLimitRedis: { url: string; prefix: string } | undefined;
  trustProxy: TrustProxy;
  corsOrigins: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  shutdownGraceMs: number;
  /** The Prometheus listener (ZKC_METRICS_ADDR); undefined: off. */
  metrics: { host: string; port: number } | undefined;
  /** Client connections to the API listener. */
  connections: {
    /** A request's headers must arrive within this (ZKC_HEADERS_TIMEOUT_MS). */
    headersTimeoutMs: number;
    /** Open connections per client address, IPv6 per /64 (ZKC_MAX_CONNECTIONS_PER_IP); not applied behind ZKC_TRUST_PROXY. */
    maxPerIp: number;
  };
};

const int = (name: string, min: number, max: number, example: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number, e.g. ${name}=${example}` })
    .int({ error: `${name} must be a whole number, e.g. ${name}=${example}` })
    .min(min, { error: `${name} must be at least ${min}` })
    .max(max, { error: `${name} must be at most ${max}` });

const bool = (name: string) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: `${name} must be true or false` })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (name: string, example: string) =>
  z.url({ error: `${name} must be an absolute URL, e.g. ${name}=${example}` });

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const modelsSchema = z
  .string({
    error:
      'ZKC_MODELS is required: the models you sell with their output-token cap per credit (and optionally the input cap), e.g. ZKC_MODELS=llama-3.3-70b:1024,qwen3-4b:2048/16384',
  })
  .transform((value, ctx) => {
    const out: { id: string; maxTokensPerCredit: number; maxInputTokensPerCredit: number | undefined }[] = [];
    const tokens = (v: string | undefined) => (v !== undefined && /^\d{1,7}$/.test(v) ? Number(v) : NaN);
    for (const item of list(value)) {
      const i = item.lastIndexOf(':');
      const id = i > 0 ? item.slice(0, i) : '';
      const [outCap, inCap, ...extra] = (i > 0 ? item.slice(i + 1) : '').split('/');
      const cap = tokens(outCap);
      const inputCap = inCap === undefined ? undefined : tokens(inCap);
      const bad = (n: number | undefined) => n !== undefined && (!Number.isInteger(n) || n < 1 || n > 1_000_000);
      if (!id || !/^[A-Za-z0-9._:/-]{1,128}$/.test(id) || bad(cap) || bad(inputCap) || extra.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `ZKC_MODELS entry "${item}" must be <model id>:<max output tokens per credit>[/<max input tokens per credit>], e.g. llama-3.3-70b:1024 or llama-3.3-70b:1024/8192`,
        });
        return z.NEVER;
      }
      if (out.some((m) => m.id === id)) {
        ctx.addIssue({ code: 'custom', message: `ZKC_MODELS lists "${id}" twice` });
        return z.NEVER;
      }
      out.push({ id, maxTokensPerCredit: cap, maxInputTokensPerCredit: inputCap });
    }
    if (out.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'ZKC_MODELS must name at least one model, e.g. ZKC_MODELS=llama-3.3-70b:1024' });
      return z.NEVER;
    }
    return out;
  });

const trustProxySchema = z
  .string()
  .transform((value, ctx): TrustProxy => {
    const v = value.trim();
    if (v === '' || v === 'false') return false;
    if (v === 'true') {
      ctx.addIssue({
        code: 'custom',
        message:
          'ZKC_TRUST_PROXY=true would let any client forge its IP with X-Forwarded-For. Give the number of proxy hops (e.g. 1) or the proxies\' addresses (e.g. loopback,10.0.0.0/8)',
      });
      return z.NEVER;
    }
    if (/^\d+$/.test(v)) return Number(v);
    return list(v);
  });

/** Default metrics listener: loopback only (an ephemeral port when ZKC_PORT=0). */
export const DEFAULT_METRICS_PORT = 9464;

const metricsAddrSchema = z.string().transform((value, ctx): { host: string; port: number } | 'off' => {
  const v = value.trim();
  if (v === 'off') return 'off';
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(v);
  if (!m || Number(m[3]) > 65535) {
    ctx.addIssue({
      code: 'custom',
      message: `ZKC_METRICS_ADDR must be host:port or off, e.g. ZKC_METRICS_ADDR=127.0.0.1:${DEFAULT_METRICS_PORT} (or [::1]:${DEFAULT_METRICS_PORT}; 0.0.0.0:${DEFAULT_METRICS_PORT} only on a private network)`,
    });
    return z.NEVER;
  }
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
});

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;
/** secp256k1's group order: a private key is 1 .. n−1. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const envSchema = z.object({
  ZKC_HOST: z.string().default('127.0.0.1'),
  ZKC_PORT: int('ZKC_PORT', 0, 65535, 8787).default(8787),
  ZKC_RPC_URL: url('ZKC_RPC_URL', 'http://127.0.0.1:8545'),
  ZKC_DEPLOYMENT: z.string().min(1).optional(),
  ZKC_CHAIN_ID: int('ZKC_CHAIN_ID', 1, Number.MAX_SAFE_INTEGER, 8453).optional(),
  ZKC_CONTRACT: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, { error: 'ZKC_CONTRACT must be 0x followed by 40 hex digits (the CreditPool address)' })
    .transform((v) => v.toLowerCase() as `0x${string}`)
    .optional(),
  ZKC_DEPLOYMENT_BLOCK: z
    .string()
    .regex(/^\d+$/, { error: 'ZKC_DEPLOYMENT_BLOCK must be a block number, e.g. ZKC_DEPLOYMENT_BLOCK=12345678 (or leave it unset to read it from the contract)' })
    .transform((v) => BigInt(v))
    .optional(),
  ZKC_CONFIRMATIONS: int('ZKC_CONFIRMATIONS', 0, 1000, 2).optional(),
  ZKC_POLL_INTERVAL_MS: int('ZKC_POLL_INTERVAL_MS', 10, 600_000, 2000).default(2000),
  ZKC_LOG_BLOCK_RANGE: int('ZKC_LOG_BLOCK_RANGE', 1, 1_000_000, 5000).default(5000),
  ZKC_STORE: z.enum(['sqlite', 'postgres'], { error: 'ZKC_STORE must be sqlite (single server) or postgres (several replicas)' }).default('sqlite'),
  ZKC_SQLITE_PATH: z.string().min(1).default('./zkcredits.sqlite'),
  ZKC_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { error: 'ZKC_DATABASE_URL must be a postgres:// URL, e.g. postgres://user@127.0.0.1:5432/zkcredits' })
    .optional(),
  ZKC_UPSTREAM_URL: url('ZKC_UPSTREAM_URL', 'https://api.venice.ai/api/v1').default('https://api.venice.ai/api/v1'),
  ZKC_UPSTREAM_API_KEY: z.string({ error: 'ZKC_UPSTREAM_API_KEY is required: your Venice API key' }).min(1, { error: 'ZKC_UPSTREAM_API_KEY must not be empty' }),
  ZKC_UPSTREAM_HEADERS_TIMEOUT_MS: int('ZKC_UPSTREAM_HEADERS_TIMEOUT_MS', 100, 600_000, 30000).default(30_000),
  ZKC_UPSTREAM_IDLE_TIMEOUT_MS: int('ZKC_UPSTREAM_IDLE_TIMEOUT_MS', 100, 600_000, 30000).default(30_000),
  ZKC_UPSTREAM_TIMEOUT_MS: int('ZKC_UPSTREAM_TIMEOUT_MS', 100, 3_600_000, 300000).default(300_000),
  ZKC_MODELS: modelsSchema,
  ZKC_MAX_INPUT_TOKENS_PER_CREDIT: int('ZKC_MAX_INPUT_TOKENS_PER_CREDIT', 1, 1_000_000, 8192).default(8192),
  ZKC_VENICE_PARAMETERS: z
    .string()
    .transform((v, ctx) => {
      const keys = list(v);
      for (const k of keys) {
        if (!(VENICE_PARAMETER_KEYS as readonly string[]).includes(k)) {
          ctx.addIssue({
            code: 'custom',
            message: `ZKC_VENICE_PARAMETERS entry "${k}" is not a Venice parameter this server knows; choose from ${VENICE_PARAMETER_KEYS.join(', ')} (enable_e2ee is always allowed)`,
          });
          return z.NEVER;
        }
      }
      return keys;
    })
    .default([]),
  ZKC_RELEASES_BEFORE_COOLDOWN: int('ZKC_RELEASES_BEFORE_COOLDOWN', 1, 1000, 3).default(3),
  ZKC_API_KEY_MODE: bool('ZKC_API_KEY_MODE').default(false),
  ZKC_BB_BACKEND: z.enum(['auto', 'native', 'wasm'], { error: 'ZKC_BB_BACKEND must be auto, native or wasm' }).default('auto'),
  ZKC_CRS_PATH: z.string().min(1).optional(),
  ZKC_VERIFIERS: int('ZKC_VERIFIERS', 1, 64, 2).default(2),
  ZKC_VERIFY_QUEUE: int('ZKC_VERIFY_QUEUE', 0, 100_000, 64).default(64),
  ZKC_PROVERS: int('ZKC_PROVERS', 1, 64, 1).default(1),
  ZKC_PROVE_QUEUE: int('ZKC_PROVE_QUEUE', 0, 10_000, 8).default(8),
  ZKC_RESERVATION_TTL_MS: int('ZKC_RESERVATION_TTL_MS', 1000, 86_400_000, 360000).optional(),
  ZKC_TICKET_GRACE_DAYS: int('ZKC_TICKET_GRACE_DAYS', 2, 3650, 7).default(7),
  ZKC_SLASH_INTERVAL_MS: int('ZKC_SLASH_INTERVAL_MS', 1000, 86_400_000, 60000).default(60_000),
  ZKC_SLASHER_KEY: z
    .string()
    .regex(PRIVATE_KEY, { error: 'ZKC_SLASHER_KEY must be a 32-byte hex private key (0x followed by 64 hex digits) of an account with gas on the chain, or leave it unset' })
    .optional(),
  ZKC_SLASHER_KEY_FILE: z.string().min(1).optional(),
  ZKC_STATE_KEY: z
    .string()
    .regex(PRIVATE_KEY, { error: 'ZKC_STATE_KEY must be the Grumpkin state secret as 0x followed by 64 hex digits (the key whose public key the CreditPool pins), or leave it unset to refuse metered calls' })
    .optional(),
  ZKC_STATE_KEY_FILE: z.string().min(1).optional(),
  ZKC_MODEL_PRICES: z.string().optional(),
  ZKC_POLICY_RULES: z.string().optional(),
  ZKC_POLICY_MAX_PENALTY: int('ZKC_POLICY_MAX_PENALTY', 1, MAX_METERED_AMOUNT, 50000).optional(),
  ZKC_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, { error: 'ZKC_REPLICA_ID must be 1-128 characters from A-Z a-z 0-9 . _ : -, unique per replica and stable across its restarts, e.g. ZKC_REPLICA_ID=api-1' })
    .optional(),
  ZKC_MAX_BODY_BYTES: int('ZKC_MAX_BODY_BYTES', 32 * 1024, 64 * 1024 * 1024, 1048576).default(1024 * 1024),
  ZKC_RATE_LIMIT_PER_MINUTE: int('ZKC_RATE_LIMIT_PER_MINUTE', 1, 1_000_000, 120).default(120),
  ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE: int('ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE', 1, 1_000_000, 30).default(30),
  ZKC_TEE_PCS_URL: url('ZKC_TEE_PCS_URL', 'https://api.trustedservices.intel.com')
    .refine((v) => /^https?:\/\//.test(v), { error: 'ZKC_TEE_PCS_URL must be an http(s) URL, e.g. ZKC_TEE_PCS_URL=https://api.trustedservices.intel.com' })
    .default('https://api.trustedservices.intel.com'),
  ZKC_TEE_ROOT_CA_CRL_URL: url('ZKC_TEE_ROOT_CA_CRL_URL', 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der')
    .refine((v) => /^https?:\/\//.test(v), {
      error: 'ZKC_TEE_ROOT_CA_CRL_URL must be an http(s) URL, e.g. ZKC_TEE_ROOT_CA_CRL_URL=https://certificates.trustedservices.intel.com/IntelSGXRootCA.der',
    })
    .default('https://certificates.trustedservices.intel.com/IntelSGXRootCA.der'),
  ZKC_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, {
      error: 'ZKC_REDIS_URL must be a redis:// or rediss:// URL, e.g. ZKC_REDIS_URL=redis://127.0.0.1:6379 (or leave it unset to keep rate limits in memory, per replica)',
    })
    .refine((v) => URL.canParse(v), { error: 'ZKC_REDIS_URL is not a valid URL, e.g. ZKC_REDIS_URL=redis://user:password@redis.internal:6379/0' })
    .optional(),
  ZKC_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,100}$/, {
      error: 'ZKC_REDIS_PREFIX must be 1-100 characters from A-Z a-z 0-9 : . _ -, e.g. ZKC_REDIS_PREFIX=zkc:rl:prod: (or leave it unset to derive it from the chain id and contract)',
    })
    .optional(),
  ZKC_RETRY_AFTER_SECONDS: int('ZKC_RETRY_AFTER_SECONDS', 1, 3600, 1).default(1),
  ZKC_TRUST_PROXY: trustProxySchema.default(false),
  ZKC_CORS_ORIGINS: z
    .string()
    .transform((v, ctx) => {
      const origins = list(v);
      for (const o of origins) {
        if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) {
          ctx.addIssue({ code: 'custom', message: `ZKC_CORS_ORIGINS entry "${o}" must be an origin like https://app.example.com (scheme + host, no path) or *` });
          return z.NEVER;
        }
      }
      return origins;
    })
    .default([]),
  ZKC_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'ZKC_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  ZKC_SHUTDOWN_GRACE_MS: int('ZKC_SHUTDOWN_GRACE_MS', 0, 600_000, 10000).default(10_000),
  ZKC_METRICS_ADDR: metricsAddrSchema.optional(),
  ZKC_HEADERS_TIMEOUT_MS: int('ZKC_HEADERS_TIMEOUT_MS', 100, 600_000, 10000).default(10_000),
  ZKC_MAX_CONNECTIONS_PER_IP: int('ZKC_MAX_CONNECTIONS_PER_IP', 1, 100_000, 64).default(64),
});

/**
 * Reads and validates the configuration from environment variables, once, at start-up.
 * @throws {ConfigError} listing every bad or missing variable with how to fix it.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const relevant: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('ZKC_') && v !== undefined && v !== '') relevant[k] = v;
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      return issue.message.includes(key) || !key ? issue.message : `${key}: ${issue.message}`;
    });
    if (!relevant.ZKC_DEPLOYMENT && !(relevant.ZKC_CHAIN_ID && relevant.ZKC_CONTRACT)) problems.push(MISSING_DEPLOYMENT);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const problems: string[] = [];
  const deployment = resolveDeployment(e, problems);
  if (e.ZKC_STORE === 'postgres' && !e.ZKC_DATABASE_URL) {
    problems.push('ZKC_STORE=postgres needs ZKC_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/zkcredits');
  }
  const reservationTtlMs = e.ZKC_RESERVATION_TTL_MS ?? e.ZKC_UPSTREAM_TIMEOUT_MS + 60_000;
  if (reservationTtlMs <= e.ZKC_UPSTREAM_TIMEOUT_MS) {
    problems.push(
      `ZKC_RESERVATION_TTL_MS (${reservationTtlMs}) must exceed ZKC_UPSTREAM_TIMEOUT_MS (${e.ZKC_UPSTREAM_TIMEOUT_MS}), otherwise a slow request could lose its reservation to a second one`,
    );
  }
  if (e.ZKC_CORS_ORIGINS.includes('*') && e.ZKC_CORS_ORIGINS.length > 1) {
    problems.push('ZKC_CORS_ORIGINS: use either * or a list of origins, not both');
  }
  if (e.ZKC_REDIS_PREFIX && !e.ZKC_REDIS_URL) {
    problems.push('ZKC_REDIS_PREFIX is set but ZKC_REDIS_URL is not: set ZKC_REDIS_URL=redis://… to share rate limits, or remove ZKC_REDIS_PREFIX');
  }
  const slasher = resolveSlasherKey(e, problems);
  const metered = resolveMetered(e, problems);
  const metrics =
    e.ZKC_METRICS_ADDR === 'off' ? undefined : (e.ZKC_METRICS_ADDR ?? { host: '127.0.0.1', port: e.ZKC_PORT === 0 ? 0 : DEFAULT_METRICS_PORT });
  if (metrics && metrics.port !== 0 && metrics.port === e.ZKC_PORT) {
    problems.push(`ZKC_METRICS_ADDR uses port ${metrics.port}, the API's ZKC_PORT: give metrics their own port, e.g. ZKC_METRICS_ADDR=127.0.0.1:${DEFAULT_METRICS_PORT}`);
  }
  if (problems.length > 0 || !deployment) throw new ConfigError(problems);
  const { chainId, contract, manifest } = deployment;

  return {
    host: e.ZKC_HOST,
    port: e.ZKC_PORT,
    chain: {
      rpcUrl: e.ZKC_RPC_URL,
      manifest,
      chainId,
      contract,
      deploymentBlock: e.ZKC_DEPLOYMENT_BLOCK ?? manifest?.deploymentBlock,
      confirmations: e.ZKC_CONFIRMATIONS ?? defaultConfirmations(chainId),
      pollIntervalMs: e.ZKC_POLL_INTERVAL_MS,
      logBlockRange: e.ZKC_LOG_BLOCK_RANGE,
    },
    store:
      e.ZKC_STORE === 'postgres'
        ? { kind: 'postgres', databaseUrl: e.ZKC_DATABASE_URL! }
        : { kind: 'sqlite', sqlitePath: e.ZKC_SQLITE_PATH },
    upstream: {
      baseUrl: e.ZKC_UPSTREAM_URL.replace(/\/+$/, ''),
      apiKey: e.ZKC_UPSTREAM_API_KEY,
      headersTimeoutMs: e.ZKC_UPSTREAM_HEADERS_TIMEOUT_MS,
      idleTimeoutMs: e.ZKC_UPSTREAM_IDLE_TIMEOUT_MS,
      totalTimeoutMs: e.ZKC_UPSTREAM_TIMEOUT_MS,
    },
    models: e.ZKC_MODELS.map((m) => ({ ...m, maxInputTokensPerCredit: m.maxInputTokensPerCredit ?? e.ZKC_MAX_INPUT_TOKENS_PER_CREDIT })),
    veniceParameters: e.ZKC_VENICE_PARAMETERS,
    releasesBeforeCooldown: e.ZKC_RELEASES_BEFORE_COOLDOWN,
    apiKeyMode: e.ZKC_API_KEY_MODE,
    proofs: {
      backend: e.ZKC_BB_BACKEND,
      crsPath: e.ZKC_CRS_PATH,
      verifiers: e.ZKC_VERIFIERS,
      verifyQueue: e.ZKC_VERIFY_QUEUE,
      provers: e.ZKC_PROVERS,
      proveQueue: e.ZKC_PROVE_QUEUE,
    },
    reservationTtlMs,
    tickets: { graceDays: e.ZKC_TICKET_GRACE_DAYS, slashIntervalMs: e.ZKC_SLASH_INTERVAL_MS },
    slasher,
    metered,
    limits: {
      maxBodyBytes: e.ZKC_MAX_BODY_BYTES,
      rateLimitPerMinute: e.ZKC_RATE_LIMIT_PER_MINUTE,
      collateralRateLimitPerMinute: e.ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE,
      retryAfterSeconds: e.ZKC_RETRY_AFTER_SECONDS,
    },
    tee: {
      pcsUrl: e.ZKC_TEE_PCS_URL.replace(/\/+$/, ''),
      rootCaCrlUrl: e.ZKC_TEE_ROOT_CA_CRL_URL,
    },
    rateLimitRedis: e.ZKC_REDIS_URL
      ? { url: e.ZKC_REDIS_URL, prefix: e.ZKC_REDIS_PREFIX ?? `zkc:rl:${chainId}:${contract}:` }
      : undefined,
    trustProxy: e.ZKC_TRUST_PROXY,
    corsOrigins: e.ZKC_CORS_ORIGINS,
    logLevel: e.ZKC_LOG_LEVEL,
    shutdownGraceMs: e.ZKC_SHUTDOWN_GRACE_MS,
    metrics,
    connections: { headersTimeoutMs: e.ZKC_HEADERS_TIMEOUT_MS, maxPerIp: e.ZKC_MAX_CONNECTIONS_PER_IP },
  };
}

type Env = z.infer<typeof envSchema>;

const MISSING_DEPLOYMENT =
  'ZKC_DEPLOYMENT is required: the deployment manifest written by `npm run deploy`, e.g. ZKC_DEPLOYMENT=deployments/8453-0x….json (or set both ZKC_CHAIN_ID and ZKC_CONTRACT)';

/**
 * The slasher's key: from ZKC_SLASHER_KEY or the first line of ZKC_SLASHER_KEY_FILE (a secret
 * mount), not both. Problems name the variable, never the key.
 */
function resolveSlasherKey(e: Env, problems: string[]): { privateKey: `0x${string}` } | undefined {
  if (e.ZKC_SLASHER_KEY && e.ZKC_SLASHER_KEY_FILE) {
    problems.push('ZKC_SLASHER_KEY and ZKC_SLASHER_KEY_FILE are both set: keep one (the file is better, e.g. a secret mount)');
    return undefined;
  }
  let key = e.ZKC_SLASHER_KEY;
  if (e.ZKC_SLASHER_KEY_FILE) {
    let text: string;
    try {
      text = readFileSync(e.ZKC_SLASHER_KEY_FILE, 'utf8');
    } catch (err) {
      problems.push(`ZKC_SLASHER_KEY_FILE: cannot read ${e.ZKC_SLASHER_KEY_FILE} (${(err as { code?: string }).code ?? 'error'}); point it at a file holding the key, or unset it`);
      return undefined;
    }
    const first = text.split(/\r?\n/, 1)[0]!.trim();
    key = /^[0-9a-fA-F]{64}$/.test(first) ? `0x${first}` : first;
    if (!PRIVATE_KEY.test(key)) {
      problems.push(`ZKC_SLASHER_KEY_FILE: the first line of ${e.ZKC_SLASHER_KEY_FILE} must be a 32-byte hex private key (0x followed by 64 hex digits)`);
      return undefined;
    }
  }
  if (key === undefined) return undefined;
  const n = BigInt(key);
  if (n === 0n || n >= SECP256K1_N) {
    problems.push(`${e.ZKC_SLASHER_KEY_FILE ? 'ZKC_SLASHER_KEY_FILE' : 'ZKC_SLASHER_KEY'}: not a valid secp256k1 private key (zero, or not below the curve order)`);
    return undefined;
  }
  return { privateKey: key.toLowerCase() as `0x${string}` };
}

/**
 * The state secret: from ZKC_STATE_KEY or the first line of ZKC_STATE_KEY_FILE (a secret mount),
 * not both, 1 ≤ sk < the Grumpkin order. Problems name the variable, never the key.
 */
function resolveStateKey(e: Env, problems: string[]): { secret: bigint } | undefined {
  if (e.ZKC_STATE_KEY && e.ZKC_STATE_KEY_FILE) {
    problems.push('ZKC_STATE_KEY and ZKC_STATE_KEY_FILE are both set: keep one (the file is better, e.g. a secret mount)');
    return undefined;
  }
  let key = e.ZKC_STATE_KEY;
  if (e.ZKC_STATE_KEY_FILE) {
    let text: string;
    try {
      text = readFileSync(e.ZKC_STATE_KEY_FILE, 'utf8');
    } catch (err) {
      problems.push(`ZKC_STATE_KEY_FILE: cannot read ${e.ZKC_STATE_KEY_FILE} (${(err as { code?: string }).code ?? 'error'}); point it at the file holding the state secret, or unset it`);
      return undefined;
    }
    const first = text.split(/\r?\n/, 1)[0]!.trim();
    key = /^[0-9a-fA-F]{64}$/.test(first) ? `0x${first}` : first;
    if (!PRIVATE_KEY.test(key)) {
      problems.push(`ZKC_STATE_KEY_FILE: the first line of ${e.ZKC_STATE_KEY_FILE} must be the Grumpkin state secret (0x followed by 64 hex digits)`);
      return undefined;
    }
  }
  if (key === undefined) return undefined;
  const secret = BigInt(key);
  if (secret === 0n || secret >= STATE_KEY_ORDER) {
    problems.push(`${e.ZKC_STATE_KEY_FILE ? 'ZKC_STATE_KEY_FILE' : 'ZKC_STATE_KEY'}: not a valid Grumpkin state secret (zero, or not below the group order); generate one with \`npm run deploy\` or core's generateStateSecret()`);
    return undefined;
  }
  return { secret };
}

/** Metered calls: the state secret, the price of every model (when the secret is set), the policy, the replica id. */
function resolveMetered(e: Env, problems: string[]): Config['metered'] {
  const stateKey = resolveStateKey(e, problems);
  let prices: PriceTable = new Map();
  if (e.ZKC_MODEL_PRICES !== undefined) {
    const parsed = parsePriceTable(e.ZKC_MODEL_PRICES);
    if (parsed.ok) {
      prices = parsed.prices;
      const sold = new Set(e.ZKC_MODELS.map((m) => m.id));
      for (const id of prices.keys()) {
        if (!sold.has(id)) problems.push(`ZKC_MODEL_PRICES prices "${id}", which ZKC_MODELS does not sell: remove it or add the model to ZKC_MODELS`);
      }
    } else problems.push(...parsed.problems);
  }
  if (stateKey) {
    if (e.ZKC_MODEL_PRICES === undefined) {
      problems.push('ZKC_STATE_KEY is set (metered calls are on) but ZKC_MODEL_PRICES is not: give every ZKC_MODELS model an input/output price per 1M tokens in price units, e.g. ZKC_MODEL_PRICES=llama-3.3-70b:700000/2800000');
    } else if (prices.size > 0) problems.push(...missingPrices(prices, e.ZKC_MODELS.map((m) => m.id)));
  }
  let policy: Policy = { rules: [], maxPenalty: e.ZKC_POLICY_MAX_PENALTY };
  if (e.ZKC_POLICY_RULES !== undefined) {
    const parsed = parsePolicyRules(e.ZKC_POLICY_RULES);
    if (parsed.ok) policy = { rules: parsed.rules, maxPenalty: e.ZKC_POLICY_MAX_PENALTY };
    else problems.push(...parsed.problems);
  }
  return { stateKey, prices, policy, replicaId: e.ZKC_REPLICA_ID ?? hostname() };
}

/**
 * The deployment: from the manifest (ZKC_DEPLOYMENT, the one file every component reads), or from
 * ZKC_CHAIN_ID + ZKC_CONTRACT. Variables set beside a manifest must agree with it.
 */
function resolveDeployment(
  e: Env,
  problems: string[],
): { chainId: number; contract: `0x${string}`; manifest: DeploymentManifest | undefined } | undefined {
  if (!e.ZKC_DEPLOYMENT) {
    if (e.ZKC_CHAIN_ID === undefined || e.ZKC_CONTRACT === undefined) {
      problems.push(MISSING_DEPLOYMENT);
      return undefined;
    }
    return { chainId: e.ZKC_CHAIN_ID, contract: e.ZKC_CONTRACT, manifest: undefined };
  }
  let manifest: DeploymentManifest;
  try {
    manifest = readDeploymentManifest(e.ZKC_DEPLOYMENT);
  } catch (err) {
    const m = err as { shortMessage?: string; details?: string; message?: string };
    problems.push(`ZKC_DEPLOYMENT: ${m.shortMessage ?? m.message}${m.details ? ` (${m.details})` : ''}`);
    return undefined;
  }
  const contract = manifest.creditPool.toLowerCase() as `0x${string}`;
  if (e.ZKC_CHAIN_ID !== undefined && e.ZKC_CHAIN_ID !== manifest.chainId) {
    problems.push(`ZKC_CHAIN_ID=${e.ZKC_CHAIN_ID} disagrees with the manifest's chain ${manifest.chainId}: remove ZKC_CHAIN_ID`);
  }
  if (e.ZKC_CONTRACT !== undefined && e.ZKC_CONTRACT !== contract) {
    problems.push(`ZKC_CONTRACT=${e.ZKC_CONTRACT} disagrees with the manifest's CreditPool ${manifest.creditPool}: remove ZKC_CONTRACT`);
  }
  if (e.ZKC_DEPLOYMENT_BLOCK !== undefined && e.ZKC_DEPLOYMENT_BLOCK !== manifest.deploymentBlock) {
    problems.push(`ZKC_DEPLOYMENT_BLOCK=${e.ZKC_DEPLOYMENT_BLOCK} disagrees with the manifest's block ${manifest.deploymentBlock}: remove ZKC_DEPLOYMENT_BLOCK`);
  }
  return { chainId: manifest.chainId, contract, manifest };
}
