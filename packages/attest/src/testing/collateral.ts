/**
 * DCAP collateral for quotes of the test PKI, in the shapes Intel PCS v4 serves:
 * TCB info v3 (`id: "TDX"`) and QE identity v2 (`id: "TD_QE"`) as compact JSON signed by the TCB
 * signing key (signature = hex of raw r‖s), CRLs as DER, issuer chains as PEM.
 *
 * Faults for tests: a TCB status for the platform, a revoked PCK certificate, expired TCB info and
 * QE identity, a stale or tampered CRL.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Collateral, TcbStatus } from '../types.js';
import { createTestCrl, signRaw, type TestCertificate, type TestPki } from './pki.js';

const DAY_MS = 86_400_000;

export interface TestCollateralOptions {
  /** The verifier's clock: everything is issued just before it and valid after it. */
  now: Date;
  /** Validity of TCB info, QE identity and CRLs. Default 30 days (as Intel's). */
  validDays?: number;
  /** Status of the TCB level matching the platform (quote's TEE_TCB_SVN, PCK CPUSVN/PCESVN). Default `UpToDate`. */
  tcbStatus?: TcbStatus;
  /** The PCK CRL lists the PCK certificate. */
  revokePck?: boolean;
  /** That CRL is correctly signed but past its nextUpdate. */
  staleCrl?: 'pck' | 'root';
  /** That CRL is valid DER whose signature does not verify. */
  tamperCrl?: 'pck' | 'root';
  /** TCB info and QE identity were issued long ago and are past their nextUpdate (CRLs unaffected). */
  expired?: boolean;
  /** Which PCK CA's CRL to include. Default the CA that issued the PCK certificate. */
  ca?: 'platform' | 'processor';
}

/** The collateral's parts in Intel PCS's wire shapes (what a PCS mirror serves). */
export interface TestPcsCollateral {
  /** `{"tcbInfo":…,"signature":"<hex>"}` body of `GET /tdx/certification/v4/tcb`. */
  tcbInfoBody: string;
  /** `{"enclaveIdentity":…,"signature":"<hex>"}` body of `GET /tdx/certification/v4/qe/identity`. */
  qeIdentityBody: string;
  pckCrlDer: Uint8Array;
  rootCaCrlDer: Uint8Array;
  /** PEM: TCB signing certificate, root (the TCB-Info-Issuer-Chain and SGX-Enclave-Identity-Issuer-Chain headers). */
  tcbIssuerChain: string;
  /** PEM: PCK CA, root (the SGX-PCK-CRL-Issuer-Chain header). */
  pckCrlIssuerChain: string;
  collateral: Collateral;
}

/** Intel's timestamp style: ISO 8601 UTC without milliseconds. */
const stamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const hexUpper = (b: Uint8Array) => bytesToHex(b).toUpperCase();
const svns = (b: Uint8Array) => Array.from(b, (svn) => ({ svn }));
/** Every component one lower (floored at 0): an older TCB level. */
const older = (b: Uint8Array) => Uint8Array.from(b, (v) => Math.max(0, v - 1));

function window(now: Date, validDays: number, expired: boolean): { issue: Date; next: Date } {
  if (expired) return { issue: new Date(now.getTime() - (validDays + 2) * DAY_MS), next: new Date(now.getTime() - DAY_MS) };
  // Issued an hour ago, so a verifier whose clock lags a little still sees it as issued.
  const issue = new Date(now.getTime() - 3_600_000);
  return { issue, next: new Date(issue.getTime() + validDays * DAY_MS) };
}

