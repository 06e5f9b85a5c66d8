import {
  CHAT_PATH,
  MAX_TICKETS,
  PROOF_BODY_FIELD,
  ROOT_HISTORY_SIZE,
  SPENT_PREFIX_HEX_DIGITS,
  SPENT_PREFIXES,
  TICKET_VK_SHA256,
  TREE_DEPTH,
  toFieldHex,
} from '@zkcredits/core';
import { Router, type Request } from 'express';
import type { ChainView } from '../chain/indexer.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { Store } from '../store/index.js';
import { acceptedDays } from '../tickets/authorize.js';

export const V2_CONFIG_PATH = '/v2/zkcredits/config';
export const SPENT_PATH = '/v2/zkcredits/spent';
/** Nullifiers per `/spent` page. */
export const SPENT_PAGE_SIZE = 4096;

const NULLIFIER = /^0x[0-9a-f]{64}$/;
const SPENT_QUERY = new Set(['prefix', 'after']);

function spentQuery(req: Request): { prefix: string; after: `0x${string}` | undefined } {
  for (const name of Object.keys(req.query)) {
    if (!SPENT_QUERY.has(name)) {
      // On purpose there is no way to ask about one nullifier: it would link the ones a client asks about.
      throw new ApiError('invalid_request', { param: name.slice(0, 64), message: 'GET /v2/zkcredits/spent takes only prefix and after. There is no per-nullifier query: download the whole bucket.' });
    }
  }
  const { prefix, after } = req.query;
  // Only the prefixes a field element can have (nullifiers are below p = 0x3064…): one source, core's list.
  if (typeof prefix !== 'string' || !SPENT_PREFIXES.includes(prefix)) {
    throw new ApiError('invalid_spent_prefix', {
      param: 'prefix',
      details: `got ${JSON.stringify(typeof prefix === 'string' ? prefix.slice(0, 80) : (prefix ?? null))}; buckets: ${SPENT_PREFIXES.join(', ')}`,
    });
  }
  if (after === undefined) return { prefix, after: undefined };
  if (typeof after !== 'string' || !NULLIFIER.test(after)) {
    throw new ApiError('invalid_spent_cursor', { param: 'after', details: `got ${JSON.stringify(typeof after === 'string' ? after.slice(0, 80) : after)}` });
  }
  return { prefix, after: after as `0x${string}` };
}

/**
 * Protocol v2 public routes: `GET /v2/zkcredits/config` (what a flat-ticket client needs besides
 * v1's config) and `GET /v2/zkcredits/spent` (every nullifier seen, by prefix bucket, for clients
 * recovering their ticket counters without naming any nullifier).
 */
export function v2Routes(deps: { config: Config; chain: ChainView; store: Store; now: () => number }): Router {
  const { config, chain, store, now } = deps;
  const r = Router();

  r.get(V2_CONFIG_PATH, (_req, res) => {
    const s = chain.status;
    res.setHeader('cache-control', 'public, max-age=30');
    res.json({
      protocol_version: 2,
      chain_id: config.chain.chainId,
      contract: config.chain.contract,
      kinds: ['flat'],
      payment_token: s.paymentToken,
      price_per_ticket: s.pricePerTicket?.toString() ?? null,
      ttl_days: s.ttlDays,
      max_tickets: MAX_TICKETS,
      accepted_days: acceptedDays(now()),
      ticket_verification_key_sha256: TICKET_VK_SHA256,
      tree_depth: TREE_DEPTH,
      root_history_size: ROOT_HISTORY_SIZE,
      request_binding: { method: 'POST', path: CHAT_PATH, body_field: PROOF_BODY_FIELD },
      spent_prefix_hex_digits: SPENT_PREFIX_HEX_DIGITS,
      spent_prefixes: SPENT_PREFIXES,
      spent_page_size: SPENT_PAGE_SIZE,
      retention_grace_days: config.tickets.graceDays,
      releases_before_cooldown: config.releasesBeforeCooldown,
    });
  });

  r.get(SPENT_PATH, async (req, res) => {
    const { prefix, after } = spentQuery(req);
    const rows = await store.seenNullifiers(prefix, after === undefined ? undefined : BigInt(after), SPENT_PAGE_SIZE + 1);
    const page = rows.slice(0, SPENT_PAGE_SIZE);
    const nullifiers = page.map((nf) => toFieldHex(nf));
    res.setHeader('cache-control', 'public, max-age=5');
    res.json({
      prefix,
      after: after ?? null,
      count: nullifiers.length,
      nullifiers,
      next: rows.length > SPENT_PAGE_SIZE ? nullifiers[nullifiers.length - 1]! : null,
    });
  });

  return r;
}
