/**
 * Intel DCAP verification of a TDX quote with `@phala/dcap-qvl` (the only module that imports it,
 * so the verifier stays lazily loadable): the quote signature by the attestation key, the QE
 * report signed by the PCK certificate, the PCK chain to the root, TCB info and QE identity
 * signatures and freshness, and the platform's TCB status. Our own CRL checks (src/crl.ts) run
 * alongside, because dcap-qvl 0.3.9 does not check CRL signatures or freshness.
 */
import qvl from '@phala/dcap-qvl';
import { AttestError } from './errors.js';
import type { Collateral, TcbStatus } from './types.js';
import { commonName, parseCertificate } from './x509.js';

/**
 * The Buffer class dcap-qvl itself uses (Node's, or the `buffer` package in a browser bundle):
 * its ASN.1 decoder refuses plain Uint8Arrays, and src/ must not rely on a global Buffer.
 */
const QvlBuffer = qvl.constants.TRUSTED_ROOT_CA_DER.constructor as typeof Buffer;

/** DER of Intel's SGX/TDX production root CA (as bundled with dcap-qvl). */
export function intelRootCaDer(): Uint8Array {
  return new Uint8Array(qvl.constants.TRUSTED_ROOT_CA_DER);
}

type PckChain = {
  /** PCK leaf certificate, DER. */
  leafDer: Uint8Array;
  /** The PCK CA that issued it (Platform or Processor CA), DER. */
  intermediateDer: Uint8Array;
  /** Platform family (6 bytes, lowercase hex), from the PCK certificate's SGX extension. */
  fmspc: string;
  ca: 'platform' | 'processor';
};

const bytesToHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * Reads the PCK certificate chain from the quote's certification data (type 5, PEM) and the FMSPC
 * and issuing CA from it, which say which collateral applies. Throws a plain Error with the reason.
 */
export function readPckChain(quote: Uint8Array): PckChain {
  const certs = qvl.utils.extractCerts(QvlBuffer.from(qvl.Quote.parse(QvlBuffer.from(quote)).rawCertChain()));
  if (certs.length < 2) throw new Error(`the quote carries ${certs.length} PCK certificate(s), expected the PCK certificate and its CA`);
  const leafDer = new Uint8Array(certs[0]!);
  const fmspc = bytesToHex(new Uint8Array(qvl.utils.getFmspc(qvl.utils.getIntelExtension(QvlBuffer.from(leafDer)))));
  const issuer = commonName(parseCertificate(leafDer).tbsCertificate.issuer);
  // Intel's CAs are "Intel SGX PCK Platform CA" / "Intel SGX PCK Processor CA"; the name only picks
  // the collateral (trust comes from the chain to the root), so a test PKI may prefix its own.
  const ca = /\bPCK Platform CA\b/.test(issuer) ? 'platform' : /\bPCK Processor CA\b/.test(issuer) ? 'processor' : undefined;
  if (!ca) throw new Error(`the PCK certificate is issued by "${issuer}", not an Intel SGX PCK Platform or Processor CA`);
  return { leafDer, intermediateDer: new Uint8Array(certs[1]!), fmspc, ca };
}

function parseWindow(label: string, json: string): { issueDate: Date; nextUpdate: Date } {
  let v: { issueDate?: unknown; nextUpdate?: unknown };
  try {
    v = JSON.parse(json) as typeof v;
  } catch (cause) {
    throw new AttestError('collateral_unavailable', `The DCAP collateral's ${label} does not parse.`, { cause });
  }
  const issueDate = new Date(String(v.issueDate));
  const nextUpdate = new Date(String(v.nextUpdate));
  if (Number.isNaN(issueDate.getTime()) || Number.isNaN(nextUpdate.getTime())) {
    throw new AttestError('collateral_unavailable', `The DCAP collateral's ${label} has no valid issueDate/nextUpdate.`);
  }
  return { issueDate, nextUpdate };
}

function expired(what: string, nextUpdate: string, now: Date): AttestError {
  return new AttestError('collateral_expired', 'The DCAP collateral has expired: refresh it.', {
    details:
      `${what} was valid until ${nextUpdate}, it is ${now.toISOString()}. ` +
      'Fetch fresh collateral (the zkcredits server serves it at GET /v1/tee/collateral?fmspc=…); verification fails closed until then.',
  });
}

/**
 * The TCB info and QE identity validity windows. Throws `collateral_expired` after `nextUpdate`
 * (fail closed, refresh the collateral) and `collateral_unavailable` when they do not parse.
 * Returns the earlier `nextUpdate`.
 */
export function collateralWindow(c: Collateral, now: Date): Date {
  const tcb = parseWindow('TCB info', c.tcb_info);
  const qe = parseWindow('QE identity', c.qe_identity);
  if (now > tcb.nextUpdate) throw expired('The TCB info', tcb.nextUpdate.toISOString(), now);
  if (now > qe.nextUpdate) throw expired('The QE identity', qe.nextUpdate.toISOString(), now);
  return tcb.nextUpdate < qe.nextUpdate ? tcb.nextUpdate : qe.nextUpdate;
}

type DcapOutcome =
  /** Every signature and the chain verified; `status` is the platform's TCB status. */
  | { ok: true; status: TcbStatus; advisoryIds: string[] }
  /** Verification failed (`reason` is dcap-qvl's message); `status` when only the TCB status was refused. */
  | { ok: false; reason: string; status?: TcbStatus };

const KNOWN_STATUSES: readonly string[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];

/**
 * Runs dcap-qvl's `QuoteVerifier` with `rootCaDer` as the trust anchor. Only the collateral's
 * nine standard fields are passed on (a `pck_certificate_chain` from a collateral source would
 * replace the quote's own chain). Expired TCB info / QE identity throw `collateral_expired`.
 */
export function verifyQuoteDcap(quote: Uint8Array, c: Collateral, now: Date, rootCaDer: Uint8Array): DcapOutcome {
  const collateral = {
    pck_crl_issuer_chain: c.pck_crl_issuer_chain,
    root_ca_crl: c.root_ca_crl,
    pck_crl: c.pck_crl,
    tcb_info_issuer_chain: c.tcb_info_issuer_chain,
    tcb_info: c.tcb_info,
    tcb_info_signature: c.tcb_info_signature,
    qe_identity_issuer_chain: c.qe_identity_issuer_chain,
    qe_identity: c.qe_identity,
    qe_identity_signature: c.qe_identity_signature,
  };
  try {
    const verifier = qvl.QuoteVerifier.newWithRootCa(QvlBuffer.from(rootCaDer));
    const r = verifier.verify(QvlBuffer.from(quote), collateral as never, Math.floor(now.getTime() / 1000));
    const status = String(r.status);
    if (!KNOWN_STATUSES.includes(status)) return { ok: false, reason: `unknown TCB status ${JSON.stringify(status)}` };
    return { ok: true, status: status as TcbStatus, advisoryIds: [...(r.advisory_ids ?? [])].map(String) };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    if (reason === 'TCBInfo expired' || reason === 'QE Identity expired') {
      throw expired(reason.startsWith('TCB') ? 'The TCB info' : 'The QE identity', 'its nextUpdate', now);
    }
    const refused = /^TCB status is invalid: (\w+)$/.exec(reason);
    if (refused && KNOWN_STATUSES.includes(refused[1]!)) return { ok: false, reason, status: refused[1] as TcbStatus };
    return { ok: false, reason };
  }
}