function tcbInfo(pki: TestPki, status: TcbStatus, w: { issue: Date; next: Date }): object {
  const p = pki.platform;
  const level = (cpuSvn: Uint8Array, pceSvn: number, teeTcbSvn: Uint8Array, tcbStatus: TcbStatus, tcbDate: string, advisoryIDs: string[]) => ({
    tcb: { sgxtcbcomponents: svns(cpuSvn), pcesvn: pceSvn, tdxtcbcomponents: svns(teeTcbSvn) },
    tcbDate,
    tcbStatus,
    ...(advisoryIDs.length ? { advisoryIDs } : {}),
  });
  const zeros96 = '0'.repeat(96);
  return {
    id: 'TDX',
    version: 3,
    issueDate: stamp(w.issue),
    nextUpdate: stamp(w.next),
    fmspc: hexUpper(p.fmspc),
    pceId: hexUpper(p.pceId),
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tdxModule: { mrsigner: zeros96, attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' },
    tdxModuleIdentities: [
      {
        id: `TDX_${(p.teeTcbSvn[1] ?? 0).toString(16).padStart(2, '0').toUpperCase()}`,
        mrsigner: zeros96,
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
        tcbLevels: [{ tcb: { isvsvn: p.teeTcbSvn[0] ?? 0 }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }],
      },
    ],
    tcbLevels: [
      level(p.cpuSvn, p.pceSvn, p.teeTcbSvn, status, '2024-03-13T00:00:00Z', status === 'UpToDate' ? [] : ['INTEL-SA-TEST-0001']),
      level(older(p.cpuSvn), Math.max(0, p.pceSvn - 1), older(p.teeTcbSvn), 'OutOfDate', '2018-01-04T00:00:00Z', ['INTEL-SA-TEST-0002']),
    ],
  };
}

function qeIdentity(pki: TestPki, w: { issue: Date; next: Date }): object {
  const qe = pki.platform.qe;
  return {
    id: 'TD_QE',
    version: 2,
    issueDate: stamp(w.issue),
    nextUpdate: stamp(w.next),
    tcbEvaluationDataNumber: 17,
    miscselect: qe.miscSelect.toString(16).padStart(8, '0').toUpperCase(),
    miscselectMask: 'FFFFFFFF',
    attributes: '11000000000000000000000000000000',
    attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
    mrsigner: hexUpper(qe.mrSigner),
    isvprodid: qe.isvProdId,
    tcbLevels: [{ tcb: { isvsvn: qe.isvSvn }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' }],
  };
}

function crl(issuer: TestCertificate, now: Date, validDays: number, which: 'pck' | 'root', o: TestCollateralOptions, revoked: Uint8Array[]) {
  const stale = o.staleCrl === which;
  const thisUpdate = stale ? new Date(now.getTime() - (validDays + 10) * DAY_MS) : new Date(now.getTime() - 3_600_000);
  const nextUpdate = stale ? new Date(now.getTime() - 10 * DAY_MS) : new Date(thisUpdate.getTime() + validDays * DAY_MS);
  return createTestCrl(issuer, { thisUpdate, nextUpdate, revoked, tamper: o.tamperCrl === which });
}

/** The collateral both as `@phala/dcap-qvl` consumes it and as Intel PCS serves it. */
export function buildTestPcsCollateral(pki: TestPki, opts: TestCollateralOptions): TestPcsCollateral {
  const validDays = opts.validDays ?? 30;
  if (!(validDays > 0)) throw new RangeError('validDays must be positive');
  const w = window(opts.now, validDays, opts.expired ?? false);
  const ca = opts.ca ?? pki.pckCa;
  const pckCa = ca === 'platform' ? pki.platformCa : pki.processorCa;

  // JSON.stringify keeps insertion order and no whitespace: these exact bytes are signed, and a
  // consumer that re-serialises the parsed object (dcap-qvl's PCS client does) gets them back.
  const tcbInfoJson = JSON.stringify(tcbInfo(pki, opts.tcbStatus ?? 'UpToDate', w));
  const qeIdentityJson = JSON.stringify(qeIdentity(pki, w));
  const enc = new TextEncoder();
  const tcbInfoSignature = bytesToHex(signRaw(enc.encode(tcbInfoJson), pki.tcbSigning.secretKey));
  const qeIdentitySignature = bytesToHex(signRaw(enc.encode(qeIdentityJson), pki.tcbSigning.secretKey));

  const revoked = opts.revokePck && ca === pki.pckCa ? [pki.pck.serial] : [];
  const pckCrlDer = crl(pckCa, opts.now, validDays, 'pck', opts, revoked);
  const rootCaCrlDer = crl(pki.root, opts.now, validDays, 'root', opts, []);
  const tcbIssuerChain = pki.tcbSigning.pem + pki.root.pem;
  const pckCrlIssuerChain = pckCa.pem + pki.root.pem;

  return {
    tcbInfoBody: `{"tcbInfo":${tcbInfoJson},"signature":"${tcbInfoSignature}"}`,
    qeIdentityBody: `{"enclaveIdentity":${qeIdentityJson},"signature":"${qeIdentitySignature}"}`,
    pckCrlDer,
    rootCaCrlDer,
    tcbIssuerChain,
    pckCrlIssuerChain,
    collateral: {
      pck_crl_issuer_chain: pckCrlIssuerChain,
      root_ca_crl: bytesToHex(rootCaCrlDer),
      pck_crl: bytesToHex(pckCrlDer),
      tcb_info_issuer_chain: tcbIssuerChain,
      tcb_info: tcbInfoJson,
      tcb_info_signature: tcbInfoSignature,
      qe_identity_issuer_chain: tcbIssuerChain,
      qe_identity: qeIdentityJson,
      qe_identity_signature: qeIdentitySignature,
    },
  };
}

/** The collateral `@phala/dcap-qvl` consumes, for quotes of `pki`, fresh at `opts.now` unless told otherwise. */
export function buildTestCollateral(pki: TestPki, opts: TestCollateralOptions): Collateral {
  return buildTestPcsCollateral(pki, opts).collateral;
}
