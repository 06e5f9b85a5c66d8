/**
 * The few X.509 operations the CRL checks need, on `@peculiar/asn1-x509` structures and Noble
 * P-256: parse a certificate or CRL, read a name's common name, compare names, read an EC key,
 * verify an ECDSA-SHA256 signature made by a certificate's key. Browser-safe.
 */
import { p256 } from '@noble/curves/nist.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificateList, Name } from '@peculiar/asn1-x509';

/** ecdsa-with-SHA256 (RFC 5758). */
export const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
/** id-ecPublicKey and the P-256 curve. */
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** DER of the OBJECT IDENTIFIER 1.2.840.10045.3.1.7 (P-256), the named-curve parameter. */
const DER_OID_P256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
const OID_CN = '2.5.4.3';

export function parseCertificate(der: Uint8Array): Certificate {
  return AsnConvert.parse(der, Certificate);
}

export function parseCrl(der: Uint8Array): CertificateList {
  return AsnConvert.parse(der, CertificateList);
}

/** The CN of a distinguished name, or '' when it has none. */
export function commonName(name: Name): string {
  for (const rdn of name) {
    for (const atv of rdn) if (atv.type === OID_CN) return atv.value.toString();
  }
  return '';
}

/** Distinguished names compared by their DER encoding. */
export function sameName(a: Name, b: Name): boolean {
  return bytesEqual(new Uint8Array(AsnConvert.serialize(a)), new Uint8Array(AsnConvert.serialize(b)));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A serial number's bytes without leading zero octets (DER integers may carry one). */
export function serialKey(serial: ArrayBuffer | Uint8Array): string {
  const b = serial instanceof Uint8Array ? serial : new Uint8Array(serial);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return Array.from(b.subarray(i), (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The uncompressed P-256 public key of a certificate; throws if it is not one. */
export function p256KeyOf(cert: Certificate): Uint8Array {
  const spki = cert.tbsCertificate.subjectPublicKeyInfo;
  const params = spki.algorithm.parameters ? new Uint8Array(spki.algorithm.parameters) : new Uint8Array();
  if (spki.algorithm.algorithm !== OID_EC_PUBLIC_KEY || !bytesEqual(params, DER_OID_P256)) {
    throw new Error(`certificate key is not an EC P-256 key (algorithm ${spki.algorithm.algorithm})`);
  }
  return new Uint8Array(spki.subjectPublicKey);
}

/** ECDSA-SHA256 over `data` with a DER signature, by `publicKey` (uncompressed P-256). High-S allowed (X.509 signers do not normalise S). */
export function verifyEcdsaSha256(publicKey: Uint8Array, data: Uint8Array, derSignature: Uint8Array): boolean {
  try {
    return p256.verify(derSignature, data, publicKey, { format: 'der', lowS: false, prehash: true });
  } catch {
    return false;
  }
}

/** Checks that `cert` was signed (ECDSA-SHA256) by the key of `issuer`. */
export function certSignedBy(cert: Certificate, issuer: Certificate): boolean {
  if (cert.signatureAlgorithm.algorithm !== OID_ECDSA_SHA256 || !cert.tbsCertificateRaw) return false;
  try {
    return verifyEcdsaSha256(p256KeyOf(issuer), new Uint8Array(cert.tbsCertificateRaw), new Uint8Array(cert.signatureValue));
  } catch {
    return false;
  }
}

/** The DER bodies of the PEM certificates in `pem`, in order. */
export function pemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(pem); m; m = re.exec(pem)) {
    const bin = atob(m[1]!.replace(/\s+/g, ''));
    const der = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
    out.push(der);
  }
  return out;
}
