/**
 * Measurement pins, trust on first use: the first verified report for a model stores its
 * {mrTd, mrConfigId, rtmr0..3}; any later change fails the `measurement` check until the user
 * re-pins on purpose (`repinMeasurements`). Never a silent update.
 */
import { AttestError } from './errors.js';
import type { AttestationReport, PinStore, TdMeasurements } from './types.js';

const MEASUREMENT_FIELDS: readonly (keyof TdMeasurements)[] = ['mrTd', 'mrConfigId', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'];

/** A PinStore in memory (one process, one tab). Persisting stores implement the same interface. */
export class MemoryPinStore implements PinStore {
  readonly #pins = new Map<string, TdMeasurements>();
  async get(model: string): Promise<TdMeasurements | undefined> {
    const p = this.#pins.get(model);
    return p ? { ...p } : undefined;
  }
  async set(model: string, pin: TdMeasurements): Promise<void> {
    this.#pins.set(model, { ...pin });
  }
}

/** The fields of `actual` that differ from `pinned` (empty when they match). */
export function changedMeasurements(pinned: TdMeasurements, actual: TdMeasurements): (keyof TdMeasurements)[] {
  return MEASUREMENT_FIELDS.filter((k) => pinned[k].toLowerCase() !== actual[k].toLowerCase());
}

/** The error for a changed pin: which fields changed, and how to accept the change on purpose. */
export function measurementChangedError(model: string, changed: readonly string[]): AttestError {
  return new AttestError('attestation_failed', `The enclave measurements of ${model} changed since they were pinned.`, {
    details:
      `changed: ${changed.join(', ')}. The enclave runs different code or configuration than on first use. ` +
      'If the operator announced an update, verify it and re-pin (repinMeasurements); otherwise do not send it data.',
  });
}

/**
 * Replaces the pin of `model` with the measurements of `report`, on purpose (after a
 * `measurement` failure the user has looked into). The report must be for that model and have
 * passed every check below `measured` (level `dcap` achieved); throws `attestation_failed` if not.
 */
export async function repinMeasurements(store: PinStore, model: string, report: AttestationReport): Promise<TdMeasurements> {
  const others = report.checks.filter((c) => c.name !== 'measurement' && c.name !== 'gpu' && c.status !== 'pass');
  if (report.model !== model || !report.measurements || others.length > 0) {
    throw new AttestError('attestation_failed', 'Refusing to re-pin measurements from a report that did not verify.', {
      details:
        report.model !== model
          ? `the report is for ${report.model}, not ${model}`
          : `checks not passed: ${others.map((c) => c.name).join(', ') || 'no measurements in the report'}`,
    });
  }
  await store.set(model, report.measurements);
  return report.measurements;
}
