// Worker thread: opens its own connection to the store and, in lockstep with the other racers
// (a barrier before every round), tries to reserve each nullifier. Posts what each attempt got.
import { parentPort, workerData } from 'node:worker_threads';
import { PostgresStore, SqliteStore, type ReserveResult } from '../../src/store/index.js';
import { arriveAndWait } from './worker.js';

export type RacerInput = {
  kind: 'sqlite' | 'postgres';
  /** SQLite file or PostgreSQL URL. */
  location: string;
  racer: number;
  parties: number;
  barrier: SharedArrayBuffer;
  nullifiers: string[];
  now: number;
};

const input = workerData as RacerInput;
const store = input.kind === 'sqlite' ? new SqliteStore(input.location) : new PostgresStore(input.location, { max: 1 });
const state = new Int32Array(input.barrier);
const results: ReserveResult[] = [];
try {
  for (const nh of input.nullifiers) {
    arriveAndWait(state, input.parties);
    results.push(await store.reserve(BigInt(nh), `racer-${input.racer}`, input.now, 60_000));
  }
} finally {
  await store.close();
}
parentPort!.postMessage(results);
