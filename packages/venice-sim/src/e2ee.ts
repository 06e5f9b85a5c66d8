/**
 * Client side of Venice E2EE: fetch the model's TEE attestation, verify it,
 * encrypt chat messages to the attested enclave key, and decrypt the
 * (streamed) response. Works against the real Venice API and against the sim.
 *
 * @example
 * const session = await createE2eeSession({ baseUrl: `${sim.url}/api/v1`, apiKey, model: 'e2ee-qwen3-5-122b-a10b',
 *   trustedAuthorityKeys: [sim.authorityPublicKeyHex] });
 * const res = await fetch(`${base}/chat/completions`, { method: 'POST',
 *   headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...session.headers() },
 *   body: JSON.stringify({ model: session.model, messages: session.encryptMessages(messages), stream: true }) });
 * let text = ''; for await (const c of session.decryptSseStream(res.body!)) text += c.content;
 */
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import {
  decryptField,
  encryptField,
  ethereumAddress,
  generateKeyPair,
  looksEncrypted,
  parsePublicKey,
  type KeyPair,
} from '@zkcredits/attest/e2ee';
import { E2eeError } from './errors.js';
import { parseQuote, TDX_TEE_TYPE } from './quote.js';

export const E2EE_SIGNING_ALGO = 'ecdsa';

export const attestationResponseSchema = z
  .object({
    verified: z.boolean().optional(),
    nonce: z.string(),
    model: z.string(),
    tee_provider: z.string().optional(),
    intel_quote: z.string().optional(),
    nvidia_payload: z.unknown().optional(),
    signing_key: z.string().optional(),
    signing_public_key: z.string().optional(),
    signing_address: z.string().optional(),
  })
  .loose();
export type AttestationResponse = z.infer<typeof attestationResponseSchema>;

export interface VerifiedAttestation {
  model: string;
  nonce: string;
  /** Enclave secp256k1 public key (uncompressed hex) to encrypt to. */
  modelPublicKeyHex: string;
  signingAddress: string;
  measurementHex: string;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface FetchAttestationParameters {
  /** API base, e.g. `https://api.venice.ai/api/v1` or `${sim.url}/api/v1`. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** 32-byte hex nonce; random when absent. */
  nonce?: string;
  fetch?: FetchLike;
}

export async function fetchAttestation(p: FetchAttestationParameters): Promise<{ response: AttestationResponse; nonce: string }> {
  const nonce = p.nonce ?? bytesToHex(randomBytes(32));
  const url = `${p.baseUrl.replace(/\/$/, '')}/tee/attestation?model=${encodeURIComponent(p.model)}&nonce=${nonce}`;
  let res: Response;
  try {
    res = await (p.fetch ?? fetch)(url, { headers: p.apiKey ? { authorization: `Bearer ${p.apiKey}` } : {} });
  } catch (cause) {
    throw new E2eeError('ATTESTATION_FETCH_FAILED', 'Could not reach the attestation endpoint.', { details: url, cause });
  }
  if (!res.ok) {
    throw new E2eeError('ATTESTATION_FETCH_FAILED', `Attestation endpoint answered HTTP ${res.status}.`, {
      details: `GET ${url}: check the model supports TEE attestation`,
    });
  }
  const parsed = attestationResponseSchema.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) {
    throw new E2eeError('ATTESTATION_INVALID', 'Attestation response has an unexpected shape.', { details: parsed.error.message });
  }
  return { response: parsed.data, nonce };
}

export interface VerifyAttestationExpectations {
  nonce: string;
  model: string;
  /**
   * Uncompressed P-256 keys (hex) trusted to sign quotes. For the sim this is
   * `sim.authorityPublicKeyHex`; the real Venice chain ends at Intel's root CA (not implemented here).
   */
  trustedAuthorityKeys: readonly string[];
  /** Optional allowlisted TD measurement (mrTd hex). */
  expectedMeasurementHex?: string;
}

/**
 * Checks, in order: nonce echo, model, server verdict, quote shape (TDX, not debug),
 * quote signature by a trusted authority, REPORTDATA binding of the signing key's
 * address and of the nonce. Throws a typed E2eeError on the first failure.
 */
