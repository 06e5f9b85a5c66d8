import { expect } from 'vitest';
import { afterEach, beforeEach } from 'vitest';
import { createVeniceSim, type VeniceSim } from '../src/index.js';

export const API_KEY = 'test-venice-key';

/** One fresh sim per test. */
export function useSim(opts: Parameters<typeof createVeniceSim>[0] = { apiKey: API_KEY }): () => VeniceSim {
  let sim: VeniceSim | undefined;
  beforeEach(async () => {
    sim = await createVeniceSim(opts);
  });
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  return () => sim!;
}

export function chat(sim: VeniceSim, body: unknown, headers: Record<string, string> = {}, init: RequestInit = {}) {
  return fetch(`${sim.apiBaseUrl}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    ...init,
  });
}

/** Reads an SSE body into its `data:` payloads (raw strings), in order. */
export async function sseData(res: Response): Promise<string[]> {
  const text = await res.text();
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((ev) => {
      expect(ev.startsWith('data: ')).toBe(true);
      return ev.slice('data: '.length);
    });
}
