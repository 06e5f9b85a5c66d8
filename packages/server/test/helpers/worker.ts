import { Worker } from 'node:worker_threads';

/** Runs a TypeScript module in a worker thread (its own event loop and database connections). */
export function tsWorker(module: URL, workerData: unknown): Worker {
  const source = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(source, { eval: true, workerData });
}

/** The worker's one message; rejects if it fails or exits first. */
export function resultOf<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before answering`)));
  });
}

/**
 * A barrier for threads sharing `state` (two Int32 slots: arrivals, generation): each caller
 * blocks until `parties` callers have arrived, then all go at once.
 */
export function arriveAndWait(state: Int32Array, parties: number): void {
  const generation = Atomics.load(state, 1);
  if (Atomics.add(state, 0, 1) + 1 === parties) {
    Atomics.store(state, 0, 0);
    Atomics.add(state, 1, 1);
    Atomics.notify(state, 1);
    return;
  }
  while (Atomics.load(state, 1) === generation) Atomics.wait(state, 1, generation);
}