export function verifyAttestation(response: AttestationResponse, expect: VerifyAttestationExpectations): VerifiedAttestation {
  if (response.nonce.toLowerCase() !== expect.nonce.toLowerCase()) {
    throw new E2eeError('ATTESTATION_NONCE_MISMATCH', 'Attestation nonce does not match the request nonce.', {
      details: `sent ${expect.nonce}, got ${response.nonce}: possible replay, fetch again with a fresh nonce`,
    });
  }
  if (response.model !== expect.model) {
    throw new E2eeError('ATTESTATION_MODEL_MISMATCH', 'Attestation is for another model.', {
      details: `expected ${expect.model}, got ${response.model}`,
    });
  }
  if (response.verified !== true) {
    throw new E2eeError('ATTESTATION_INVALID', 'Server-side attestation verification did not pass.', { details: `verified=${String(response.verified)}` });
  }
  const signingKey = response.signing_key ?? response.signing_public_key;
  if (!signingKey || !response.intel_quote) {
    throw new E2eeError('ATTESTATION_INVALID', 'Attestation lacks signing_key or intel_quote.');
  }
  const modelPublicKeyHex = bytesToHex(parsePublicKey(signingKey));
  let quote;
  try {
    quote = parseQuote(new Uint8Array(Buffer.from(response.intel_quote, 'base64')));
  } catch (cause) {
    throw new E2eeError('ATTESTATION_INVALID', 'Could not parse the TDX quote.', { details: (cause as Error).message, cause });
  }
  if (quote.teeType !== TDX_TEE_TYPE) {
    throw new E2eeError('ATTESTATION_INVALID', 'Quote is not a TDX quote.', { details: `teeType=0x${quote.teeType.toString(16)}, expected 0x81` });
  }
  if (quote.debug) throw new E2eeError('ATTESTATION_DEBUG_ENCLAVE', 'TDX debug mode detected: the enclave can be inspected, refusing it.');
  if (!quote.signatureValid) throw new E2eeError('ATTESTATION_QUOTE_SIGNATURE_INVALID', 'Quote signature is invalid.');
  const trusted = expect.trustedAuthorityKeys.map((k) => k.toLowerCase().replace(/^0x/, ''));
  if (!trusted.includes(quote.attestationKeyHex)) {
    throw new E2eeError('ATTESTATION_UNTRUSTED_AUTHORITY', 'Quote is signed by an untrusted attestation key.', {
      details: `attestation key ${quote.attestationKeyHex.slice(0, 18)}… is not in trustedAuthorityKeys`,
    });
  }
  const address = ethereumAddress(modelPublicKeyHex);
  if (bytesToHex(quote.reportData.subarray(0, 20)) !== address.slice(2)) {
    throw new E2eeError('ATTESTATION_KEY_NOT_BOUND', 'Signing key is not bound to the enclave (REPORTDATA address mismatch).');
  }
  if (response.signing_address && response.signing_address.toLowerCase() !== address) {
    throw new E2eeError('ATTESTATION_KEY_NOT_BOUND', 'signing_address does not derive from signing_key.', {
      details: `derived ${address}, got ${response.signing_address}`,
    });
  }
  if (bytesToHex(quote.reportData.subarray(32, 64)) !== expect.nonce.toLowerCase()) {
    throw new E2eeError('ATTESTATION_NONCE_MISMATCH', 'Nonce is not bound in the quote REPORTDATA.');
  }
  if (expect.expectedMeasurementHex && quote.measurementHex !== expect.expectedMeasurementHex.toLowerCase()) {
    throw new E2eeError('ATTESTATION_INVALID', 'Enclave measurement is not allowlisted.', {
      details: `mrTd ${quote.measurementHex.slice(0, 16)}…`,
    });
  }
  return { model: response.model, nonce: response.nonce, modelPublicKeyHex, signingAddress: address, measurementHex: quote.measurementHex };
}

export interface ChatMessageLike {
  role: string;
  content?: string | null | unknown;
  [k: string]: unknown;
}

export interface DecryptedChunk {
  /** Decrypted text of this chunk ('' for role/finish/usage chunks). */
  content: string;
  finishReason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
}

