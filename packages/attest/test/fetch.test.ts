// fetchAttestation: a fresh 32-byte nonce per call, the Venice/zkcredits query, typed failures.
import { isZkCreditsError } from '@zkcredits/core/errors';
import { describe, expect, it } from 'vitest';
import { fetchAttestation, MAX_ATTESTATION_BYTES } from '../src/index.js';

const unavailable = async (p: Promise<unknown>) => {
  const e = await p.catch((x: unknown) => x);
  return isZkCreditsError(e, 'attestation_unavailable');
};

describe('fetchAttestation', () => {
  it('GETs <baseUrl>/tee/attestation with the model and a fresh random 32-byte nonce, and returns the JSON', async () => {
    const urls: string[] = [];
    const fetch = async (url: string, init?: RequestInit) => {
      urls.push(url);
      expect(new Headers(init?.headers).get('authorization')).toBe('Bearer k');
      return Response.json({ nonce: new URL(url).searchParams.get('nonce') });
    };
    const a = await fetchAttestation({ baseUrl: 'https://api.example/api/v1/', model: 'e2ee-glm 5', fetch, headers: { authorization: 'Bearer k' } });
    const b = await fetchAttestation({ baseUrl: 'https://api.example/api/v1', model: 'e2ee-glm 5', fetch, headers: { authorization: 'Bearer k' } });
    expect(a.nonce).toMatch(/^[0-9a-f]{64}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.response).toEqual({ nonce: a.nonce });
    expect(urls[0]).toBe(`https://api.example/api/v1/tee/attestation?model=e2ee-glm%205&nonce=${a.nonce}`);
  });

  it('throws attestation_unavailable on a network error, a non-2xx answer, a body over the cap and non-JSON', async () => {
    expect(await unavailable(fetchAttestation({ baseUrl: 'http://x', model: 'm', fetch: async () => { throw new TypeError('fetch failed'); } }))).toBe(true);
    expect(await unavailable(fetchAttestation({ baseUrl: 'http://x', model: 'm', fetch: async () => new Response('busy', { status: 502 }) }))).toBe(true);
    const big = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(new Uint8Array(1024 * 1024));
      },
    });
    expect(await unavailable(fetchAttestation({ baseUrl: 'http://x', model: 'm', fetch: async () => new Response(big) }))).toBe(true);
    const declared = new Response('{}', { headers: { 'content-length': String(MAX_ATTESTATION_BYTES + 1) } });
    expect(await unavailable(fetchAttestation({ baseUrl: 'http://x', model: 'm', fetch: async () => declared }))).toBe(true);
    expect(await unavailable(fetchAttestation({ baseUrl: 'http://x', model: 'm', fetch: async () => new Response('<html>') }))).toBe(true);
  });
});
