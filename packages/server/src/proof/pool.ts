import { ApiError, type ErrorCode } from '../errors.js';

export type PoolStats = { size: number; busy: number; queued: number };

/**
 * A fixed set of workers (e.g. one native bb process each) with a bounded wait queue.
 * Each worker runs one task at a time. When every worker is busy and the queue is full,
 * `run` fails at once with a 503 carrying Retry-After instead of queueing without bound.
 */
export class WorkerPool<W> {
  private readonly idle: W[];
  private readonly waiting: ((w: W) => void)[] = [];
  private busyCount = 0;

  constructor(
    private readonly workers: readonly W[],
    private readonly options: { maxQueue: number; busyCode: ErrorCode; retryAfterSeconds: number },
  ) {
    if (workers.length === 0) throw new Error('WorkerPool needs at least one worker');
    this.idle = [...workers];
  }

  get stats(): PoolStats {
    return { size: this.workers.length, busy: this.busyCount, queued: this.waiting.length };
  }

  async run<T>(task: (worker: W) => Promise<T>): Promise<T> {
    const worker = await this.acquire();
    try {
      return await task(worker);
    } finally {
      this.releaseWorker(worker);
    }
  }

  private acquire(): Promise<W> {
    const w = this.idle.pop();
    if (w !== undefined) {
      this.busyCount++;
      return Promise.resolve(w);
    }
    if (this.waiting.length >= this.options.maxQueue) {
      return Promise.reject(new ApiError(this.options.busyCode, { retryAfter: this.options.retryAfterSeconds }));
    }
    return new Promise<W>((resolve) => this.waiting.push(resolve)).then((w) => {
      this.busyCount++;
      return w;
    });
  }

  private releaseWorker(worker: W): void {
    this.busyCount--;
    const next = this.waiting.shift();
    if (next) next(worker);
    else this.idle.push(worker);
  }
}
