// protocol/client-vectors.json is generated from core (scripts/gen-client-vectors.ts), so on
// its own it would only be a snapshot of core. This test recomputes it without core, from
// docs/PROTOCOL.md and other implementations:
//   - the signed text with another RFC 8785 implementation (json-canonicalize; core uses
//     canonicalize) and the header lines written out from the spec,
//   - its SHA-256 with node:crypto (core uses @noble/hashes),
//   - the zkc1 text form with bitcoinjs' bech32 (core uses @scure/base).
// The field hash H(TAG_REQUEST, chainId, contract, digest_hi, digest_lo), and the credentials'
// commitment and nullifier hash, are recomputed with the Solidity Poseidon2 by the forge test
// contracts/test/ClientVectors.t.sol, which reads the same file.
import { bech32m } from 'bech32';
import { canonicalize } from 'json-canonicalize';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type RequestVector = {
  chainId: number;
  contract: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body: Record<string, unknown>;
  signedText: string;
  digest: string;
  requestHash: string;
};
type CredentialVector = { nullifier: string; secret: string; encoded: string; commitment: string; nullifierHash: string };

const vectors = JSON.parse(readFileSync(new URL('../../../protocol/client-vectors.json', import.meta.url), 'utf8')) as {
  requestHash: RequestVector[];
  credentials: CredentialVector[];
};

// PROTOCOL.md, "Request binding": these headers, in this order, when present, as
// `name:value\n` with the name in lower case.
const SPEC_HEADERS = ['x-venice-tee-client-pub-key', 'x-venice-tee-model-pub-key', 'x-venice-tee-signing-algo'];

function signedText({ method, path, headers = {}, body }: RequestVector): string {
  const byName = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const lines = SPEC_HEADERS.filter((name) => byName.has(name))
    .map((name) => `${name}:${byName.get(name)}\n`)
    .join('');
  const { zkcredits: _proof, ...rest } = body;
  return `${method} ${path}\n${lines}${canonicalize(rest)}`;
}

// PROTOCOL.md, "Credentials and their text form": bech32m, hrp `zkc`, over
// 0x01 ‖ nullifier (31 bytes) ‖ secret (31 bytes), big-endian.
const ZKC_LIMIT = 200; // the text form is longer than BIP-173's 90-character default
const bytes31 = (hex: string) => Buffer.from(BigInt(hex).toString(16).padStart(62, '0'), 'hex');

describe('client vectors agree with independent implementations', () => {
  it('has vectors for bodies with a proof member, bound headers, unicode and number forms', () => {
    expect(vectors.requestHash.length).toBeGreaterThanOrEqual(4);
    expect(vectors.requestHash.some((v) => 'zkcredits' in v.body)).toBe(true);
    expect(vectors.requestHash.some((v) => v.headers !== undefined)).toBe(true);
    expect(vectors.credentials.length).toBeGreaterThanOrEqual(3);
  });

  it('signed text: METHOD PATH, the bound headers and a second RFC 8785 implementation (json-canonicalize)', () => {
    for (const v of vectors.requestHash) expect(signedText(v)).toBe(v.signedText);
  });

  it('digest: SHA-256 of the signed text by node:crypto', () => {
    for (const v of vectors.requestHash) {
      expect('0x' + createHash('sha256').update(signedText(v), 'utf8').digest('hex')).toBe(v.digest);
    }
  });

  it('zkc1 text form: decoded and re-encoded by bitcoinjs bech32m', () => {
    for (const c of vectors.credentials) {
      const { prefix, words } = bech32m.decode(c.encoded, ZKC_LIMIT);
      expect(prefix).toBe('zkc');
      const payload = Buffer.from(bech32m.fromWords(words));
      expect(payload.length).toBe(63);
      expect(payload[0]).toBe(1);
      expect(BigInt('0x' + payload.subarray(1, 32).toString('hex'))).toBe(BigInt(c.nullifier));
      expect(BigInt('0x' + payload.subarray(32).toString('hex'))).toBe(BigInt(c.secret));

      const written = Buffer.concat([Buffer.from([1]), bytes31(c.nullifier), bytes31(c.secret)]);
      expect(bech32m.encode('zkc', bech32m.toWords(written), ZKC_LIMIT)).toBe(c.encoded);
    }
  });
});
