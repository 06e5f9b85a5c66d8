/**
 * Fetching an attestation with a fresh nonce. `baseUrl` is the API base: the zkcredits server
 * (`https://…/v1`, route `/v1/tee/attestation`) or Venice (`https://api.venice.ai/api/v1`).
 */
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { AttestError } from './errors.js';

/** Largest attestation response read (real ones are ~20–200 KB with GPU evidence). */
export const MAX_ATTESTATION_BYTES = 4 * 1024 * 1024;

export type FetchAttestationParams = {
  baseUrl: string;
  model: string;
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  signal?: AbortSignal;
  /** Extra request headers (e.g. Venice's `authorization`). Never logged. */
  headers?: Record<string, string>;
};

async function readCapped(res: Response, url: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  const tooLarge = () =>
    new AttestError('attestation_unavailable', 'The attestation response is too large.', { details: `GET ${url}: more than ${MAX_ATTESTATION_BYTES} bytes` });
  if (declared > MAX_ATTESTATION_BYTES) throw tooLarge();
  if (!res.body) return res.text();
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_ATTESTATION_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    parts.push(value);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * GETs `${baseUrl}/tee/attestation?model=…&nonce=…` with a fresh random 32-byte nonce. Returns the
 * parsed JSON (unverified: pass it to `verifyAttestation` with the nonce). Throws
 * `attestation_unavailable` on network errors, non-2xx answers, oversized or non-JSON bodies.
 */
export async function fetchAttestation(p: FetchAttestationParams): Promise<{ response: unknown; nonce: string }> {
  const nonce = bytesToHex(randomBytes(32));
  const url = `${p.baseUrl.replace(/\/+$/, '')}/tee/attestation?model=${encodeURIComponent(p.model)}&nonce=${nonce}`;
  let res: Response;
  try {
    res = await (p.fetch ?? globalThis.fetch)(url, { headers: { accept: 'application/json', ...p.headers }, ...(p.signal ? { signal: p.signal } : {}) });
  } catch (cause) {
    throw new AttestError('attestation_unavailable', 'Could not reach the attestation endpoint.', { details: `GET ${url}`, cause });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new AttestError('attestation_unavailable', `The attestation endpoint answered HTTP ${res.status}.`, {
      details: `GET ${url}: is ${p.model} a TEE model, and is the base URL right?`,
    });
  }
  const text = await readCapped(res, url);
  try {
    return { response: JSON.parse(text) as unknown, nonce };
  } catch (cause) {
    throw new AttestError('attestation_unavailable', 'The attestation endpoint did not answer JSON.', { details: `GET ${url}`, cause });
  }
}
