import { createHash } from 'node:crypto';
import {
  CREDIT_VK_SHA256,
  PROTOCOL_VERSION,
  ROOT_HISTORY_SIZE,
  TREE_DEPTH,
  creditCircuit,
  toFieldHex,
} from '@zkcredits/core';
import { Router, type Request, type Response } from 'express';
import type { ChainView } from '../chain/indexer.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { Store } from '../store/index.js';
import type { ModelCapabilityCatalogue } from '../upstream/model-capabilities.js';

/** Most leaves one `/leaves` page returns. */
export const MAX_LEAVES_PAGE = 16_384;

const circuitJson = JSON.stringify(creditCircuit);
const circuitEtag = `"${createHash('sha256').update(circuitJson).digest('hex').slice(0, 32)}"`;

function intParam(req: Request, name: string, def: number, max: number): number {
  const raw = req.query[name];
  if (raw === undefined) return def;
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw) || Number(raw) > max) {
    throw new ApiError('invalid_request', { param: name, message: `Query parameter ${name} must be a whole number from 0 to ${max}.` });
  }
  return Number(raw);
}

function cache(res: Response, seconds: number): void {
  res.setHeader('cache-control', `public, max-age=${seconds}`);
}

/** Public, cacheable data: models, deployment config, circuit, leaves, accepted roots. */
export function publicRoutes(deps: { config: Config; chain: ChainView; store: Store; capabilities: ModelCapabilityCatalogue }): Router {
  const { config, chain, store, capabilities } = deps;
  const r = Router();

  // `e2ee` / `tee_attestation`: what the provider's model list says (refreshed in the background).
  // `null` while the server has not been able to read it: unknown, which clients must treat as
  // "no E2EE" (fail closed); the answer is then cached briefly so clients soon see the real one.
  r.get('/v1/models', (_req, res) => {
    const data = config.models.map((m) => {
      const c = capabilities.get(m.id);
      return {
        id: m.id,
        object: 'model',
        created: 0,
        owned_by: 'zkcredits',
        zkcredits: {
          max_tokens_per_credit: m.maxTokensPerCredit,
          max_input_tokens_per_credit: m.maxInputTokensPerCredit,
          e2ee: c ? c.e2ee : null,
          tee_attestation: c ? c.teeAttestation : null,
        },
      };
    });
    cache(res, data.every((m) => m.zkcredits.e2ee !== null) ? 60 : 5);
    res.json({ object: 'list', data });
  });

  r.get('/v1/zkcredits/config', (_req, res) => {
    const s = chain.status;
    cache(res, 30);
    res.json({
      protocol_version: PROTOCOL_VERSION,
      chain_id: config.chain.chainId,
      contract: config.chain.contract,
      deployment_block: config.chain.deploymentBlock?.toString() ?? null,
      confirmations: config.chain.confirmations,
      tree_depth: TREE_DEPTH,
      root_history_size: ROOT_HISTORY_SIZE,
      verification_key_sha256: CREDIT_VK_SHA256,
      circuit: { noir_version: creditCircuit.noir_version, sha256: circuitEtag.slice(1, -1) },
      payment_token: s.paymentToken,
      price_per_credit: s.pricePerCredit?.toString() ?? null,
      models: config.models.map((m) => ({ id: m.id, max_tokens_per_credit: m.maxTokensPerCredit, max_input_tokens_per_credit: m.maxInputTokensPerCredit })),
      request_binding: { method: 'POST', path: '/v1/chat/completions', body_field: 'zkcredits' },
      venice_parameters: ['enable_e2ee', ...config.veniceParameters],
      releases_before_cooldown: config.releasesBeforeCooldown,
      api_key_mode: config.apiKeyMode,
    });
  });

  r.get('/v1/zkcredits/circuit', (req, res) => {
    res.setHeader('cache-control', 'public, max-age=86400');
    res.setHeader('etag', circuitEtag);
    if (req.headers['if-none-match'] === circuitEtag) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(circuitJson);
  });

  r.get('/v1/zkcredits/leaves', (req, res) => {
    const from = intParam(req, 'from', 0, 2 ** TREE_DEPTH);
    const limit = intParam(req, 'limit', MAX_LEAVES_PAGE, MAX_LEAVES_PAGE);
    // One synchronous snapshot of the tree: leaves, size and root agree.
    const tree = chain.tree;
    const total = tree.size;
    const root = toFieldHex(tree.root);
    // Copies only the page: O(limit) whatever the tree's size.
    const leaves = from < total ? tree.leaves(from, Math.min(total, from + limit)) : [];
    const bytes = Buffer.alloc(leaves.length * 32);
    leaves.forEach((leaf, i) => bytes.write(leaf.toString(16).padStart(64, '0'), i * 32, 'hex'));
    cache(res, 5);
    res.setHeader('x-zkcredits-total', String(total));
    res.setHeader('x-zkcredits-root', root);
    if (req.accepts(['application/json', 'application/octet-stream']) === 'application/octet-stream') {
      res.setHeader('x-zkcredits-from', String(from));
      res.type('application/octet-stream').send(bytes);
      return;
    }
    res.json({ from, count: leaves.length, total, root, encoding: 'base64 of 32-byte big-endian leaves', leaves: bytes.toString('base64') });
  });

  r.get('/v1/zkcredits/roots', async (_req, res) => {
    const roots = await store.recentRoots(ROOT_HISTORY_SIZE);
    cache(res, 5);
    res.json({
      window: ROOT_HISTORY_SIZE,
      current: roots[0] === undefined ? null : toFieldHex(roots[0]),
      accepted: roots.map((x) => toFieldHex(x)),
      synced_block: chain.status.synced?.toString() ?? null,
    });
  });

  return r;
}
