/** Turning a report into a decision: `assertAttested` throws unless the report is ok. */
import { AttestError } from './errors.js';
import { measurementChangedError } from './pins.js';
import type { AttestationReport } from './types.js';

/**
 * Throws `attestation_failed` naming the failed checks unless `report.ok`; returns the enclave
 * key to encrypt to otherwise. A changed measurement pin gets its own message (how to re-pin).
 */
export function assertAttested(report: AttestationReport): string {
  if (report.ok && report.modelPublicKeyHex) return report.modelPublicKeyHex;
  if (report.measurementChanged?.length) throw measurementChangedError(report.model, report.measurementChanged);
  const failed = report.checks.filter((c) => c.status === 'fail');
  throw new AttestError('attestation_failed', `The attestation of ${report.model} did not verify at level ${report.level}.`, {
    details: failed.length
      ? failed.map((c) => `${c.name}: ${c.detail}`).join('; ')
      : `achieved ${report.achieved}; no enclave key to encrypt to`,
  });
}
