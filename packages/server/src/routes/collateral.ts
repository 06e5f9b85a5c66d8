import { isZkCreditsError } from '@zkcredits/core';
import type { Request, Response } from 'express';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { CollateralMirror } from '../tee/collateral-mirror.js';

export const COLLATERAL_PATH = '/v1/tee/collateral';

const FMSPC = /^[0-9a-fA-F]{12}$/;

export type CollateralDeps = {
  mirror: CollateralMirror;
  logger: Logger;
  metrics: Metrics;
  retryAfterSeconds: number;
  now?: () => number;
};

/**
 * `GET /v1/tee/collateral?fmspc=<12 hex>&ca=<platform|processor>`: the DCAP collateral of a TDX
 * platform (the object `@phala/dcap-qvl` consumes), mirrored from Intel's PCS and cached until its
 * `nextUpdate` (`CollateralMirror`). Clients ask this server rather than Intel or a third-party
 * PCCS, so nobody else learns which enclaves they check, and browsers meet no CORS wall.
 *
 * Intel signs every piece of it (TCB info, QE identity, CRLs, chained to Intel's root CA, which
 * clients pin), so this server cannot forge collateral: it can only withhold it or serve an old
 * copy, and clients then fail closed (`collateral_expired`). Costs no credit; rate-limited on its
 * own (ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE). Cacheable by anyone until `nextUpdate`.
 */
export function collateralHandler(deps: CollateralDeps) {
  const log = deps.logger.child({ subsystem: 'collateral' });
  const now = deps.now ?? Date.now;

  return async function handle(req: Request, res: Response): Promise<void> {
    const { fmspc, ca } = req.query;
    if (typeof fmspc !== 'string' || !FMSPC.test(fmspc)) {
      const got = fmspc === undefined ? 'fmspc is missing' : typeof fmspc === 'string' ? `got ${fmspc.length} characters` : 'give it once';
      throw new ApiError('invalid_fmspc', { param: 'fmspc', details: got });
    }
    if (ca !== 'platform' && ca !== 'processor') throw new ApiError('invalid_ca', { param: 'ca', details: ca === undefined ? 'ca is missing' : undefined });

    let entry;
    try {
      entry = await deps.mirror.get(fmspc.toUpperCase(), ca);
    } catch (err) {
      if (isZkCreditsError(err, 'collateral_unavailable')) {
        if (err.param === 'fmspc') throw new ApiError('collateral_not_found', { param: 'fmspc', cause: err });
        deps.metrics.upstreamErrors.inc({ kind: 'collateral' });
        // The PCS's own words (status, which resource); never the request.
        log.warn({ err: [err.shortMessage, err.details].filter(Boolean).join(': ') }, 'collateral fetch failed');
        throw new ApiError('collateral_unavailable', { details: err.shortMessage, retryAfter: deps.retryAfterSeconds, cause: err });
      }
      throw err;
    }
    const maxAge = Math.floor((entry.nextUpdate - now()) / 1000);
    res.setHeader('cache-control', maxAge > 0 ? `public, max-age=${maxAge}` : 'no-store');
    res.status(200).type('application/json').send(entry.body);
  };
}
