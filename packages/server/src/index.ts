// @zkcredits/server: OpenAI-compatible API that accepts zkcredits proofs as payment.
export { createApp, type App, type AppDeps } from './app.js';
export { startServer, type RunningServer } from './server.js';
export { loadConfig, type Config, type ModelConfig, type TrustProxy } from './config.js';
export { ApiError, ConfigError, IndexerError, UpstreamFailure, ERRORS, toApiError, type ErrorCode, type ErrorType } from './errors.js';
export { createLogger, REDACT_PATHS, type Logger } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export { ChainIndexer, emptyRoot, readDeploymentBlock, type ChainStatus, type ChainView, type ChainIndexerOptions } from './chain/indexer.js';
export { createStore, SqliteStore, PostgresStore, type Store, type Cursor, type Purchase, type RootStatus } from './store/index.js';
export { WorkerPool, type PoolStats } from './proof/pool.js';
export { createProofPools, type ProofPools } from './proof/node.js';
export type { Prover, Verifier } from './proof/types.js';
export { createVeniceUpstream, MAX_ATTESTATION_BYTES, type Upstream, type UpstreamResponse, type UpstreamAttestation } from './upstream/venice.js';
export { ATTESTATION_PATH } from './routes/attestation.js';
export { createRateLimitBackend, memoryRateLimit, type RateLimitBackend } from './ratelimit.js';
