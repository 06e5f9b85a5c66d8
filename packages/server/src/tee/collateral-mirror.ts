import { collateralNextUpdate, fetchPcsCollateral, type PckCa } from '@zkcredits/attest';

/** Most platforms kept (Venice's gateways use a handful of FMSPCs, each under one or two CAs). */
export const MAX_COLLATERAL_ENTRIES = 64;
/** Collateral already past its `nextUpdate` when fetched is asked for again after this at the earliest. */
export const MIN_REFETCH_MS = 60_000;
/** Largest body of one PCS resource read. */
export const MAX_PCS_RESPONSE_BYTES = 512 * 1024;

/** One platform's collateral as served: the JSON text and when it stops being valid. */
export type MirroredCollateral = { body: string; nextUpdate: number };

export type CollateralMirrorOptions = {
  pcsUrl: string;
  rootCaCrlUrl: string;
  /** Each PCS fetch (all four resources) must finish within this. */
  timeoutMs: number;
  now?: () => number;
  fetch?: typeof globalThis.fetch;
};

/**
 * A cache of Intel's DCAP collateral per (FMSPC, CA), kept until its `nextUpdate` (at least
 * `MIN_REFETCH_MS`), then fetched again. Concurrent misses of one platform share one PCS fetch
 * (single flight); at most `MAX_COLLATERAL_ENTRIES` platforms are kept (the oldest is dropped).
 * Failures are not cached: the next request tries again (the route's rate limit bounds that).
 *
 * Intel signs the collateral and clients check the signatures against Intel's root, so this
 * mirror cannot forge it; it can only withhold it, and clients then fail closed.
 */
export class CollateralMirror {
  private readonly entries = new Map<string, MirroredCollateral & { expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<MirroredCollateral>>();
  private readonly now: () => number;

  constructor(private readonly options: CollateralMirrorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Number of platforms cached (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The collateral of `fmspc` (12 hex, upper case) under `ca`, from the cache or the PCS.
   * @throws {AttestError} `collateral_unavailable` (PCS unreachable, refusing, too large, malformed
   *   or too slow; `param: 'fmspc'` when the PCS does not know the FMSPC).
   */
  async get(fmspc: string, ca: PckCa): Promise<MirroredCollateral> {
    const key = `${fmspc}:${ca}`;
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > this.now()) return hit;
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = this.fetch(fmspc, ca, key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private async fetch(fmspc: string, ca: PckCa, key: string): Promise<MirroredCollateral> {
    const collateral = await fetchPcsCollateral({
      pcsUrl: this.options.pcsUrl,
      rootCaCrlUrl: this.options.rootCaCrlUrl,
      fmspc,
      ca,
      fetch: this.options.fetch,
      signal: AbortSignal.timeout(this.options.timeoutMs),
      maxBytes: MAX_PCS_RESPONSE_BYTES,
    });
    const nextUpdate = collateralNextUpdate(collateral).getTime();
    const entry = { body: JSON.stringify(collateral), nextUpdate, expiresAt: Math.max(nextUpdate, this.now() + MIN_REFETCH_MS) };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > MAX_COLLATERAL_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }
}
