// Network privacy: every request through one SOCKS5 proxy (`--socks5` / ZKC_SOCKS_PROXY), or none.
export { createNetwork, networkFromEnv, type Network, type NetworkOptions } from './network.js';
export { NetworkError, type NetworkErrorCode } from './network-errors.js';
export { parseSocksUrl, describeSocksProxy, type SocksProxyConfig } from './network-url.js';
