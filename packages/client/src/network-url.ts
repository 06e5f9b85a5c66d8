import { NetworkError } from './network-errors.js';

/** A parsed SOCKS5 proxy setting. Credentials are optional (Tor needs none). */
export type SocksProxyConfig = {
  /** Host name or IP of the proxy (IPv6 without brackets). Resolved locally: it is the proxy itself. */
  host: string;
  port: number;
  /** Fixed credentials from the URL. When set they are sent on every connection (no per-call isolation). */
  username?: string | undefined;
  password?: string | undefined;
};

/** Port a `socks5://host` URL without one means (the SOCKS convention, as in curl). */
export const DEFAULT_SOCKS_PORT = 1080;

/**
 * Parses `socks5://[user:pass@]host[:port]` (also `socks5h://`; both mean remote DNS here: the client
 * never resolves target names itself). Anything else (`socks4://`, `http://`, a path or a query) is
 * refused with a message saying what is accepted.
 * @throws {NetworkError} `invalid_socks_url`. The message never repeats credentials.
 */
export function parseSocksUrl(value: string): SocksProxyConfig {
  const fail = (why: string): never => {
    throw new NetworkError('invalid_socks_url', `invalid SOCKS proxy URL: ${why}`, {
      param: 'socks5',
      details: 'Expected socks5://host:port or socks5://user:pass@host:port (socks5h:// is accepted too), e.g. socks5://127.0.0.1:9050 for Tor.',
    });
  };
  const trimmed = value.trim();
  if (!trimmed) fail('it is empty');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    // Do not echo the value: it may hold a password.
    return fail('it is not a URL');
  }
  if (url.protocol !== 'socks5:' && url.protocol !== 'socks5h:') {
    fail(`the scheme ${url.protocol.replace(/:$/, '')}:// is not supported (only SOCKS5 carries host names for remote DNS)`);
  }
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) fail('it must not have a path, query or fragment');
  let host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!host) fail('it has no host');
  let port = DEFAULT_SOCKS_PORT;
  if (url.port) {
    port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail('the port must be 1 to 65535');
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  if ((username?.length ?? 0) > 255 || (password?.length ?? 0) > 255) fail('user name and password are limited to 255 bytes each (RFC 1929)');
  return { host, port, username, password };
}

/** The proxy as safe to print: `socks5://host:port`, credentials shown only as `***@`. */
export function describeSocksProxy(proxy: SocksProxyConfig): string {
  const host = proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host;
  return `socks5://${proxy.username !== undefined || proxy.password !== undefined ? '***@' : ''}${host}:${proxy.port}`;
}
