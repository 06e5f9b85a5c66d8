import type { Store as RateLimitStore } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { createClient } from 'redis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** Timeout of one Redis command (and of the connection attempt). */
const REDIS_COMMAND_TIMEOUT_MS = 2_000;

/**
 * Where the per-IP request counts live. `memory`: in this process (each replica counts on
 * its own). `redis`: one shared count for every replica pointed at the same Redis and prefix.
 */
export type RateLimitBackend = {
  kind: 'memory' | 'redis';
  /**
   * A fresh express-rate-limit store (one per limiter); undefined = its default memory store.
   * `name` keeps a limiter's counts apart from the others' in a shared Redis (its own key prefix).
   */
  createStore(name?: string): RateLimitStore | undefined;
  /** Resolves when the store answers; rejects otherwise (for `/ready`). */
  ping(): Promise<void>;
  close(): Promise<void>;
};

export const memoryRateLimit: RateLimitBackend = {
  kind: 'memory',
  createStore: () => undefined,
  ping: async () => {},
  close: async () => {},
};

/**
 * Connects to `ZKC_REDIS_URL` when configured (and fails if Redis does not answer now),
 * else keeps the counts in memory. After start, a Redis outage makes rate-limited routes
 * answer 503 `not_ready` and `/ready` report it, until Redis is back (reconnects on its own).
 */
export async function createRateLimitBackend(config: Config['rateLimitRedis'], logger: Logger): Promise<RateLimitBackend> {
  if (!config) return memoryRateLimit;
  const log = logger.child({ subsystem: 'ratelimit' });
  const client = createClient({
    url: config.url,
    // Fail commands at once while disconnected instead of queueing requests behind them.
    disableOfflineQueue: true,
    commandOptions: { timeout: REDIS_COMMAND_TIMEOUT_MS },
    socket: {
      connectTimeout: REDIS_COMMAND_TIMEOUT_MS,
      // At start-up a refused connection fails `connect()`; once connected, retry for ever.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(100 * 2 ** retries, 5_000) : cause),
    },
  });
  let connected = false;
  let up = true;
  // Only state changes are logged (the client emits an error per reconnect attempt), and
  // only the message: the URL may carry a password.
  client.on('error', (err: unknown) => {
    if (!up) return;
    up = false;
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'rate-limit redis unreachable');
  });
  client.on('ready', () => {
    if (up) return;
    up = true;
    log.info('rate-limit redis reachable again');
  });
  try {
    await client.connect();
    await client.ping();
    connected = true;
  } catch (err) {
    client.destroy();
    throw new Error(`ZKC_REDIS_URL: Redis did not answer (${err instanceof Error ? err.message : String(err)}); start it or fix the URL`, { cause: err });
  }
  log.info({ prefix: config.prefix }, 'rate limits shared through redis');
  return {
    kind: 'redis',
    createStore: (name?: string) =>
      new RedisStore({
        prefix: name ? `${config.prefix}${name}:` : config.prefix,
        sendCommand: (...args: string[]) => client.sendCommand(args) as Promise<RedisReply>,
      }),
    async ping() {
      await client.ping();
    },
    async close() {
      if (client.isOpen) await client.close().catch(() => client.destroy());
    },
  };
}
