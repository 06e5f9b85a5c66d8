// A minimal DER writer: just the ASN.1 types the test PKI needs (X.509 certificates, CRLs,
// Intel's SGX PCK extension). Each function returns the complete TLV.

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV with tag byte `tag`. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(...content);
  return concat(Uint8Array.of(tag), length(body.length), body);
}

export const seq = (...items: Uint8Array[]) => tlv(0x30, ...items);
export const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
export const octets = (b: Uint8Array) => tlv(0x04, b);
export const bool = (v: boolean) => tlv(0x01, Uint8Array.of(v ? 0xff : 0x00));
export const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
export const printable = (s: string) => tlv(0x13, new TextEncoder().encode(s));
/** A context-specific constructed (EXPLICIT) tag `[n]`. */
export const explicit = (n: number, ...content: Uint8Array[]) => tlv(0xa0 | n, ...content);
/** A BIT STRING with no unused bits. */
export const bits = (b: Uint8Array) => tlv(0x03, Uint8Array.of(0), b);

/** An INTEGER from unsigned big-endian bytes (minimal, with a 0x00 pad when the top bit is set). */
export function uint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return tlv(0x02, (v[0] ?? 0) & 0x80 ? concat(Uint8Array.of(0), v) : v.length ? v : Uint8Array.of(0));
}

/** A small non-negative INTEGER. */
export function int(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return uint(Uint8Array.from(bytes.length ? bytes : [0]));
}

/** ENUMERATED (small non-negative values). */
export function enumerated(n: number): Uint8Array {
  const i = int(n);
  i[0] = 0x0a;
  return i;
}

/** An OBJECT IDENTIFIER from dotted notation. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number) => {
    const chunk: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift(0x80 | (x & 0x7f));
    out.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Uint8Array.from(out));
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'; // YYYYMMDDHHMMSSZ
  const year = d.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError(`time out of range: ${iso}`);
  return year < 2050 ? tlv(0x17, new TextEncoder().encode(digits.slice(2))) : tlv(0x18, new TextEncoder().encode(digits));
}

/** PEM armour for DER bytes (64-character lines, trailing newline). */
export function pem(label: string, der: Uint8Array): string {
  let bin = '';
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin);
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}
