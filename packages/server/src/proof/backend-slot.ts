import { ZkCreditsError } from '@zkcredits/core';

/**
 * One proof backend (one bb process) that is replaced once it failed. The task that met the failure
 * still fails (its request is answered `proof_backend_unavailable`, nothing spent); the slot starts a
 * fresh backend at once, and the next task runs on it. Without this a dead bb process would fail
 * every later task on its slot. The pool gives a slot to one task at a time.
 */
export class BackendSlot<W extends { destroy(): Promise<void> }> {
  private worker: Promise<W>;

  /**
   * @param first a started backend
   * @param start starts a replacement
   * @param failed whether an error of a task means the backend itself failed (not the task's input)
   */
  constructor(
    first: W,
    private readonly start: () => Promise<W>,
    private readonly failed: (err: unknown) => boolean,
  ) {
    this.worker = Promise.resolve(first);
  }

  async run<T>(task: (worker: W) => Promise<T>): Promise<T> {
    let worker: W;
    try {
      worker = await this.worker;
    } catch (cause) {
      // The replacement did not start (e.g. the bb binary is gone): try again for the next task.
      this.worker = this.started();
      throw new ZkCreditsError('backend_failed', 'could not start a proof backend', { details: cause instanceof Error ? cause.message : String(cause), cause });
    }
    try {
      return await task(worker);
    } catch (err) {
      if (this.failed(err)) {
        this.worker = this.started();
        void worker.destroy().catch(() => {});
      }
      throw err;
    }
  }

  async destroy(): Promise<void> {
    const worker = await this.worker.catch(() => undefined);
    await worker?.destroy().catch(() => {});
  }

  private started(): Promise<W> {
    const next = this.start();
    next.catch(() => {}); // awaited by the next task; never an unhandled rejection
    return next;
  }
}
