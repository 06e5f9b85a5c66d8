import type { Socket } from 'node:net';
import { NetworkError, SOCKS_HELP } from './network-errors.js';
import { describeSocksProxy, type SocksProxyConfig } from './network-url.js';

/** Credentials offered in a probe (the proxy may pick "no authentication" instead). */
export type ProbeCredentials = { username: string; password: string };

/**
 * Connects to the SOCKS5 proxy and runs the greeting (RFC 1928 §3) and, when the proxy picks it,
 * the user/password sub-negotiation (RFC 1929), then hangs up without asking it to connect anywhere.
 * Offers "no authentication" and, with credentials, "user/password", like the request path does.
 * @throws {NetworkError} `socks_unreachable` with what failed (refused, timed out, not SOCKS5,
 *   authentication refused). The message names the proxy without its credentials.
 */
export async function probeSocksProxy(proxy: SocksProxyConfig, credentials: ProbeCredentials | undefined, timeoutMs = 5_000): Promise<void> {
  const { connect } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:net')) as typeof import('node:net');
  const where = describeSocksProxy(proxy);
  const fail = (why: string, cause?: unknown): NetworkError =>
    new NetworkError('socks_unreachable', `SOCKS5 proxy ${where} is unusable: ${why}`, { details: SOCKS_HELP, cause });

  const socket: Socket = connect({ host: proxy.host, port: proxy.port });
  let buffered = Buffer.alloc(0);
  let waiter: { n: number; resolve: (b: Buffer) => void } | undefined;
  let failure: NetworkError | undefined;
  let rejectAll: (e: NetworkError) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    rejectAll = reject;
  });
  failed.catch(() => {});
  const stop = (e: NetworkError) => {
    if (failure) return;
    failure = e;
    rejectAll(e);
  };
  const pump = () => {
    if (waiter && buffered.length >= waiter.n) {
      const out = buffered.subarray(0, waiter.n);
      buffered = buffered.subarray(waiter.n);
      const w = waiter;
      waiter = undefined;
      w.resolve(out);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    pump();
  });
  socket.on('error', (e: NodeJS.ErrnoException) => stop(fail(e.code === 'ECONNREFUSED' ? 'connection refused (is it running?)' : e.code ?? e.message, e)));
  socket.on('close', () => stop(fail('it closed the connection during the SOCKS5 handshake')));
  socket.setTimeout(timeoutMs, () => stop(fail(`no answer within ${timeoutMs} ms`)));
  const read = (n: number) => Promise.race([new Promise<Buffer>((resolve) => ((waiter = { n, resolve }), pump())), failed]);

  try {
    await Promise.race([new Promise<void>((resolve) => socket.once('connect', () => resolve())), failed]);
    const useAuth = credentials ?? (proxy.username !== undefined || proxy.password !== undefined
      ? { username: proxy.username ?? '', password: proxy.password ?? '' }
      : undefined);
    socket.write(Buffer.from(useAuth ? [0x05, 0x02, 0x00, 0x02] : [0x05, 0x01, 0x00]));
    const [version, method] = await read(2);
    if (version !== 0x05) throw fail('it is not a SOCKS5 proxy (wrong version in its answer)');
    if (method === 0xff) {
      throw fail(useAuth ? 'it accepts neither "no authentication" nor user/password' : 'it requires authentication: put user:pass@ in the URL');
    }
    if (method === 0x02) {
      if (!useAuth) throw fail('it picked user/password authentication, which was not offered');
      const user = Buffer.from(useAuth.username, 'utf8');
      const pass = Buffer.from(useAuth.password, 'utf8');
      socket.write(Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]));
      const [, status] = await read(2);
      if (status !== 0x00) throw fail('it refused the user name and password');
    } else if (method !== 0x00) {
      throw fail(`it picked an authentication method that was not offered (0x${method?.toString(16)})`);
    }
  } catch (e) {
    throw e instanceof NetworkError ? e : fail(String(e), e);
  } finally {
    failure ??= fail('closed');
    socket.destroy();
  }
}
