import type { ChainView } from './chain/indexer.js';
import type { RateLimitBackend } from './ratelimit.js';
import type { Store } from './store/index.js';

export type ReadinessSources = { store: Store; rateLimit: RateLimitBackend; chain: ChainView; stopping: () => boolean };

/**
 * Why this replica should not take traffic, empty when it should: the database and the shared
 * rate-limit store answer, the chain index is caught up and not halted, it is not shutting down.
 * One check for `GET /ready` and the `zkc_ready` gauge.
 */
export async function readinessProblems({ store, rateLimit, chain, stopping }: ReadinessSources): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all([
    store.ping().catch(() => problems.push('database unreachable')),
    rateLimit.ping().catch(() => problems.push('rate-limit store (redis) unreachable')),
  ]);
  if (chain.status.halted) problems.push(`chain index halted: ${chain.status.halted}`);
  else if (!chain.isSynced()) problems.push('chain index not caught up');
  if (stopping()) problems.push('shutting down');
  return problems;
}
