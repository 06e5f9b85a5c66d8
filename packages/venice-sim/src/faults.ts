/**
 * Fault injection. Syntax (header `x-sim-fault`, or strings given to `faults.once/always`):
 * comma-separated directives, e.g. `status:429`, `delay:200,slow:20`, `break-after:3`, `hang`,
 * `stall-after:3` (held until `faults.release()`), `stall-after:3,break-after:3` (held, then broken).
 */
import { z } from 'zod';

export interface Fault {
  /** Answer with this HTTP status and a Venice-style error body instead of serving. */
  status?: number;
  /** Milliseconds to wait before the first byte. */
  delayMs?: number;
  /** Milliseconds to wait before each streamed chunk. */
  slowMs?: number;
  /** Destroy the socket after this many SSE events (non-stream: after half the body). */
  breakAfter?: number;
  /** Never answer (socket stays open until the client gives up or the sim closes). */
  hang?: boolean;
  /**
   * Hold the answer after this many SSE events (non-stream: after the headers and half the body)
   * until `FaultControl.release()`, the client leaves or the sim closes; then go on (or break, with
   * `breakAfter` at the same point). `n` ≥ the number of events holds it just before `data: [DONE]`.
   */
  stallAfter?: number;
}

export class FaultSyntaxError extends Error {
  override readonly name = 'FaultSyntaxError';
}

const nonNegInt = z.coerce.number().int().nonnegative();

export function parseFault(spec: string): Fault {
  const fault: Fault = {};
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const [name, value] = part.split(':', 2).map((s) => s.trim());
    const num = (what: string) => {
      const r = nonNegInt.safeParse(value);
      if (!r.success || value === undefined || value === '') {
        throw new FaultSyntaxError(`fault "${part}": ${what} must be a non-negative integer`);
      }
      return r.data;
    };
    switch (name) {
      case 'status': {
        const s = num('status');
        if (s < 400 || s > 599) throw new FaultSyntaxError(`fault "${part}": status must be 400-599`);
        fault.status = s;
        break;
      }
      case 'delay':
        fault.delayMs = num('delay');
        break;
      case 'slow':
        fault.slowMs = num('slow');
        break;
      case 'break-after':
        fault.breakAfter = num('break-after');
        break;
      case 'stall-after':
        fault.stallAfter = num('stall-after');
        break;
      case 'hang':
        if (value !== undefined) throw new FaultSyntaxError(`fault "${part}": hang takes no value`);
        fault.hang = true;
        break;
      default:
        throw new FaultSyntaxError(
          `unknown fault "${part}": expected status:<code>, delay:<ms>, slow:<ms>, break-after:<n>, stall-after:<n> or hang`,
        );
    }
  }
  return fault;
}

/** Which routes a state-set fault applies to (`pcs`: the Intel-PCS-shaped collateral routes). */
export type FaultRoute = 'chat' | 'models' | 'attestation' | 'signature' | 'pcs' | 'any';

/**
 * Faults set from test code (for requests whose headers the test does not control,
 * e.g. ones forwarded by the API server). A request's own `x-sim-fault` header wins.
 */
export class FaultControl {
  #queue: { route: FaultRoute; fault: Fault }[] = [];
  #always: { route: FaultRoute; fault: Fault } | undefined;
  /** Releases of the answers a `stall-after` fault holds now. */
  #held = new Set<() => void>();
  #stallWaiters: { count: number; resolve: () => void }[] = [];

  /** Apply to the next matching request only (FIFO). Default route: `chat`. */
  once(fault: Fault | string, opts: { route?: FaultRoute } = {}): void {
    this.#queue.push({ route: opts.route ?? 'chat', fault: typeof fault === 'string' ? parseFault(fault) : fault });
  }

  /** Apply to every matching request until `clear()`. Default route: `chat`. */
  always(fault: Fault | string, opts: { route?: FaultRoute } = {}): void {
    this.#always = { route: opts.route ?? 'chat', fault: typeof fault === 'string' ? parseFault(fault) : fault };
  }

  /** Disarms every fault (answers already held by `stall-after` stay held until `release()`). */
  clear(): void {
    this.#queue = [];
    this.#always = undefined;
  }

  /** Number of queued one-shot faults not yet consumed. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Answers held by a `stall-after` fault right now. */
  get stalled(): number {
    return this.#held.size;
  }

  /**
   * Resolves once at least `count` answers are held by `stall-after` faults (at once): the point
   * where a test knows a stream is open mid-answer, whatever the machine's speed.
   */
  whenStalled(count = 1): Promise<void> {
    if (this.#held.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.#stallWaiters.push({ count, resolve }));
  }

  /** Lets every answer held by a `stall-after` fault go on (later stalls hold again). */
  release(): void {
    for (const go of [...this.#held]) go();
  }

  /**
   * @internal holds the answer written to `res` until `release()`, or until `res` closes (the
   * client left, or the sim closed its connections).
   */
  hold(res: { once(event: 'close', listener: () => void): unknown; off(event: 'close', listener: () => void): unknown; destroyed: boolean }): Promise<void> {
    if (res.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const go = () => {
        this.#held.delete(go);
        res.off('close', go);
        resolve();
      };
      this.#held.add(go);
      res.once('close', go);
      const ready = this.#stallWaiters.filter((w) => this.#held.size >= w.count);
      this.#stallWaiters = this.#stallWaiters.filter((w) => this.#held.size < w.count);
      for (const w of ready) w.resolve();
    });
  }

  /** @internal consumes the fault for a request on `route`, if any. */
  take(route: Exclude<FaultRoute, 'any'>): Fault | undefined {
    const i = this.#queue.findIndex((q) => q.route === route || q.route === 'any');
    if (i >= 0) return this.#queue.splice(i, 1)[0]!.fault;
    const a = this.#always;
    return a && (a.route === route || a.route === 'any') ? a.fault : undefined;
  }
}
