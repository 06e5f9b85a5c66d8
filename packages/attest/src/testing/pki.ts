/**
 * A throwaway DCAP PKI for tests, shaped like Intel's SGX/TDX provisioning PKI:
 *
 *   root CA (self-signed)
 *   ├── PCK Platform CA ── PCK certificate (leaf, carries the SGX extension 1.2.840.113741.1.13.1)
 *   ├── PCK Processor CA (issues the leaf instead when `pckCa: 'processor'`)
 *   └── TCB Signing certificate (signs TCB info and QE identity)
 *
 * All keys are P-256, all signatures ECDSA-SHA256, as Intel's. Every name says "TEST … (not Intel)":
 * nothing here chains to Intel's real root, so only a verifier told to trust `rootCaDer` accepts it.
 *
 * The intermediate CAs' common names contain "SGX PCK Platform CA" / "SGX PCK Processor CA"
 * (Intel: "Intel SGX PCK Platform CA" / "… Processor CA"), so code that picks the PCK CRL by
 * looking for "Platform" / "Processor" in the leaf's issuer (Intel PCS's `ca=` parameter) finds the
 * right one. `@phala/dcap-qvl` 0.3.9 does not depend on it (its issuer detection always falls back to
 * `processor`, and verification checks every given CRL against every certificate).
 *
 * With `seed`, keys, serial numbers and signatures are deterministic (ECDSA per RFC 6979).
 */
import { p256 } from '@noble/curves/nist.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import {
  bits,
  bool,
  concat,
  enumerated,
  explicit,
  int,
  octets,
  oid,
  pem,
  printable,
  seq,
  set,
  time,
  tlv,
  uint,
  utf8,
} from './der.js';

const OID = {
  cn: '2.5.4.3',
  o: '2.5.4.10',
  c: '2.5.4.6',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  crlDistributionPoints: '2.5.29.31',
  crlNumber: '2.5.29.20',
  sgx: '1.2.840.113741.1.13.1',
} as const;

/** One certificate of the test PKI with its key. */
export interface TestCertificate {
  /** Common name of the subject. */
  commonName: string;
  der: Uint8Array;
  pem: string;
  /** Positive serial number, big-endian. */
  serial: Uint8Array;
  /** P-256 secret key of the subject (tests only). */
  secretKey: Uint8Array;
  /** Uncompressed P-256 public key (65 bytes). */
  publicKey: Uint8Array;
  /** DER of the subject Name (the issuer Name of what this certificate signs). */
  nameDer: Uint8Array;
  /** Subject key identifier (20 bytes). */
  keyId: Uint8Array;
}

/** The platform the PCK certificate describes and the quoting enclave (QE) that runs on it. */
export interface TestPlatform {
  /** Family-model-stepping-platform-customSKU, 6 bytes. */
  fmspc: Uint8Array;
  pceId: Uint8Array;
  ppid: Uint8Array;
  /** SGX TCB components (CPUSVN), 16 bytes, as in the PCK certificate. */
  cpuSvn: Uint8Array;
  pceSvn: number;
  /** TDX TCB components (TEE_TCB_SVN) of quotes from this platform, 16 bytes. */
  teeTcbSvn: Uint8Array;
  /** QE identifier placed in the quote header's user data. */
  qeId: Uint8Array;
  qe: { mrSigner: Uint8Array; mrEnclave: Uint8Array; isvProdId: number; isvSvn: number; attributes: Uint8Array; miscSelect: number };
}

export interface TestPki {
  root: TestCertificate;
  platformCa: TestCertificate;
  processorCa: TestCertificate;
  tcbSigning: TestCertificate;
  /** The PCK leaf certificate (its key signs QE reports). */
  pck: TestCertificate;
  /** Which intermediate issued `pck`. */
  pckCa: 'platform' | 'processor';
  /** DER of the root CA: hand it to the verifier as its trust anchor. */
  rootCaDer: Uint8Array;
  /** PEM chain as carried in quotes: PCK leaf, its CA, root. */
  pckChainPem: string;
  platform: TestPlatform;
  /** Fresh key material for callers that need more (e.g. attestation keys); deterministic with a seed. */
  deriveSecretKey(label: string): Uint8Array;
}

