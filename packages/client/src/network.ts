/**
 * The one way the SDK, the CLI and the local proxy reach the network: the zkcredits server,
 * chain RPC, attestation and collateral services. With a SOCKS5 proxy configured (`--socks5 URL`
 * or `ZKC_SOCKS_PROXY`), every request goes through it or fails: there is no direct fallback.
 *
 * Privacy properties with a proxy:
 * - **Remote DNS.** Target host names are sent to the proxy as names (SOCKS5 ATYP 3); the client
 *   never resolves them, so `.onion` addresses work and local DNS sees nothing.
 * - **Circuit isolation.** Each identity is a SOCKS user name/password; Tor's default
 *   `IsolateSOCKSAuth` gives different identities different circuits. `paidFetch` uses a fresh
 *   random identity for every call, so two paid calls never share a circuit (or an exit); chain
 *   reads use their own stable identity; everything else (`fetch`) another one.
 *   If the proxy URL carries fixed credentials, they are used as given on every connection and
 *   per-call isolation is off (`isolatesCalls` is false): the proxy would refuse other names.
 */
import { http, type HttpTransport, type HttpTransportConfig } from 'viem';
import type { Agent } from 'undici';
import { NetworkError, SOCKS_HELP } from './network-errors.js';
import { probeSocksProxy } from './network-probe.js';
import { describeSocksProxy, parseSocksUrl, type SocksProxyConfig } from './network-url.js';

/** A WHATWG `fetch`, as the OpenAI SDK, viem (`fetchFn`) and the Vercel AI SDK take it. */
export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export type NetworkOptions = {
  /** `socks5://[user:pass@]host:port` (or `socks5h://`). Unset or empty: direct connections. */
  socks5?: string | undefined;
  /** Limit for the TCP connect plus SOCKS5 handshake of one request (Tor may be slow). Default 30 s. */
  connectTimeoutMs?: number | undefined;
  /** Limit for `check()`. Default 5 s. */
  checkTimeoutMs?: number | undefined;
};

/** Outgoing connections of one process: direct, or all through one SOCKS5 proxy. */
export interface Network {
  /** True when a SOCKS5 proxy carries every request. */
  readonly proxied: boolean;
  /** The proxy, safe to print (`socks5://host:port`, credentials masked), or `undefined`. */
  readonly proxy: string | undefined;
  /** True when each paid call gets its own SOCKS identity (proxied, without fixed credentials). */
  readonly isolatesCalls: boolean;
  /** Server, attestation and collateral requests (one stable identity). */
  readonly fetch: FetchFn;
  /** A paid call: a fresh random SOCKS identity (so a fresh Tor circuit) for every call. */
  readonly paidFetch: FetchFn;
  /** Chain reads (RPC): their own stable identity, never shared with calls or other requests. */
  readonly chainFetch: FetchFn;
  /** A new stable identity for one task (e.g. one purchase): all its requests share it, nothing else does. */
  isolatedFetch(): FetchFn;
  /** A viem `http` transport whose requests go through `chainFetch`. Only http(s) URLs. */
  rpcTransport(url: string, config?: Omit<HttpTransportConfig, 'fetchFn'>): HttpTransport;
  /**
   * Connects to the proxy and completes a SOCKS5 handshake; call it at start and refuse to run
   * if it throws. Without a proxy it does nothing.
   * @throws {NetworkError} `socks_unreachable`
   */
  check(): Promise<void>;
  /** Closes pooled proxy connections (lets a CLI exit at once). The network stays usable. */
  close(): Promise<void>;
}

type Credentials = { username: string; password: string };

