// Reading untrusted attestation responses: every live shape, both quote encodings, size limits.
import { isZkCreditsError } from '@zkcredits/core/errors';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { decodeQuote, parseAttestationResponse, parseTdxQuote } from '../src/index.js';
import { realFixture } from './helpers.js';

const { quote } = realFixture();
const b64 = Buffer.from(quote).toString('base64');
const b64url = Buffer.from(quote).toString('base64url');
const malformed = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isZkCreditsError(e, 'attestation_malformed');
  }
  return false;
};

describe('decodeQuote', () => {
  it('reads hex, 0x-hex, upper-case hex, base64 and base64url to the same bytes, and says which', () => {
    for (const [s, enc] of [
      [bytesToHex(quote), 'hex'],
      [`0x${bytesToHex(quote)}`, 'hex'],
      [bytesToHex(quote).toUpperCase(), 'hex'],
      [b64, 'base64'],
      [b64url, 'base64'],
      [b64.replace(/=+$/, ''), 'base64'],
    ] as const) {
      const d = decodeQuote(s);
      expect(d.encoding).toBe(enc);
      expect(bytesToHex(d.bytes)).toBe(bytesToHex(quote));
    }
  });

  it('throws on a string that is neither', () => {
    expect(() => decodeQuote('not a quote!')).toThrow();
  });
});

describe('parseTdxQuote', () => {
  it('reads the real sample: TDX v4, debug off, SEPT_VE_DISABLE set, measurements and REPORTDATA at their offsets', () => {
    const q = parseTdxQuote(quote);
    expect(q).toMatchObject({ version: 4, teeType: 0x81, debug: false, tdAttributes: '0000001000000000', signedLength: 632 });
    expect(q.measurements.mrTd).toBe(bytesToHex(quote.subarray(48 + 136, 48 + 184)));
    expect(q.measurements.rtmr3).toBe(bytesToHex(quote.subarray(48 + 472, 48 + 520)));
    expect(bytesToHex(q.reportData)).toBe(bytesToHex(quote.subarray(568, 632)));
  });

  it('refuses a short quote, another version, another TEE type, and signature data past the end', () => {
    const bad = (at: number, v: number) => {
      const c = quote.slice();
      c[at] = v;
      return c;
    };
    expect(malformed(() => parseTdxQuote(quote.subarray(0, 635)))).toBe(true);
    expect(malformed(() => parseTdxQuote(bad(0, 3)))).toBe(true);
    expect(malformed(() => parseTdxQuote(bad(4, 0)))).toBe(true);
    expect(malformed(() => parseTdxQuote(bad(635, 0x7f)))).toBe(true);
    expect(malformed(() => parseTdxQuote(new Uint8Array(70_000)))).toBe(true);
  });
});

describe('parseAttestationResponse', () => {
  const flat = {
    verified: true,
    nonce: 'ab'.repeat(32),
    model: 'e2ee-glm-5',
    tee_provider: 'near-ai',
    intel_quote: b64,
    signing_key: '04' + '11'.repeat(64),
    signing_address: '0x' + '22'.repeat(20),
    nvidia_payload: '{"nonce":"ab","arch":"HOPPER","evidence_list":[]}',
    server_verification: { tdx: { valid: true } },
    // live extras are kept out of the way
    event_log: [{ imr: 0 }],
    candidates_evaluated: 3,
  };

  it('reads the flat Venice shape (base64 quote, signing_key)', () => {
    const a = parseAttestationResponse(flat);
    expect(a).toMatchObject({ shape: 'flat', quoteEncoding: 'base64', teeProvider: 'near-ai', signingKey: flat.signing_key, hasNvidiaPayload: true });
    expect(a.quote?.length).toBe(quote.length);
  });

  it('prefers signing_public_key over signing_key', () => {
    expect(parseAttestationResponse({ ...flat, signing_public_key: '04' + '33'.repeat(64) }).signingKey).toBe('04' + '33'.repeat(64));
  });

  it('reads the aci/1 envelope: attestation.evidence.quote (hex) first, root fields', () => {
    const a = parseAttestationResponse({
      api_version: 'aci/1',
      verified: true,
      nonce: flat.nonce,
      model: flat.model,
      tee_provider: 'phala',
      debug: false,
      signing_public_key: flat.signing_key,
      signing_address: flat.signing_address,
      nvidia_payload: null,
      intel_quote: 'ignored because evidence.quote wins',
      attestation: { tee_type: 'tdx', evidence: { quote: bytesToHex(quote), quote_report_data: '00', app_compose: '{}' } },
    });
    expect(a).toMatchObject({ shape: 'aci/1', quoteEncoding: 'hex', debugFlag: false, appCompose: '{}', hasNvidiaPayload: false });
    expect(a.quote?.length).toBe(quote.length);
  });

  it('records an undecodable or absent quote (a failed check later), not a malformed response', () => {
    expect(parseAttestationResponse({ ...flat, intel_quote: '%%%' })).toMatchObject({ quote: undefined, quoteEncoding: 'none', quoteError: expect.any(String) });
    expect(parseAttestationResponse({ ...flat, intel_quote: undefined })).toMatchObject({ quote: undefined, quoteEncoding: 'none', quoteError: undefined });
  });

  it('throws attestation_malformed for non-objects, wrong types, missing nonce/model, oversized fields, unknown versions and non-TDX envelopes', () => {
    for (const bad of [
      null,
      'x',
      [],
      { ...flat, nonce: undefined },
      { ...flat, model: 42 },
      { ...flat, verified: 'true' },
      { ...flat, intel_quote: 'A'.repeat(140_000) },
      { ...flat, signing_key: 'a'.repeat(1000) },
      { ...flat, server_verification: 'ok' },
      { ...flat, api_version: 'aci/2' },
      { ...flat, attestation: { tee_type: 'sev-snp', evidence: {} } },
    ]) {
      expect(malformed(() => parseAttestationResponse(bad)), JSON.stringify(bad)?.slice(0, 60)).toBe(true);
    }
  });
});