export interface TestPkiOptions {
  /** Makes every key, serial number and signature deterministic. */
  seed?: string | Uint8Array;
  /** Which intermediate issues the PCK certificate. Default `platform` (as on Venice's TDX hosts). */
  pckCa?: 'platform' | 'processor';
  /** FMSPC, 12 hex. Default `7E57F0000000` (not a real platform). */
  fmspc?: string;
  /** Certificate validity. Default 2020-01-01 to 2049-12-31T23:59:59Z. */
  notBefore?: Date;
  notAfter?: Date;
  /**
   * When set, certificates carry CRL distribution points mirroring Intel's URLs under this base:
   * root and intermediates → `<base>/IntelSGXRootCA.der`, PCK leaf → `<base>/sgx/certification/v4/pckcrl?ca=<ca>&encoding=der`.
   */
  crlBaseUrl?: string;
}

/** Default platform TCB: SGX components, PCESVN and TDX components of a current-looking platform. */
const DEFAULT_CPU_SVN = [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
const DEFAULT_PCE_SVN = 11;
const DEFAULT_TEE_TCB_SVN = [6, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

const enc = new TextEncoder();

function name(commonName: string): Uint8Array {
  const rdn = (type: string, value: Uint8Array) => set(seq(oid(type), value));
  return seq(rdn(OID.cn, utf8(commonName)), rdn(OID.o, utf8('zkcredits test PKI (not Intel Corporation)')), rdn(OID.c, printable('ZZ')));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

const sigAlg = () => seq(oid(OID.ecdsaWithSha256));

/** ECDSA-SHA256 signature in DER (as X.509 and CRLs carry it). */
export function signDer(data: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return p256.sign(data, secretKey, { format: 'der' });
}

/** ECDSA-SHA256 signature as raw r‖s (64 bytes), as quotes and Intel's collateral JSON carry it. */
export function signRaw(data: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return p256.sign(data, secretKey, { format: 'compact' });
}

function crlDistributionPoint(uri: string): Uint8Array {
  // DistributionPoint { distributionPoint [0] { fullName [0] { uniformResourceIdentifier [6] } } }
  return seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, enc.encode(uri))))));
}

/** The SGX PCK extension (Intel's layout: PPID, TCB, PCE-ID, FMSPC, SGX type, platform instance, configuration). */
function sgxExtension(p: TestPlatform, platformInstanceId: Uint8Array | undefined): Uint8Array {
  const tcb = `${OID.sgx}.2`;
  const components = Array.from(p.cpuSvn, (svn, i) => seq(oid(`${tcb}.${i + 1}`), int(svn)));
  const items = [
    seq(oid(`${OID.sgx}.1`), octets(p.ppid)),
    seq(oid(tcb), seq(...components, seq(oid(`${tcb}.17`), int(p.pceSvn)), seq(oid(`${tcb}.18`), octets(p.cpuSvn)))),
    seq(oid(`${OID.sgx}.3`), octets(p.pceId)),
    seq(oid(`${OID.sgx}.4`), octets(p.fmspc)),
    // SGX type: 0 Standard, 1 Scalable (TDX-capable server platforms are Scalable).
    seq(oid(`${OID.sgx}.5`), enumerated(1)),
  ];
  if (platformInstanceId) {
    const cfg = `${OID.sgx}.7`;
    items.push(
      seq(oid(`${OID.sgx}.6`), octets(platformInstanceId)),
      // Configuration: dynamic platform, cached keys, SMT enabled.
      seq(oid(cfg), seq(seq(oid(`${cfg}.1`), bool(true)), seq(oid(`${cfg}.2`), bool(true)), seq(oid(`${cfg}.3`), bool(true)))),
    );
  }
  return seq(...items);
}

