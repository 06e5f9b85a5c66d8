import {
  CHAT_PATH,
  FIELD_MODULUS,
  METERED_MAX_LANES_LOG2,
  METERED_VK_SHA256,
  MAX_TICKETS,
  PROOF_BODY_FIELD,
  ROOT_HISTORY_SIZE,
  SPENT_PREFIX_HEX_DIGITS,
  SPENT_PREFIXES,
  TICKET_VK_SHA256,
  TREE_DEPTH,
  toFieldHex,
  utcDay,
} from '@zkcredits/core';
import { Router, type Request } from 'express';
import type { ChainView } from '../chain/indexer.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { MeteredCalls } from '../metered/calls.js';
import type { Store } from '../store/index.js';
import { acceptedDays } from '../tickets/authorize.js';

export const V2_CONFIG_PATH = '/v2/zkcredits/config';
export const SPENT_PATH = '/v2/zkcredits/spent';
/** A metered call's signed state, for the client that just made it (recovery after a lost answer). */
export const STATE_PATH = '/v2/zkcredits/state/:nullifier';
/** The public penalty log of metered calls. */
export const PENALTIES_PATH = '/v2/zkcredits/penalties';
/** Penalties per `/penalties` page. */
export const PENALTIES_PAGE_SIZE = 1000;
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

/** The `metered` block of the v2 config: null when this server does not take metered calls. */
function meteredConfig(config: Config, metered: MeteredCalls, chain: ChainView) {
  const m = chain.status.metered;
  if (!metered.signer || !m) return null;
  // The key only when it is the one the chain pins (else metered calls are refused: state_key_mismatch).
  const serving = metered.termsOrNull() !== null;
  return {
    price_unit: m.priceUnit.toString(),
    c_max: m.cMax,
    lanes_max: 2 ** METERED_MAX_LANES_LOG2,
    state_key: serving ? { x: toFieldHex(m.stateKeys.current.x), y: toFieldHex(m.stateKeys.current.y) } : null,
    prices: Object.fromEntries([...config.metered.prices].map(([model, p]) => [model, { input: p.input, output: p.output }])),
    max_penalty: config.metered.policy.maxPenalty ?? m.cMax,
    policy_reasons: config.metered.policy.rules.map((rule) => rule.reason),
    verification_key_sha256: METERED_VK_SHA256,
  };
}

function nullifierParam(value: unknown): bigint {
  if (typeof value !== 'string' || !NULLIFIER.test(value) || BigInt(value) >= FIELD_MODULUS) {
    throw new ApiError('invalid_field', { param: 'nullifier', details: 'the nullifier of the metered call, 0x followed by 64 lowercase hex digits' });
  }
  return BigInt(value);
}

function penaltiesQuery(req: Request): number {
  for (const name of Object.keys(req.query)) {
    if (name !== 'after') throw new ApiError('invalid_request', { param: name.slice(0, 64), message: 'GET /v2/zkcredits/penalties takes only after (a seq).' });
  }
  const { after } = req.query;
  if (after === undefined) return 0;
  if (typeof after !== 'string' || !/^\d{1,15}$/.test(after)) {
    throw new ApiError('invalid_request', { param: 'after', message: 'after must be a whole number: the "next" value of the previous page (or 0).' });
  }
  return Number(after);
}

/**
 * Protocol v2 public routes: `GET /v2/zkcredits/config` (what a v2 client needs besides v1's
 * config), `GET /v2/zkcredits/spent` (every nullifier seen, by prefix bucket, for clients
 * recovering their ticket counters without naming any nullifier), `GET /v2/zkcredits/state/{nf}`
 * (a metered call's signed state) and `GET /v2/zkcredits/penalties` (the public penalty log).
 */
export function v2Routes(deps: { config: Config; chain: ChainView; store: Store; now: () => number; metered: MeteredCalls }): Router {
  const { config, chain, store, now, metered } = deps;
  const r = Router();

  r.get(V2_CONFIG_PATH, (_req, res) => {
    const s = chain.status;
    const m = meteredConfig(config, metered, chain);
    res.setHeader('cache-control', 'public, max-age=30');
    res.json({
      protocol_version: 2,
      chain_id: config.chain.chainId,
      contract: config.chain.contract,
      kinds: m?.state_key ? ['flat', 'metered'] : ['flat'],
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
      metered: m,
    });
  });

  r.get(STATE_PATH, async (req, res) => {
    const wire = await metered.state(nullifierParam(req.params.nullifier));
    res.setHeader('cache-control', 'no-store');
    res.json(wire);
  });

  r.get(PENALTIES_PATH, async (req, res) => {
    const after = penaltiesQuery(req);
    const rows = await store.penalties(after, PENALTIES_PAGE_SIZE + 1);
    const page = rows.slice(0, PENALTIES_PAGE_SIZE);
    res.setHeader('cache-control', 'public, max-age=5');
    res.json({
      after,
      count: page.length,
      // The UTC day only: a precise time would help tie a penalty to whoever sent it.
      penalties: page.map((e) => ({ seq: e.seq, nullifier: toFieldHex(e.nullifier), p: e.p, reason: e.reason, evidence_hash: e.evidenceHash, day: utcDay(e.createdAt) })),
      next: rows.length > PENALTIES_PAGE_SIZE ? page[page.length - 1]!.seq : null,
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
