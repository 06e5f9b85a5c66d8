/**
 * Fixtures for the proxy's tests: the real stack (Anvil + CreditPool, server, Venice simulator,
 * through the client's test helpers), a client with funded credits, a proxy over it, and raw
 * HTTP requests (for headers `fetch` will not send as given, such as `Host`).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { MemoryCreditStore, type CreditStore, type SpendProver, type ZkCreditsClient, type ZkCreditsClientOptions } from '@zkcredits/client';
import { clientFor, fundedWallet, recordingFetch, startClientStack, waitModelsKnown, type Stack } from '../../client/test/helpers.js';
import { startProxy, type ProxyEvent, type ProxyOptions, type RunningProxy } from '../src/serve/index.js';

export { E2EE_MODEL, MODEL, fundedWallet, recordingFetch, startClientStack, type Stack } from '../../client/test/helpers.js';

/** A fresh local token, as `zkcredits init` makes one. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Buys `n` credits into `client`'s store (Anvil account `wallet`) and waits until the server has indexed them. */
export async function fund(stack: Stack, client: ZkCreditsClient, n: number, wallet = 2): Promise<void> {
  // Counted before buying: the server may index the purchase before `buy` returns.
  const before = stack.server.indexer.status.leafCount;
  await client.buy(n, { walletClient: await fundedWallet(stack, wallet), permit: true });
  await stack.waitIndexed(before + n);
  await client.sync();
}

export type ProxyFixture = { proxy: RunningProxy; token: string; events: ProxyEvent[] };

/** A proxy on 127.0.0.1 (a free port) over `client`, recording its events. */
export async function proxyFor(client: ZkCreditsClient, options: Partial<ProxyOptions> = {}): Promise<ProxyFixture> {
  const token = options.token ?? newToken();
  const events: ProxyEvent[] = [];
  const proxy = await startProxy({ client, token, host: '127.0.0.1', port: 0, onEvent: (e) => events.push(e), ...options });
  return { proxy, token, events };
}

export type RawAnswer = { status: number; headers: Record<string, string | string[] | undefined>; text: string };

/** One HTTP/1.1 request to the proxy with exactly these headers (no agent keeping the connection). */
export function raw(proxy: RunningProxy, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: proxy.port, method: options.method ?? 'GET', path: options.path ?? '/v1/models', headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The `error` member of an OpenAI-shaped answer. */
export function errorOf(answer: RawAnswer): { code: string; message: string; type: string; param: string | null } {
  return (JSON.parse(answer.text) as { error: { code: string; message: string; type: string; param: string | null } }).error;
}

/** A stack, a native prover, and a client (memory store unless given) recording its paid requests. */
export async function servedStack(options: Partial<ZkCreditsClientOptions> = {}): Promise<{
  stack: Stack & { stopAll(): Promise<void> };
  prover: SpendProver;
  client: ZkCreditsClient;
  paid: ReturnType<typeof recordingFetch>['paid'];
  store: CreditStore;
  stop(): Promise<void>;
}> {
  const { nodeProver } = await import('@zkcredits/client/node');
  const stack = await startClientStack();
  const prover = await nodeProver({ backend: 'native' })();
  const recorder = recordingFetch();
  const store = options.store ?? new MemoryCreditStore();
  const client = clientFor(stack, prover, { fetch: recorder.fetch, ...options, store });
  await waitModelsKnown(stack);
  return {
    stack,
    prover,
    client,
    paid: recorder.paid,
    store,
    async stop() {
      await client.close();
      await prover.destroy?.();
      await stack.stopAll();
    },
  };
}