interface IssueInput {
  commonName: string;
  serial: Uint8Array;
  secretKey: Uint8Array;
  issuer: { nameDer: Uint8Array; secretKey: Uint8Array; keyId: Uint8Array } | 'self';
  notBefore: Date;
  notAfter: Date;
  /** `undefined`: end entity. */
  pathLen?: number;
  extra?: Uint8Array[];
  crlUrl?: string;
}

function issue(input: IssueInput): TestCertificate {
  const publicKey = p256.getPublicKey(input.secretKey, false);
  const keyId = sha256(publicKey).subarray(0, 20);
  const nameDer = name(input.commonName);
  const issuer = input.issuer === 'self' ? { nameDer, secretKey: input.secretKey, keyId } : input.issuer;
  const isCa = input.pathLen !== undefined;
  const extensions = [
    extension(OID.authorityKeyId, false, seq(tlv(0x80, issuer.keyId))),
    ...(input.crlUrl ? [extension(OID.crlDistributionPoints, false, crlDistributionPoint(input.crlUrl))] : []),
    extension(OID.subjectKeyId, false, octets(keyId)),
    // keyCertSign | cRLSign for CAs; digitalSignature | nonRepudiation for end entities.
    extension(OID.keyUsage, true, isCa ? tlv(0x03, Uint8Array.of(1, 0x06)) : tlv(0x03, Uint8Array.of(6, 0xc0))),
    extension(OID.basicConstraints, true, isCa ? seq(bool(true), int(input.pathLen!)) : seq()),
    ...(input.extra ?? []),
  ];
  const spki = seq(seq(oid(OID.ecPublicKey), oid(OID.prime256v1)), bits(publicKey));
  const tbs = seq(
    explicit(0, int(2)),
    uint(input.serial),
    sigAlg(),
    issuer.nameDer,
    seq(time(input.notBefore), time(input.notAfter)),
    nameDer,
    spki,
    explicit(3, seq(...extensions)),
  );
  const der = seq(tbs, sigAlg(), bits(signDer(tbs, issuer.secretKey)));
  return { commonName: input.commonName, der, pem: pem('CERTIFICATE', der), serial: input.serial, secretKey: input.secretKey, publicKey, nameDer, keyId };
}

