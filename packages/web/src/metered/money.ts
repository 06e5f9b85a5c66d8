// Metered amounts (integer price units, PROTOCOL.md "Units and deployment constants") as money and
// back: what the opening form reads and what the balance shows.
import type { MeteredParams } from '@zkcredits/core';
import { formatUnits, parseUnits } from 'viem';

export type { MeteredParams };

/** The lane counts an account can have (`2^lanes_log2`, lanes_log2 ∈ {0, 1, 2, 3}). */
export const LANE_CHOICES = [1, 2, 4, 8] as const;
export type Lanes = (typeof LANE_CHOICES)[number];

/** `lanes_log2` of a lane count. */
export function lanesLog2(lanes: Lanes): number {
  return Math.log2(lanes);
}

/** Token base units of `units` price units. */
export function toBaseUnits(units: number | bigint, params: Pick<MeteredParams, 'priceUnit'>): bigint {
  return BigInt(units) * params.priceUnit;
}

/**
 * Price units of a money amount typed by the user (`"0.50"`, in the token's units), or why not:
 * not a number, more digits than a price unit has, or at least 2^40 units.
 */
export function parsePriceUnits(text: string, decimals: number, params: Pick<MeteredParams, 'priceUnit'>): { units: number } | { error: string } {
  const clean = text.trim().replace(/,/g, '');
  if (!/^\d*\.?\d*$/.test(clean) || clean === '' || clean === '.') return { error: 'Enter an amount, e.g. 1.50.' };
  let base: bigint;
  try {
    base = parseUnits(clean, decimals);
  } catch {
    return { error: 'Enter an amount, e.g. 1.50.' };
  }
  // parseUnits rounds digits past `decimals`: an amount with more digits than a price unit has is refused, not rounded.
  const unitDigits = decimals - (params.priceUnit.toString().length - 1);
  const fraction = clean.split('.')[1] ?? '';
  if (base % params.priceUnit !== 0n || fraction.replace(/0+$/, '').length > Math.max(0, unitDigits)) {
    return { error: `At most ${Math.max(0, unitDigits)} digits after the point.` };
  }
  const units = base / params.priceUnit;
  if (units >= 2n ** 40n) return { error: 'That amount is too large.' };
  return { units: Number(units) };
}

/** Price units as the money text the form starts from (`"0.50"`). */
export function formatPriceUnits(units: number, decimals: number, params: Pick<MeteredParams, 'priceUnit'>): string {
  const [whole = '0', frac = ''] = formatUnits(toBaseUnits(units, params), decimals).split('.');
  return `${whole}.${frac.padEnd(2, '0')}`;
}

/** What an opening pulls: `(D_lane + S_lane) · lanes · priceUnit` (token base units), as `openMetered` does. */
export function meteredTotal(dLane: number, sLane: number, lanes: Lanes, params: Pick<MeteredParams, 'priceUnit'>): bigint {
  return (BigInt(dLane) + BigInt(sLane)) * BigInt(lanes) * params.priceUnit;
}

