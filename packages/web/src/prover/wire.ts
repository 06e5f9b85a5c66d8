// Errors as values across the page ↔ worker boundary (Comlink keeps only an Error's message).
import { isZkCreditsError } from '@zkcredits/core';
import type { Wire } from '../e2ee/types';
import type { AppError } from '../errors';

/** Runs `fn` and returns its value or its error (code, words, details) as a value: a storage failure when it is not one of ours. */
export async function wire<T>(fn: () => Promise<T>): Promise<Wire<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    if (isZkCreditsError(error)) return { ok: false, error: { code: error.code as AppError['code'], message: error.shortMessage, ...(error.details ? { details: error.details } : {}) } };
    return { ok: false, error: { code: 'storage_failed', message: 'Could not save to this browser’s storage.' } };
  }
}
