import { ZkCreditsError, type ZkCreditsErrorOptions } from '@zkcredits/core/errors';

/**
 * Codes of the network layer. Stable: callers match on them.
 * - `invalid_socks_url`: the `--socks5` / `ZKC_SOCKS_PROXY` value is not a usable SOCKS5 URL.
 * - `socks_unreachable`: the proxy does not accept a connection or a SOCKS5 handshake.
 * - `socks_request_failed`: a request through the proxy failed (the proxy could not reach the
 *   host, or the connection broke). Never retried directly.
 * - `unsupported_url`: a URL the network cannot carry through the proxy (e.g. `ws://`).
 */
export type NetworkErrorCode = 'invalid_socks_url' | 'socks_unreachable' | 'socks_request_failed' | 'unsupported_url';

/** An error of the network layer (`ZkCreditsError` family: match with `isZkCreditsError(e, code)`). */
export class NetworkError extends ZkCreditsError<NetworkErrorCode> {
  override name = 'NetworkError';
  constructor(code: NetworkErrorCode, shortMessage: string, options?: ZkCreditsErrorOptions) {
    super(code, shortMessage, options);
  }
}

/** Appended to errors about the proxy: what to check, and that nothing went out directly. */
export const SOCKS_HELP =
  'Start the SOCKS5 proxy (Tor listens on socks5://127.0.0.1:9050, Tor Browser on :9150), or fix --socks5 / ZKC_SOCKS_PROXY. ' +
  'zkcredits never falls back to a direct connection while a proxy is configured; to run without one, unset both.';