export interface E2eeSession {
  readonly model: string;
  readonly clientPublicKeyHex: string;
  readonly attestation: VerifiedAttestation;
  /** The three Venice E2EE request headers. */
  headers(): Record<string, string>;
  /** Encrypts every string `content` (all roles) to the enclave key; each with a fresh ephemeral key. */
  encryptMessages<T extends ChatMessageLike>(messages: readonly T[]): T[];
  /** Decrypts one encrypted `delta.content`. Plaintext is refused unless `allowPlaintext`. */
  decryptContent(content: string): string;
  /** Parses an SSE body, decrypting each content delta; throws if it ends before `[DONE]`. */
  decryptSseStream(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<DecryptedChunk>;
  /** Zero the client secret key; the session is unusable afterwards. */
  destroy(): void;
}

export function createE2eeSessionFromAttestation(attestation: VerifiedAttestation, opts: { allowPlaintext?: boolean } = {}): E2eeSession {
  const kp: KeyPair = generateKeyPair();
  let destroyed = false;
  const live = () => {
    if (destroyed) throw new E2eeError('DECRYPT_FAILED', 'E2EE session was destroyed.');
  };
  const decryptContent = (content: string): string => {
    live();
    if (content === '') return '';
    if (!looksEncrypted(content)) {
      if (opts.allowPlaintext) return content;
      throw new E2eeError('STREAM_INVALID', 'Received plaintext where ciphertext was expected.', {
        details: `content of ${content.length} chars is not an E2EE payload; refusing it (fail closed)`,
      });
    }
    return decryptField(content, kp.secretKey);
  };
  return {
    model: attestation.model,
    clientPublicKeyHex: kp.publicKeyHex,
    attestation,
    headers: () => ({
      'X-Venice-TEE-Client-Pub-Key': kp.publicKeyHex,
      'X-Venice-TEE-Model-Pub-Key': attestation.modelPublicKeyHex,
      'X-Venice-TEE-Signing-Algo': E2EE_SIGNING_ALGO,
    }),
    encryptMessages(messages) {
      live();
      return messages.map((m) => {
        let c = m.content;
        if (Array.isArray(c)) c = c.map((p: { text?: string }) => p.text ?? '').join('\n');
        return typeof c === 'string' ? { ...m, content: encryptField(c, attestation.modelPublicKeyHex) } : { ...m };
      });
    },
    decryptContent,
    async *decryptSseStream(body) {
      const decoder = new TextDecoder();
      let buf = '';
      let done = false;
      const handle = (line: string): DecryptedChunk | undefined => {
        if (!line.startsWith('data:')) return undefined;
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          done = true;
          return undefined;
        }
        let ev: { choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[]; usage?: DecryptedChunk['usage'] | null; error?: unknown };
        try {
          ev = JSON.parse(data);
        } catch (cause) {
          throw new E2eeError('STREAM_INVALID', 'Malformed SSE event.', { cause });
        }
        const choice = ev.choices?.[0];
        return {
          content: decryptContent(choice?.delta?.content ?? ''),
          finishReason: choice?.finish_reason ?? null,
          usage: ev.usage ?? undefined,
        };
      };
      for await (const bytes of body as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(bytes, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          const c = handle(line);
          if (c) yield c;
          if (done) return;
        }
      }
      if (buf.trim()) {
        const c = handle(buf.trim());
        if (c) yield c;
      }
      if (!done) throw new E2eeError('STREAM_INVALID', 'Stream ended before [DONE].', { details: 'the connection was cut mid-response' });
    },
    destroy() {
      kp.secretKey.fill(0);
      destroyed = true;
    },
  };
}

export interface CreateE2eeSessionParameters extends Omit<FetchAttestationParameters, 'nonce'> {
  trustedAuthorityKeys: readonly string[];
  expectedMeasurementHex?: string;
  allowPlaintext?: boolean;
}

/** fetchAttestation → verifyAttestation → fresh client key pair. */
export async function createE2eeSession(p: CreateE2eeSessionParameters): Promise<E2eeSession> {
  const { response, nonce } = await fetchAttestation(p);
  const verified = verifyAttestation(response, {
    nonce,
    model: p.model,
    trustedAuthorityKeys: p.trustedAuthorityKeys,
    ...(p.expectedMeasurementHex ? { expectedMeasurementHex: p.expectedMeasurementHex } : {}),
  });
  return createE2eeSessionFromAttestation(verified, p.allowPlaintext ? { allowPlaintext: true } : {});
}

