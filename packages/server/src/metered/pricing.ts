/**
 * Metered pricing (PROTOCOL.md, "Protocol v2, step 2"): the per-model price table, the actual cost
 * of a call from the provider's `usage`, and the output cap that keeps a call's worst case within
 * `C_max`. All amounts are integer price units; prices are per 1M tokens. The arithmetic is bigint,
 * so no float ever rounds a cost.
 */
import { MAX_METERED_AMOUNT } from '@zkcredits/core';

/** Tokens a price is quoted for. */
const PER = 1_000_000n;

/** A model's price in price units per 1M tokens (integers; output ≥ 1). */
export type ModelPrice = { input: number; output: number };

/** Prices by model id (the ids of `ZKC_MODELS`, Venice feature suffixes included). */
export type PriceTable = ReadonlyMap<string, ModelPrice>;

/** What the provider reports a call used (OpenAI `usage`; other members are ignored). */
export type Usage = { prompt_tokens: number; completion_tokens: number };

/** The result of `parsePriceTable`: the table, or every problem with how to fix it. */
export type PriceTableParse = { ok: true; prices: PriceTable } | { ok: false; problems: string[] };

/** The environment variable `parsePriceTable` reads (named in its messages). */
export const PRICES_ENV = 'ZKC_MODEL_PRICES';

const EXAMPLE = `${PRICES_ENV}=llama-3.3-70b:700000/2800000,qwen3-4b:50000/150000`;
const ENTRY = /^(\d{1,13})\/(\d{1,13})$/;
const MODEL_ID = /^[A-Za-z0-9._:/-]{1,128}$/;

/**
 * Parses `model:input/output,...` (input and output price per 1M tokens, integer price units; the
 * model id may itself hold `:`, the last one separates the price). Never throws: returns every
 * problem found, each with the bad entry and the expected shape, for the config's fix-it list.
 *
 * @example
 * parsePriceTable('llama-3.3-70b:700000/2800000') // → { ok: true, prices: Map { 'llama-3.3-70b' → { input: 700000, output: 2800000 } } }
 */
export function parsePriceTable(value: string): PriceTableParse {
  const prices = new Map<string, ModelPrice>();
  const problems: string[] = [];
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const i = item.lastIndexOf(':');
    const id = i > 0 ? item.slice(0, i) : '';
    const m = ENTRY.exec(i > 0 ? item.slice(i + 1) : '');
    if (!MODEL_ID.test(id) || !m) {
      problems.push(
        `${PRICES_ENV} entry "${item.slice(0, 200)}" must be <model id>:<input price>/<output price>, integer price units per 1M tokens, e.g. ${EXAMPLE}`,
      );
      continue;
    }
    const input = Number(m[1]);
    const output = Number(m[2]);
    if (input > MAX_METERED_AMOUNT || output > MAX_METERED_AMOUNT || output < 1) {
      problems.push(
        `${PRICES_ENV} entry "${item}": prices must be integers below 2^40 price units per 1M tokens, and the output price at least 1 (it bounds max_completion_tokens), got input ${input}, output ${output}`,
      );
      continue;
    }
    if (prices.has(id)) {
      problems.push(`${PRICES_ENV} lists "${id}" twice: give each model one price`);
      continue;
    }
    prices.set(id, { input, output });
  }
  if (items.length === 0) problems.push(`${PRICES_ENV} must price at least one model, e.g. ${EXAMPLE}`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, prices };
}

/**
 * The fix-it problems of a price table that does not price every model sold (metered calls need
 * a price for each `ZKC_MODELS` model); empty when it does.
 */
export function missingPrices(prices: PriceTable, modelIds: readonly string[]): string[] {
  const missing = modelIds.filter((id) => !prices.has(id));
  if (missing.length === 0) return [];
  return [
    `${PRICES_ENV} has no price for ${missing.map((id) => `"${id}"`).join(', ')}: metered calls need an input/output price for every ZKC_MODELS model, e.g. ${PRICES_ENV}=${missing[0]}:700000/2800000`,
  ];
}

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The provider's `usage` when it is one: an object whose `prompt_tokens` and `completion_tokens`
 * are non-negative safe integers. Anything else (null, missing, negative, fractional, strings) is
 * undefined: such a call costs `C_max`.
 */
export function readUsage(value: unknown): Usage | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { prompt_tokens: prompt, completion_tokens: completion } = value as Record<string, unknown>;
  return count(prompt) && count(completion) ? { prompt_tokens: prompt, completion_tokens: completion } : undefined;
}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

/**
 * The actual cost of a call in price units:
 * `min(cMax, ceil((prompt · input + completion · output) / 1e6))`, or `cMax` when the usage is
 * missing or invalid (see `readUsage`). The refund is `cMax − cost`.
 */
export function meteredCost(price: ModelPrice, usage: unknown, cMax: number): number {
  const u = readUsage(usage);
  if (!u) return cMax;
  const raw = ceilDiv(BigInt(u.prompt_tokens) * BigInt(price.input) + BigInt(u.completion_tokens) * BigInt(price.output), PER);
  return raw < BigInt(cMax) ? Number(raw) : cMax;
}

/**
 * The largest `max_completion_tokens` whose worst case stays within `cMax`, for an input of at most
 * `inputTokensBound` tokens: `floor((cMax − ceil(inputTokensBound · input / 1e6)) · 1e6 / output)`,
 * lowered to `clientCap` when one is given. Then
 * `ceil((inputTokensBound · input + result · output) / 1e6) ≤ cMax` holds. A result below 1 means
 * the input alone may cost `cMax`: refuse the call (`input_tokens_exceeded`); it is then 0, never
 * negative. Capped at `Number.MAX_SAFE_INTEGER` (the model's own output cap still applies upstream).
 */
export function maxCompletionTokens(price: ModelPrice, inputTokensBound: number, cMax: number, clientCap?: number): number {
  const inputCost = ceilDiv(BigInt(inputTokensBound) * BigInt(price.input), PER);
  const left = BigInt(cMax) - inputCost;
  if (left <= 0n) return 0;
  let tokens = (left * PER) / BigInt(price.output);
  if (clientCap !== undefined && BigInt(clientCap) < tokens) tokens = BigInt(Math.max(0, clientCap));
  return tokens > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(tokens);
}
