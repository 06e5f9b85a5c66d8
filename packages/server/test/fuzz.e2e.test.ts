// Generated request bodies against the real server (fixed seed, bounded count): numbers at the
// edges of JSON, deep nesting, odd unicode and duplicate keys, in every place of a chat request.
// Whatever arrives, the answer is never a 5xx, and a credit is spent only when an answer was served.
import fc from 'fast-check';
import { CHAT_PATH, credentialNullifierHash, requestHash, type Credential } from '@zkcredits/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, startStack, type Stack } from './helpers/stack.js';

const SEED = 0x7a6b63;
const UNPROVED_RUNS = 250;
const PROVED_RUNS = 24;

/** JSON number tokens at the edges: overflow, underflow, negative zero, beyond 2^53, exponents. */
const edgeNumber = fc.constantFrom(
  '1e400', '-1e400', '1e-400', '-0', '0.0', '5e-324', '1.7976931348623157e308', '9007199254740993',
  '123456789012345678901234567890', '1E2', '-1.5', '0', '2', '64', '65', '4294967297',
);
/** String tokens with lone surrogates, NUL, bidi overrides, astral characters and escapes. */
const oddString = fc.oneof(
  fc.constantFrom('"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\\u202e"', '"😀"', '"\\ufeff"', '"a\\"b"', '"\\\\"', '""', '"\\/"'),
  fc.string({ unit: 'binary', maxLength: 40 }).map((v) => JSON.stringify(v)),
);
const nested = fc.integer({ min: 1, max: 200 }).chain((d) => fc.constantFrom(`${'['.repeat(d)}${']'.repeat(d)}`, `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`));
const anyToken: fc.Arbitrary<string> = fc.oneof(
  edgeNumber,
  oddString,
  nested,
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('true', 'false', 'null', '[]', '{}'),
);

/** A chat body as raw JSON text with one generated token placed somewhere meaningful. */
const rawBody = fc
  .record({
    token: anyToken,
    place: fc.constantFrom('temperature', 'max_tokens', 'content', 'model', 'extra', 'venice', 'duplicate_model', 'duplicate_messages', 'stream', 'n', 'role'),
  })
  .map(({ token, place }) => {
    const msg = (content: string, role = '"user"') => `[{"role":${role},"content":${content}}]`;
    const base = (fields: string) => `{"model":"${MODEL}","messages":${msg('"hi"')},"max_tokens":8${fields}}`;
    switch (place) {
      case 'temperature':
        return base(`,"temperature":${token}`);
      case 'max_tokens':
        return `{"model":"${MODEL}","messages":${msg('"hi"')},"max_tokens":${token}}`;
      case 'content':
        return `{"model":"${MODEL}","messages":${msg(token)},"max_tokens":8}`;
      case 'role':
        return `{"model":"${MODEL}","messages":${msg('"hi"', token)},"max_tokens":8}`;
      case 'model':
        return `{"model":${token},"messages":${msg('"hi"')},"max_tokens":8}`;
      case 'extra':
        return base(`,"x_extra":${token}`);
      case 'venice':
        return base(`,"venice_parameters":{"enable_e2ee":${token}}`);
      case 'duplicate_model':
        return `{"model":${token},"model":"${MODEL}","messages":${msg('"hi"')},"max_tokens":8}`;
      case 'duplicate_messages':
        return `{"model":"${MODEL}","messages":${token},"messages":${msg('"hi"')},"max_tokens":8}`;
      case 'stream':
        return base(`,"stream":${token}`);
      default:
        return base(`,"n":${token}`);
    }
  });

describe('fuzzed request bodies', () => {
  let s: Stack;
  let credits: Credential[];

  beforeAll(async () => {
    s = await startStack('sqlite', { env: { ZKC_LOG_LEVEL: 'info' } });
    credits = await s.buyCredits(PROVED_RUNS);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const post = (raw: string) => fetch(`${s.url}${CHAT_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });

  it(`never answers 5xx to ${UNPROVED_RUNS} generated bodies without a credit`, async () => {
    await fc.assert(
      fc.asyncProperty(rawBody, async (raw) => {
        const res = await post(raw);
        await res.arrayBuffer();
        expect(res.status, raw.slice(0, 200)).toBeLessThan(500);
      }),
      { seed: SEED, numRuns: UNPROVED_RUNS },
    );
    expect(s.logs.lines.some((l) => /"level":50/.test(l))).toBe(false);
  });

  it(`spends a credit only with an answer, never answers 5xx, over ${PROVED_RUNS} generated bodies carrying real proofs`, async () => {
    let run = 0;
    const outcomes = { served: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(rawBody, async (raw) => {
        const credential = credits[run++]!;
        const nullifierHash = credentialNullifierHash(credential);
        let zk: unknown;
        try {
          const body = JSON.parse(raw) as unknown;
          requestHash({ chainId: s.chain.chainId, contract: s.chain.pool, method: 'POST', path: CHAT_PATH, body });
          zk = await s.prove(credential, body as object);
        } catch {
          // The client cannot hash it either: send it with a proof for the plain request instead.
          zk = await s.prove(credential, { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });
        }
        const res = await post(`${raw.slice(0, -1)},"zkcredits":${JSON.stringify(zk)}}`);
        await res.arrayBuffer();
        expect(res.status, raw.slice(0, 200)).toBeLessThan(500);
        const state = await s.server.store.nullifierState(nullifierHash, Date.now());
        if (res.status === 200) {
          outcomes.served++;
          expect(state).toBe('spent');
        } else {
          outcomes.refused++;
          expect(state, `${res.status} for ${raw.slice(0, 200)}`).toBeNull();
        }
      }),
      { seed: SEED, numRuns: PROVED_RUNS, endOnFailure: true },
    );
    expect(outcomes.served + outcomes.refused).toBe(PROVED_RUNS);
  });
});