/** Builds the test PKI. Cheap (a few milliseconds): make one per test suite or per simulator. */
export function createTestPki(opts: TestPkiOptions = {}): TestPki {
  const seed = opts.seed === undefined ? randomBytes(32) : typeof opts.seed === 'string' ? enc.encode(opts.seed) : opts.seed;
  const material = (label: string, len: number) => sha512(concat(seed, enc.encode(`/zkcredits-test-pki/${label}`))).slice(0, len);
  const deriveSecretKey = (label: string) => p256.utils.randomSecretKey(material(`key/${label}`, 48));
  const serial = (label: string) => {
    const s = material(`serial/${label}`, 20);
    s[0] = (s[0]! & 0x7f) | 0x01; // positive, no leading zero
    return s;
  };
  const notBefore = opts.notBefore ?? new Date('2020-01-01T00:00:00Z');
  const notAfter = opts.notAfter ?? new Date('2049-12-31T23:59:59Z');
  const pckCa = opts.pckCa ?? 'platform';
  const fmspcHex = opts.fmspc ?? '7E57F0000000';
  if (!/^[0-9a-fA-F]{12}$/.test(fmspcHex)) throw new RangeError('fmspc must be 6 bytes as 12 hex characters');
  const base = opts.crlBaseUrl?.replace(/\/$/, '');
  const rootCrlUrl = base ? `${base}/IntelSGXRootCA.der` : undefined;

  const root = issue({
    commonName: 'zkcredits TEST SGX Root CA (not Intel)',
    serial: serial('root'),
    secretKey: deriveSecretKey('root'),
    issuer: 'self',
    notBefore,
    notAfter,
    pathLen: 1,
    ...(rootCrlUrl ? { crlUrl: rootCrlUrl } : {}),
  });
  const intermediate = (kind: 'Platform' | 'Processor') =>
    issue({
      commonName: `zkcredits TEST SGX PCK ${kind} CA (not Intel)`,
      serial: serial(kind),
      secretKey: deriveSecretKey(kind),
      issuer: root,
      notBefore,
      notAfter,
      pathLen: 0,
      ...(rootCrlUrl ? { crlUrl: rootCrlUrl } : {}),
    });
  const platformCa = intermediate('Platform');
  const processorCa = intermediate('Processor');
  const tcbSigning = issue({
    commonName: 'zkcredits TEST SGX TCB Signing (not Intel)',
    serial: serial('tcb-signing'),
    secretKey: deriveSecretKey('tcb-signing'),
    issuer: root,
    notBefore,
    notAfter,
    ...(rootCrlUrl ? { crlUrl: rootCrlUrl } : {}),
  });

  const platform: TestPlatform = {
    fmspc: hexToBytes(fmspcHex.toLowerCase()),
    pceId: Uint8Array.of(0, 0),
    ppid: material('ppid', 16),
    cpuSvn: Uint8Array.from(DEFAULT_CPU_SVN),
    pceSvn: DEFAULT_PCE_SVN,
    teeTcbSvn: Uint8Array.from(DEFAULT_TEE_TCB_SVN),
    qeId: material('qe-id', 16),
    qe: {
      mrSigner: sha256(enc.encode('zkcredits TEST TD quoting enclave signer (not Intel)')),
      mrEnclave: material('qe-mrenclave', 32),
      isvProdId: 2,
      isvSvn: 4,
      // INIT | MODE64BIT (debug clear); the upper 8 bytes are XFRM.
      attributes: Uint8Array.of(0x11, 0, 0, 0, 0, 0, 0, 0, 0xe7, 0, 0, 0, 0, 0, 0, 0),
      miscSelect: 0,
    },
  };
  const issuingCa = pckCa === 'platform' ? platformCa : processorCa;
  const pck = issue({
    commonName: 'zkcredits TEST SGX PCK Certificate (not Intel)',
    serial: serial('pck'),
    secretKey: deriveSecretKey('pck'),
    issuer: issuingCa,
    notBefore,
    notAfter,
    extra: [extension(OID.sgx, false, sgxExtension(platform, pckCa === 'platform' ? material('platform-instance', 16) : undefined))],
    ...(base ? { crlUrl: `${base}/sgx/certification/v4/pckcrl?ca=${pckCa}&encoding=der` } : {}),
  });

  return {
    root,
    platformCa,
    processorCa,
    tcbSigning,
    pck,
    pckCa,
    rootCaDer: root.der,
    pckChainPem: pck.pem + issuingCa.pem + root.pem,
    platform,
    deriveSecretKey,
  };
}

export interface TestCrlOptions {
  thisUpdate: Date;
  nextUpdate: Date;
  /** Serial numbers to list as revoked (revocation date = `thisUpdate`). */
  revoked?: Uint8Array[];
  /** CRL number extension. Default 1. */
  crlNumber?: number;
  /** Valid DER whose signature does not verify (one bit of the signature flipped). */
  tamper?: boolean;
}

/** A v2 CRL (RFC 5280) issued and signed by `issuer`, as DER. */
export function createTestCrl(issuer: TestCertificate, opts: TestCrlOptions): Uint8Array {
  const revoked = (opts.revoked ?? []).map((s) => seq(uint(s), time(opts.thisUpdate)));
  const tbs = seq(
    int(1),
    sigAlg(),
    issuer.nameDer,
    time(opts.thisUpdate),
    time(opts.nextUpdate),
    ...(revoked.length ? [seq(...revoked)] : []),
    explicit(0, seq(extension(OID.crlNumber, false, int(opts.crlNumber ?? 1)), extension(OID.authorityKeyId, false, seq(tlv(0x80, issuer.keyId))))),
  );
  const sig = signDer(tbs, issuer.secretKey);
  // The last byte belongs to s's value: flipping it keeps the DER valid and breaks the signature.
  if (opts.tamper) sig[sig.length - 1]! ^= 0x01;
  return seq(tbs, sigAlg(), bits(sig));
}
