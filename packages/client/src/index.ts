// @zkcredits/client: pay OpenAI-compatible chat calls by zero-knowledge proof, for Node and the
// browser. Node defaults (the prover with a local CRS) live in `@zkcredits/client/node`.
export {
  ZkCreditsClient,
  type ZkCreditsClientOptions,
  type ChainOptions,
  type ChatOptions,
  type TicketProverOption,
  type MeteredProverOption,
  type AccountBalance,
  type MeteredAccountBalance,
  type Balance,
  type OpenAccountOptions,
  type OpenMeteredOptions,
} from './client.js';
export { ClientError, type ClientErrorCode, type ClientErrorOptions } from './errors.js';
export { MemoryCreditStore, canMoveTo, type CreditStore, type CreditPatch, type ReserveQuery } from './store.js';
export { VaultCreditStore } from './vault-store.js';
export { countCredits, type CreditRecord, type CreditStatus, type CreditCounts, type DeploymentRef, type Hex } from './records.js';
export type { BuyOptions, BuyStep } from './buy.js';
export type { E2eeOptions } from './e2ee.js';
export { E2EE_FORBIDDEN_FIELDS } from './e2ee.js';
export type { SpendProver } from './paid-chat.js';
export type { FetchFn, ModelInfo, ServerConfig, MeteredConfig, ModelPrice, V2Config } from './server-api.js';
// Network privacy: every request through one SOCKS5 proxy (`--socks5` / ZKC_SOCKS_PROXY), or none.
export { createNetwork, openNetwork, networkFromEnv, type Network, type NetworkOptions } from './network.js';
export { NetworkError, type NetworkErrorCode } from './network-errors.js';
export { parseSocksUrl, describeSocksProxy, type SocksProxyConfig } from './network-url.js';
