import type { IncomingHttpHeaders } from 'node:http';
import type { Fault } from './faults.js';

/** One request as the sim received it (what tests assert on; nothing is logged). */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body exactly as received (ciphertext stays ciphertext), if any. */
  body: unknown;
  /** The request carried Venice E2EE headers. */
  e2ee: boolean;
  /** Number of message contents that were ciphertext-shaped (hex >= 186 chars). */
  encryptedFields: number;
  model: string | undefined;
  stream: boolean | undefined;
  fault: Fault | undefined;
  status: number | undefined;
}

/** Counters and the last `max` requests, readable by tests through `sim.state`. */
export class SimState {
  requestCount = 0;
  chatRequestCount = 0;
  readonly requests: RecordedRequest[] = [];
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get lastRequest(): RecordedRequest | undefined {
    return this.requests.at(-1);
  }

  /** @internal */
  record(r: RecordedRequest): void {
    this.requestCount++;
    if (r.path.endsWith('/chat/completions')) this.chatRequestCount++;
    this.requests.push(r);
    if (this.requests.length > this.#max) this.requests.shift();
  }

  reset(): void {
    this.requestCount = 0;
    this.chatRequestCount = 0;
    this.requests.length = 0;
  }
}