/** 128 random bits as hex: a SOCKS user name or password nobody else uses. */
function randomToken(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function freshCredentials(): Credentials {
  return { username: randomToken(), password: randomToken() };
}

function requestUrl(input: string | URL | Request): URL | undefined {
  try {
    return new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  } catch {
    return undefined;
  }
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/**
 * Makes the network layer.
 * @throws {NetworkError} `invalid_socks_url` for a malformed proxy setting (before any connection).
 * @example
 * const network = createNetwork({ socks5: 'socks5://127.0.0.1:9050' });
 * await network.check(); // refuse to start if Tor is not running
 * const res = await network.paidFetch('https://zkcredits.example/v1/chat/completions', { method: 'POST', body });
 */
export function createNetwork(options: NetworkOptions = {}): Network {
  const raw = options.socks5?.trim();
  if (!raw) return directNetwork();
  return proxiedNetwork(parseSocksUrl(raw), options);
}

/**
 * `createNetwork` then `check()`: for a CLI or proxy at start, which must refuse to run (never
 * go direct) when the configured proxy is not there.
 * @throws {NetworkError} `invalid_socks_url` or `socks_unreachable`
 */
export async function openNetwork(options: NetworkOptions = {}): Promise<Network> {
  const network = createNetwork(options);
  await network.check();
  return network;
}

/**
 * The network the environment asks for: `overrides.socks5` (a `--socks5` flag) wins over
 * `ZKC_SOCKS_PROXY`; neither set means direct connections.
 * @throws {NetworkError} `invalid_socks_url`
 */
export function networkFromEnv(
  env: Record<string, string | undefined> = globalThis.process?.env ?? {},
  overrides: NetworkOptions = {},
): Network {
  return createNetwork({ ...overrides, socks5: overrides.socks5?.trim() || env.ZKC_SOCKS_PROXY?.trim() || undefined });
}

function checkedHttpUrl(url: string, what: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new NetworkError('unsupported_url', `${what} is not a URL`, { param: 'url' });
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new NetworkError('unsupported_url', `${what} must be an http(s) URL, not ${protocol}//`, {
      param: 'url',
      details: 'Only http(s) requests are carried (through the SOCKS proxy when one is set); use the RPC provider\'s https endpoint instead of a WebSocket one.',
    });
  }
}

function directNetwork(): Network {
  const plain: FetchFn = (input, init) => globalThis.fetch(input, init);
  return {
    proxied: false,
    proxy: undefined,
    isolatesCalls: false,
    fetch: plain,
    paidFetch: plain,
    chainFetch: plain,
    isolatedFetch: () => plain,
    rpcTransport(url, config) {
      checkedHttpUrl(url, 'the RPC URL');
      return http(url, { ...config, fetchFn: plain });
    },
    async check() {},
    async close() {},
  };
}

function proxiedNetwork(proxy: SocksProxyConfig, options: NetworkOptions): Network {
  if (!globalThis.process?.versions?.node) {
    throw new NetworkError('invalid_socks_url', 'a SOCKS5 proxy can only be used from Node', {
      param: 'socks5',
      details: 'Browsers cannot open SOCKS connections; use Tor Browser, or the zkcredits CLI proxy (`zkcredits serve --socks5 …`).',
    });
  }
  const where = describeSocksProxy(proxy);
  const fixed = proxy.username !== undefined || proxy.password !== undefined;
  const connectTimeout = options.connectTimeoutMs ?? 30_000;
  const open = new Set<Agent>();
  /** Forget the pooled agents of the stable identities (after `close()`; they reconnect on use). */
  const resets = new Set<() => void>();

  /** An undici Agent whose every connection is a SOCKS5 CONNECT by host name with `credentials`. */
  async function makeAgent(credentials: Credentials | undefined): Promise<Agent> {
    // Loaded on first use, hidden from bundlers: the browser build of the SDK never needs them.
    const [{ socksConnector }, { Agent }] = await Promise.all([
      import(/* webpackIgnore: true */ /* @vite-ignore */ 'fetch-socks') as Promise<typeof import('fetch-socks')>,
      import(/* webpackIgnore: true */ /* @vite-ignore */ 'undici') as Promise<typeof import('undici')>,
    ]);
    const connector = socksConnector(
      {
        type: 5,
        host: proxy.host,
        port: proxy.port,
        ...(fixed ? { userId: proxy.username ?? '', password: proxy.password ?? '' } : credentials ? { userId: credentials.username, password: credentials.password } : {}),
      },
      { timeout: connectTimeout },
    );
    const agent = new Agent({
      // undici hands IPv6 literals over in brackets; SOCKS wants the bare address.
      connect: (opts, callback) => {
        const hostname = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
        connector({ ...opts, hostname }, callback);
      },
    });
    open.add(agent);
    return agent;
  }

  /** Sends one request over `agent`; any failure says which proxy and host, never direct. */
  async function send(agent: Agent, input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    const url = requestUrl(input);
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new NetworkError('unsupported_url', `only http(s) requests can go through the SOCKS5 proxy (got ${url ? url.protocol + '//' : 'no URL'})`, {
        param: 'url',
      });
    }
    try {
      // `dispatcher` last: a caller's own dispatcher must never route around the proxy.
      return await globalThis.fetch(input, { ...init, dispatcher: agent } as RequestInit);
    } catch (error) {
      if (isAbort(error)) throw error;
      const reason = (error as { cause?: { message?: string } })?.cause?.message ?? (error as Error)?.message ?? String(error);
      throw new NetworkError('socks_request_failed', `request to ${url.origin} through SOCKS5 proxy ${where} failed: ${reason}`, {
        details: SOCKS_HELP,
        cause: error,
      });
    }
  }

  /** A fetch bound to one identity; its connections are pooled for the life of the network. */
  function stableFetch(): FetchFn {
    const credentials = fixed ? undefined : freshCredentials();
    let agent: Promise<Agent> | undefined;
    resets.add(() => (agent = undefined));
    return async (input, init) => {
      agent ??= makeAgent(credentials);
      return send(await agent, input, init);
    };
  }

  /** A fetch that uses a new identity and a new connection for every call. */
  const paidFetch: FetchFn = async (input, init) => {
    const agent = await makeAgent(fixed ? undefined : freshCredentials());
    const release = (how: Promise<void>) =>
      void how.catch(() => {}).finally(() => open.delete(agent));
    try {
      const response = await send(agent, input, init);
      // Graceful: waits until the body is read, then drops the connection (never reused).
      release(agent.close());
      return response;
    } catch (error) {
      release(agent.destroy());
      throw error;
    }
  };

  const defaultFetch = stableFetch();
  const chainFetch = stableFetch();
  return {
    proxied: true,
    proxy: where,
    isolatesCalls: !fixed,
    fetch: defaultFetch,
    paidFetch,
    chainFetch,
    isolatedFetch: stableFetch,
    rpcTransport(url, config) {
      checkedHttpUrl(url, 'the RPC URL');
      return http(url, { ...config, fetchFn: chainFetch });
    },
    check: () => probeSocksProxy(proxy, fixed ? undefined : freshCredentials(), options.checkTimeoutMs),
    async close() {
      const agents = [...open];
      open.clear();
      for (const reset of resets) reset();
      await Promise.all(agents.map((a) => a.destroy().catch(() => {})));
    },
  };
}
