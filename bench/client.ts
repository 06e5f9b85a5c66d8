// Benchmarks of the SDK (packages/client):
//   client_sync_100k_leaves_ms  a cold client syncing a 100,000-leaf credit tree from the real
//                               server route over HTTP (7 pages: fetch, decode, insert, root check
//                               against the page); the chain check is left out (one RPC read)
import { withLeavesServer } from '../packages/server/bench/bench.js';
import { ServerApi, serverOrigin } from '../packages/client/src/server-api.js';
import { TreeSync } from '../packages/client/src/tree-sync.js';
import { median, time } from './util.js';

export async function benchClient(): Promise<Record<string, number>> {
  const LEAVES = 100_000;
  return withLeavesServer(LEAVES, async (url) => {
    const syncOnce = async () => {
      const sync = new TreeSync(new ServerApi(serverOrigin(url), fetch), async () => {});
      const { ms, value } = await time(() => sync.sync());
      if (value.size !== LEAVES) throw new Error(`synced ${value.size} leaves, expected ${LEAVES}`);
      return ms;
    };
    await syncOnce(); // warm-up
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) runs.push(await syncOnce());
    return { client_sync_100k_leaves_ms: median(runs) };
  });
}
