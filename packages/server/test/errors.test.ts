import { FieldError, ZkCreditsError, decodeProofPayload, isZkCreditsError } from '@zkcredits/core';
import { describe, expect, it } from 'vitest';
import { ApiError, ConfigError, IndexerError, UpstreamFailure, toApiError } from '../src/errors.js';

const field = (s: string) => `0x${s.padStart(64, '0')}`;

describe('one error family, mapped by code', () => {
  it('keeps core\'s param: a bad nullifier_hash is invalid_field at zkcredits.nullifier_hash, whatever the message says', () => {
    let thrown: unknown;
    try {
      decodeProofPayload({ proof: '', root: field('1'), nullifier_hash: '0x12' });
    } catch (err) {
      thrown = err;
    }
    expect(isZkCreditsError(thrown, 'invalid_field')).toBe(true);
    expect(toApiError(thrown, { within: 'zkcredits' })).toMatchObject({ code: 'invalid_field', param: 'zkcredits.nullifier_hash', status: 400 });
    // The headline names another field on purpose: only code and param count.
    const misleading = new FieldError('root is not canonical', { param: 'nullifier_hash' });
    expect(toApiError(misleading, { within: 'zkcredits' }).param).toBe('zkcredits.nullifier_hash');
  });

  it('answers a failed proof backend with proof_backend_unavailable (503, Retry-After), never invalid_proof', () => {
    const err = toApiError(new ZkCreditsError('backend_failed', 'the verifier backend failed'), { retryAfterSeconds: 3 });
    expect(err).toMatchObject({ code: 'proof_backend_unavailable', status: 503, type: 'server_error', retryAfter: 3 });
    // Its words (process names, signals) stay in the log, not in the answer.
    expect(err.toJSON().error.message).not.toContain('verifier backend failed');
  });

  it('maps a malformed payload to invalid_proof_payload on zkcredits, and upstream failures by kind', () => {
    const payload = (() => {
      try {
        decodeProofPayload('nope');
      } catch (err) {
        return err;
      }
    })();
    expect(toApiError(payload, { within: 'zkcredits' })).toMatchObject({ code: 'invalid_proof_payload', param: 'zkcredits' });
    expect(toApiError(new UpstreamFailure('timeout', 'slow'))).toMatchObject({ code: 'upstream_timeout', status: 504 });
    expect(toApiError(new UpstreamFailure('network', 'gone'))).toMatchObject({ code: 'upstream_error', status: 502 });
  });

  it('puts the server\'s own errors in the family, and answers anything unknown with internal_error', () => {
    for (const err of [new ApiError('credit_spent'), new ConfigError(['x']), new IndexerError('root_mismatch', 'y'), new UpstreamFailure('network', 'z')]) {
      expect(isZkCreditsError(err)).toBe(true);
    }
    expect(toApiError(new IndexerError('root_mismatch', 'y')).code).toBe('not_ready');
    expect(toApiError(new ZkCreditsError('no_such_code' as never, 'from a newer core'))).toMatchObject({ code: 'internal_error', status: 500 });
    expect(toApiError(new TypeError('bug'))).toMatchObject({ code: 'internal_error' });
    expect(toApiError(Object.assign(new Error('db'), { code: 'ECONNREFUSED' }))).toMatchObject({ code: 'not_ready', status: 503 });
  });

  it('keeps the wire message: headline, then the details in parentheses', () => {
    const err = new ApiError('model_not_allowed', { param: 'model', details: 'got "gpt-5"' });
    expect(err.toJSON()).toEqual({
      error: { message: `${err.shortMessage} (got "gpt-5")`, type: 'invalid_request_error', code: 'model_not_allowed', param: 'model' },
    });
    expect(new ApiError('not_found').toJSON().error.param).toBeNull();
  });
});
