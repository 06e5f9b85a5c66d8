import { describe, expect, it } from 'vitest';
import { FIELD_MODULUS, FieldError, fieldFromBytes, fieldToBytes, parseField, toFieldHex } from '../src/index.js';

const hex = (x: bigint) => `0x${x.toString(16).padStart(64, '0')}`;

describe('parseField', () => {
  it('accepts the canonical 32-byte hex form in either case', () => {
    expect(parseField(hex(42n))).toBe(42n);
    expect(parseField(hex(FIELD_MODULUS - 1n).toUpperCase().replace('0X', '0x'))).toBe(FIELD_MODULUS - 1n);
  });

  it.each([
    ['the modulus itself', hex(FIELD_MODULUS)],
    ['a value above the modulus (the same element + p)', hex(FIELD_MODULUS + 5n)],
    ['2^256 - 1', `0x${'f'.repeat(64)}`],
    ['a short hex string', '0x2a'],
    ['a 65-digit hex string', `0x0${'0'.repeat(62)}2a`],
    ['decimal', '42'],
    ['no prefix', '0'.repeat(62) + '2a'],
    ['a number', 42],
    ['a bigint', 42n],
    ['null', null],
    ['whitespace around', ` ${hex(1n)}`],
    ['non-hex digits', `0x${'g'.repeat(64)}`],
  ])('rejects %s', (_name, value) => {
    expect(() => parseField(value, 'root')).toThrow(FieldError);
    try {
      parseField(value, 'root');
    } catch (error) {
      expect((error as FieldError).code).toBe('invalid_field');
      expect((error as FieldError).shortMessage).toMatch(/^root /);
      expect((error as FieldError).param).toBe('root');
    }
  });

  it('round-trips through bytes and hex', () => {
    const x = FIELD_MODULUS - 12345n;
    expect(fieldFromBytes(fieldToBytes(x))).toBe(x);
    expect(parseField(toFieldHex(x))).toBe(x);
    expect(() => fieldFromBytes(fieldToBytes(0n).fill(0xff))).toThrow(FieldError);
    expect(() => toFieldHex(FIELD_MODULUS)).toThrow(FieldError);
  });
});
