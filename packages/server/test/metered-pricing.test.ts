// Metered pricing: the price table parser (fix-it problems), the cost of a call from `usage`, and
// the output cap that keeps a call's worst case within C_max (checked against exact arithmetic).
import { MAX_METERED_AMOUNT } from '@zkcredits/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxCompletionTokens, meteredCost, missingPrices, parsePriceTable, readUsage } from '../src/metered/pricing.js';

const LLAMA = { input: 700_000, output: 2_800_000 };
const C_MAX = 50_000;

describe('parsePriceTable', () => {
  it('reads model:input/output entries, model ids with ":" included', () => {
    const r = parsePriceTable(' llama-3.3-70b:700000/2800000, venice:qwen3-4b:0/1 ,');
    expect(r).toEqual({
      ok: true,
      prices: new Map([
        ['llama-3.3-70b', LLAMA],
        ['venice:qwen3-4b', { input: 0, output: 1 }],
      ]),
    });
  });

  it('lists every bad entry with the expected shape and an example', () => {
    const r = parsePriceTable('llama-3.3-70b:0.7/2.8,:1/2,qwen3-4b:5,qwen3-4b:1/2/3,a:1/2,a:3/4,b:1/0,c:1/1099511627776');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(7);
    expect(r.problems[0]).toBe(
      'ZKC_MODEL_PRICES entry "llama-3.3-70b:0.7/2.8" must be <model id>:<input price>/<output price>, integer price units per 1M tokens, e.g. ZKC_MODEL_PRICES=llama-3.3-70b:700000/2800000,qwen3-4b:50000/150000',
    );
    expect(r.problems[1]).toContain('":1/2"');
    expect(r.problems[2]).toContain('"qwen3-4b:5"');
    expect(r.problems[3]).toContain('"qwen3-4b:1/2/3"');
    expect(r.problems[4]).toBe('ZKC_MODEL_PRICES lists "a" twice: give each model one price');
    expect(r.problems[5]).toMatch(/"b:1\/0".*output price at least 1.*got input 1, output 0/);
    expect(r.problems[6]).toMatch(/below 2\^40.*got input 1, output 1099511627776/);
  });

  it('refuses an empty table', () => {
    expect(parsePriceTable(' , ')).toEqual({ ok: false, problems: [expect.stringContaining('must price at least one model')] });
  });

  it('names the models a table does not price', () => {
    const prices = new Map([['llama-3.3-70b', LLAMA]]);
    expect(missingPrices(prices, ['llama-3.3-70b'])).toEqual([]);
    expect(missingPrices(prices, ['llama-3.3-70b', 'qwen3-4b', 'x'])).toEqual([
      'ZKC_MODEL_PRICES has no price for "qwen3-4b", "x": metered calls need an input/output price for every ZKC_MODELS model, e.g. ZKC_MODEL_PRICES=qwen3-4b:700000/2800000',
    ]);
  });
});

