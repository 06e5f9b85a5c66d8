import type { Request, Response } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { ApiError, UpstreamFailure } from '../errors.js';
import type { Upstream } from '../upstream/venice.js';

export const ATTESTATION_PATH = '/v1/tee/attestation';

const NONCE = /^[0-9a-fA-F]{64}$/;
const FAILED = "The model provider's attestation service failed. Retry with a fresh nonce.";
const TOO_SLOW = "The model provider's attestation service did not answer in time. Retry with a fresh nonce.";

export type AttestationDeps = {
  config: Config;
  upstream: Upstream;
  logger: Logger;
  metrics: Metrics;
  retryAfterSeconds: number;
};

function queryString(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ApiError('invalid_request', { param: name, message: `Give the query parameter ${name} once, as a plain value.` });
  return v;
}

/**
 * `GET /v1/tee/attestation?model=&nonce=`: the provider's TEE attestation for an allow-listed
 * model, fetched with the server's key so the client needs no provider key and its address
 * stays with us. The provider's JSON is returned byte for byte (the client verifies the quote
 * and the nonce binding itself) and never cached: every nonce is fresh. Costs no credit.
 */
export function attestationHandler(deps: AttestationDeps) {
  const log = deps.logger.child({ subsystem: 'attestation' });
  const { config, metrics } = deps;

  return async function handle(req: Request, res: Response): Promise<void> {
    const model = queryString(req, 'model');
    const nonce = req.query.nonce;
    if (!model) throw new ApiError('invalid_request', { param: 'model', message: 'The query parameter model is required, e.g. ?model=<id from GET /v1/models>&nonce=<64 hex>.' });
    if (!config.models.some((m) => m.id === model)) {
      throw new ApiError('model_not_allowed', { param: 'model', details: `got ${JSON.stringify(model.slice(0, 100))}` });
    }
    if (typeof nonce !== 'string' || !NONCE.test(nonce)) {
      const got = nonce === undefined ? 'nonce is missing' : typeof nonce === 'string' ? `got ${nonce.length} characters` : 'give it once';
      throw new ApiError('invalid_nonce', { param: 'nonce', details: got });
    }

    const abort = new AbortController();
    const onClose = () => abort.abort();
    res.once('close', onClose);
    let up;
    try {
      up = await deps.upstream.attestation({ model, nonce, signal: abort.signal });
    } catch (err) {
      if (abort.signal.aborted) return; // the client left; nothing to answer
      const kind = err instanceof UpstreamFailure ? err.kind : 'network';
      metrics.upstreamErrors.inc({ kind: `attestation_${kind}` });
      log.warn({ kind, err: err instanceof Error ? err.message : String(err) }, 'attestation upstream failed');
      throw kind === 'timeout' ? new ApiError('upstream_timeout', { message: TOO_SLOW, cause: err }) : new ApiError('upstream_error', { message: FAILED, cause: err });
    } finally {
      res.off('close', onClose);
    }

    const s = up.status;
    if (s === 400 || s === 404) throw new ApiError('model_not_attestable', { param: 'model', details: `provider status ${s} for ${model}` });
    if (s === 429) {
      const ra = Number(up.headers.get('retry-after'));
      throw new ApiError('upstream_busy', {
        message: 'The model provider is rate-limiting this server. Retry after the delay in the Retry-After header, with a fresh nonce.',
        retryAfter: Number.isFinite(ra) && ra > 0 ? Math.ceil(ra) : deps.retryAfterSeconds,
      });
    }
    if (s !== 200 || !isJsonObject(up.body)) {
      metrics.upstreamErrors.inc({ kind: 'attestation_status' });
      log.warn({ status: s }, 'attestation upstream answered unexpectedly');
      throw new ApiError('upstream_error', { message: FAILED, details: s === 200 ? 'provider answer is not a JSON object' : `provider status ${s}` });
    }
    res.setHeader('cache-control', 'no-store');
    res.status(200).type('application/json').end(up.body);
  };
}

function isJsonObject(body: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}
