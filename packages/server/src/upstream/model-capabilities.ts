import type { Logger } from '../logger.js';
import type { Upstream } from './venice.js';

/** What the provider says an allow-listed model can do (Venice's `model_spec.capabilities`). */
export type ModelCapabilities = {
  /** `supportsE2EE`: the model takes end-to-end encrypted requests (the three `X-Venice-TEE-*` headers). */
  e2ee: boolean;
  /** `supportsTeeAttestation`: `GET /v1/tee/attestation` works for it. */
  teeAttestation: boolean;
};

/** How long a successfully read model list is used before it is read again. */
export const CAPABILITIES_REFRESH_MS = 10 * 60_000;
/** After a failed read, the next attempt waits at least this long. */
export const CAPABILITIES_RETRY_MS = 30_000;

type Entry = { id?: unknown; model_spec?: { capabilities?: { supportsE2EE?: unknown; supportsTeeAttestation?: unknown } } };

/**
 * The allow-listed models' capabilities, learnt from the provider's `GET /models` and refreshed
 * in the background: read at start, then again when a lookup finds them older than
 * `CAPABILITIES_REFRESH_MS` (or `CAPABILITIES_RETRY_MS` after a failure). Lookups never wait
 * for the provider. Until one read has succeeded every model is unknown (`undefined`), and
 * clients must then treat E2EE as unavailable (fail closed). A model absent from the provider's
 * list has neither capability.
 */
export class ModelCapabilityCatalogue {
  private known: Map<string, ModelCapabilities> | undefined;
  private lastAttempt = -Infinity;
  private lastSuccess = -Infinity;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly log: Logger;

  constructor(
    private readonly deps: { upstream: Upstream; modelIds: readonly string[]; logger: Logger; now?: () => number },
  ) {
    this.log = deps.logger.child({ subsystem: 'models' });
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** The capabilities of `modelId`, or undefined while unknown; starts a refresh when due. */
  get(modelId: string): ModelCapabilities | undefined {
    this.refreshIfDue();
    return this.known?.get(modelId);
  }

  /** Starts a background refresh when the list is stale and no attempt is recent or running. */
  refreshIfDue(): void {
    const t = this.now();
    if (this.running || this.abort.signal.aborted) return;
    if (t - this.lastSuccess < CAPABILITIES_REFRESH_MS || t - this.lastAttempt < CAPABILITIES_RETRY_MS) return;
    void this.refresh();
  }

  /** Reads the provider's model list now (one read at a time); never throws. */
  refresh(): Promise<void> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops refreshing (an in-flight read is aborted). */
  stop(): void {
    this.abort.abort();
  }

  private async read(): Promise<void> {
    this.lastAttempt = this.now();
    try {
      const up = await this.deps.upstream.models({ signal: this.abort.signal });
      if (up.status !== 200) throw new Error(`provider status ${up.status}`);
      const data = (JSON.parse(up.body.toString('utf8')) as { data?: unknown }).data;
      if (!Array.isArray(data)) throw new Error('the model list has no data array');
      const byId = new Map<string, ModelCapabilities>();
      for (const m of data as Entry[]) {
        if (typeof m?.id !== 'string') continue;
        const c = m.model_spec?.capabilities;
        byId.set(m.id, { e2ee: c?.supportsE2EE === true, teeAttestation: c?.supportsTeeAttestation === true });
      }
      const known = new Map<string, ModelCapabilities>();
      for (const id of this.deps.modelIds) {
        // Venice feature suffixes (`<id>:<param>=<value>`) name the same model.
        const c = byId.get(id) ?? byId.get(id.split(':', 1)[0]!);
        known.set(id, c ?? { e2ee: false, teeAttestation: false });
      }
      this.known = known;
      this.lastSuccess = this.now();
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read the provider model list (E2EE capability stays as it was)');
    }
  }
}