describe('meteredCost', () => {
  it('charges ceil((prompt·input + completion·output) / 1e6), rounding any fraction of a unit up', () => {
    // 9 · 0.7 + 6 · 2.8 = 23.1 → 24
    expect(meteredCost(LLAMA, { prompt_tokens: 9, completion_tokens: 6, total_tokens: 15 }, C_MAX)).toBe(24);
    expect(meteredCost({ input: 1_000_000, output: 2_000_000 }, { prompt_tokens: 3, completion_tokens: 4 }, C_MAX)).toBe(11);
    expect(meteredCost({ input: 1, output: 1 }, { prompt_tokens: 1, completion_tokens: 0 }, C_MAX)).toBe(1);
    expect(meteredCost(LLAMA, { prompt_tokens: 0, completion_tokens: 0 }, C_MAX)).toBe(0);
  });

  it('never charges more than C_max', () => {
    expect(meteredCost(LLAMA, { prompt_tokens: 10_000_000, completion_tokens: 10_000_000 }, C_MAX)).toBe(C_MAX);
    expect(meteredCost(LLAMA, { prompt_tokens: Number.MAX_SAFE_INTEGER, completion_tokens: Number.MAX_SAFE_INTEGER }, C_MAX)).toBe(C_MAX);
  });

  it('charges C_max when usage is missing or not token counts', () => {
    for (const bad of [undefined, null, 'usage', [], {}, { prompt_tokens: 1 }, { prompt_tokens: -1, completion_tokens: 1 }, { prompt_tokens: 1.5, completion_tokens: 1 }, { prompt_tokens: '1', completion_tokens: 1 }, { prompt_tokens: 2 ** 53, completion_tokens: 0 }]) {
      expect(meteredCost(LLAMA, bad, C_MAX)).toBe(C_MAX);
      expect(readUsage(bad)).toBeUndefined();
    }
  });

  it('equals exact rational arithmetic, capped', () => {
    fc.assert(
      fc.property(
        fc.record({ input: fc.integer({ min: 0, max: MAX_METERED_AMOUNT }), output: fc.integer({ min: 1, max: MAX_METERED_AMOUNT }) }),
        fc.nat({ max: 10_000_000 }),
        fc.nat({ max: 10_000_000 }),
        fc.integer({ min: 1, max: MAX_METERED_AMOUNT }),
        (price, p, c, cMax) => {
          const micro = BigInt(p) * BigInt(price.input) + BigInt(c) * BigInt(price.output);
          const cost = BigInt(meteredCost(price, { prompt_tokens: p, completion_tokens: c }, cMax));
          if (cost < BigInt(cMax)) {
            // cost is the least integer with cost · 1e6 ≥ micro
            expect(cost * 1_000_000n >= micro).toBe(true);
            expect(cost === 0n || (cost - 1n) * 1_000_000n < micro).toBe(true);
          } else {
            expect(cost).toBe(BigInt(cMax));
            expect(BigInt(cMax) * 1_000_000n <= micro + 999_999n).toBe(true);
          }
        },
      ),
      { seed: 13, numRuns: 2_000 },
    );
  });
});

describe('maxCompletionTokens', () => {
  it('leaves C_max minus the input bound for output', () => {
    // input 1000 tokens · 0.7 = 700 units; (50,000 − 700) / 2.8 = 17,607.14 → 17,607
    expect(maxCompletionTokens(LLAMA, 1000, C_MAX)).toBe(17_607);
    expect(maxCompletionTokens(LLAMA, 1000, C_MAX, 1024)).toBe(1024);
    expect(maxCompletionTokens(LLAMA, 1000, C_MAX, 20_000)).toBe(17_607);
    expect(maxCompletionTokens({ input: 0, output: 1 }, 5, MAX_METERED_AMOUNT)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('is below 1 (refuse) when the input alone may cost C_max or leaves less than one output token', () => {
    // ceil(71,429 · 0.7) = 50,001 > C_max
    expect(maxCompletionTokens(LLAMA, 71_429, C_MAX)).toBe(0);
    // exactly C_max for the input: nothing left
    expect(maxCompletionTokens({ input: 1_000_000, output: 1 }, C_MAX, C_MAX)).toBe(0);
    // 1 unit left, an output token costs 2 units: floor(1e6 / 2e6) = 0
    expect(maxCompletionTokens({ input: 1_000_000, output: 2_000_000 }, C_MAX - 1, C_MAX)).toBe(0);
    expect(maxCompletionTokens(LLAMA, 0, C_MAX, 0)).toBe(0);
  });

  it('keeps the worst case within C_max; one more token would exceed the input bound\'s cost plus the output\'s', () => {
    fc.assert(
      fc.property(
        fc.record({ input: fc.integer({ min: 0, max: 100_000_000 }), output: fc.integer({ min: 1, max: 100_000_000 }) }),
        fc.nat({ max: 1_000_000 }),
        fc.integer({ min: 1, max: MAX_METERED_AMOUNT }),
        (price, inputBound, cMax) => {
          const m = maxCompletionTokens(price, inputBound, cMax);
          const ceil = (micro: bigint) => (micro + 999_999n) / 1_000_000n;
          const inputCost = ceil(BigInt(inputBound) * BigInt(price.input));
          expect(Number.isSafeInteger(m) && m >= 0).toBe(true);
          if (m >= 1) {
            const worst = ceil(BigInt(inputBound) * BigInt(price.input) + BigInt(m) * BigInt(price.output));
            expect(worst <= BigInt(cMax)).toBe(true);
            expect(meteredCost(price, { prompt_tokens: inputBound, completion_tokens: m }, cMax)).toBe(Number(worst));
          }
          if (m < Number.MAX_SAFE_INTEGER) expect(inputCost + ceil(BigInt(m + 1) * BigInt(price.output)) > BigInt(cMax)).toBe(true);
        },
      ),
      { seed: 13, numRuns: 2_000 },
    );
  });
});
