import { describe, expect, it } from 'vitest';
import { CredentialError, decodeCredential, encodeCredential, generateCredential } from '../src/index.js';

describe('credentials', () => {
  it('generates distinct non-zero 248-bit secrets', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 200; i++) {
      const { nullifier, secret } = generateCredential();
      for (const x of [nullifier, secret]) {
        expect(x > 0n && x < 1n << 248n).toBe(true);
        expect(seen.has(x)).toBe(false);
        seen.add(x);
      }
    }
  });

  it('round-trips through the zkc1 text form', () => {
    const credential = generateCredential();
    const text = encodeCredential(credential);
    expect(text).toMatch(/^zkc1[02-9ac-hj-np-z]+$/);
    expect(decodeCredential(text)).toEqual(credential);
    expect(decodeCredential(`  ${text}\n`)).toEqual(credential);
  });

  it('detects a single mistyped character by its checksum', () => {
    const text = encodeCredential(generateCredential());
    for (const position of [5, 40, text.length - 1]) {
      const swapped = text[position] === 'q' ? 'p' : 'q';
      const typo = text.slice(0, position) + swapped + text.slice(position + 1);
      expect(() => decodeCredential(typo)).toThrow(CredentialError);
    }
  });

  it('rejects other prefixes, truncation and non-strings', () => {
    const text = encodeCredential(generateCredential());
    expect(() => decodeCredential(text.replace(/^zkc1/, 'zkx1'))).toThrow(CredentialError);
    expect(() => decodeCredential(text.slice(0, -10))).toThrow(CredentialError);
    expect(() => decodeCredential(42)).toThrow(CredentialError);
    expect(() => decodeCredential('x'.repeat(500))).toThrow(/zkc1/);
  });
});
