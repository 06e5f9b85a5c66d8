/**
 * The attestation verifier: every check of src/types.ts `CheckName`, in order, each a named
 * result in the report. A failed check never throws; malformed input throws
 * `attestation_malformed`, unavailable or expired collateral `collateral_unavailable` /
 * `collateral_expired` (fail closed).
 *
 * Levels are cumulative: `binding` (nonce, model, server verdict, key, quote format, debug,
 * REPORTDATA) < `dcap` (+ DCAP signatures and chain, CRLs, TCB status) < `measured`
 * (+ TOFU measurement pins). `gpu` is always skipped (NVIDIA evidence is not verified).
 *
 * The DCAP parts (dcap-qvl, the ASN.1 code) are imported on demand, so a `binding`-only client
 * does not load them.
 */
import { isZkCreditsError } from '@zkcredits/core/errors';
import {
  checkDebugOff,
  checkModelEcho,
  checkNonceEcho,
  checkQuoteFormat,
  checkReportData,
  checkServerVerdict,
  checkSigningKey,
  fail,
  pass,
  skipped,
} from './checks.js';
import { AttestError } from './errors.js';
import { changedMeasurements } from './pins.js';
import type { TdxQuote } from './quote.js';
import { parseAttestationResponse, type ParsedAttestation } from './response.js';
import {
  DEFAULT_ACCEPTED_TCB,
  type AttestationLevel,
  type AttestationReport,
  type CheckName,
  type CheckResult,
  type Collateral,
  type VerifyOptions,
} from './types.js';

const BINDING_CHECKS: readonly CheckName[] = ['nonce_echo', 'model_echo', 'server_verdict', 'signing_key', 'quote_format', 'debug_off', 'report_data'];
const DCAP_CHECKS: readonly CheckName[] = [...BINDING_CHECKS, 'dcap_signature', 'dcap_crl', 'tcb_status'];

/** The checks each level requires (cumulative). */
export const LEVEL_CHECKS: Readonly<Record<AttestationLevel, readonly CheckName[]>> = {
  binding: BINDING_CHECKS,
  dcap: DCAP_CHECKS,
  measured: [...DCAP_CHECKS, 'measurement'],
};
const LEVELS: readonly AttestationLevel[] = ['binding', 'dcap', 'measured'];

type DcapPart = {
  checks: CheckResult[];
  extra: Pick<AttestationReport, 'tcbStatus' | 'fmspc' | 'ca' | 'collateralNextUpdate'> & { advisoryIds: string[] };
};

async function fetchCollateral(opts: VerifyOptions, q: { fmspc: string; ca: 'platform' | 'processor' }): Promise<Collateral> {
  if (!opts.collateral) {
    throw new AttestError('collateral_unavailable', 'DCAP verification needs collateral, and no collateral source was given.', {
      details: 'pass VerifyOptions.collateral (e.g. a source reading GET /v1/tee/collateral), or ask for level "binding" knowingly',
    });
  }
  try {
    return await opts.collateral(q);
  } catch (e) {
    if (isZkCreditsError(e, 'collateral_unavailable') || isZkCreditsError(e, 'collateral_expired')) throw e;
    throw new AttestError('collateral_unavailable', 'The DCAP collateral could not be fetched.', {
      details: `fmspc ${q.fmspc}, ${q.ca} CA`,
      cause: e,
    });
  }
}

async function runDcap(rawQuote: Uint8Array | undefined, quote: TdxQuote | undefined, opts: VerifyOptions, now: Date, rootCaDer: Uint8Array | undefined): Promise<DcapPart> {
  const none = (why: string): DcapPart => ({
    checks: [fail('dcap_signature', why), fail('dcap_crl', why), fail('tcb_status', why)],
    extra: { advisoryIds: [] },
  });
  if (!rawQuote || !quote) return none('no TDX quote to verify');
  const [dcap, crl] = await Promise.all([import('./dcap.js'), import('./crl.js')]);
  let pck;
  try {
    pck = dcap.readPckChain(rawQuote);
  } catch (e) {
    return none(`the quote's certification data has no usable PCK chain: ${(e as Error).message}`);
  }
  const root = rootCaDer ?? dcap.intelRootCaDer();
  const collateral = await fetchCollateral(opts, { fmspc: pck.fmspc, ca: pck.ca });
  let windowEnd = dcap.collateralWindow(collateral, now); // throws collateral_expired
  const outcome = dcap.verifyQuoteDcap(rawQuote, collateral, now, root);

  let crlResult: { ok: boolean; detail: string; nextUpdate?: Date };
  try {
    crlResult = crl.checkCrls({
      rootCaCrl: hexBytes(collateral.root_ca_crl),
      pckCrl: hexBytes(collateral.pck_crl),
      pckCrlIssuerChain: collateral.pck_crl_issuer_chain,
      rootCaDer: root,
      pckLeafDer: pck.leafDer,
      pckIntermediateDer: pck.intermediateDer,
      now,
    });
  } catch (e) {
    crlResult = { ok: false, detail: `CRL checks could not run: ${(e as Error).message}` };
  }
  if (crlResult.nextUpdate && crlResult.nextUpdate < windowEnd) windowEnd = crlResult.nextUpdate;

  const accepted = opts.acceptTcb ?? DEFAULT_ACCEPTED_TCB;
  const checks: CheckResult[] = [];
  const extra: DcapPart['extra'] = { advisoryIds: [], fmspc: pck.fmspc, ca: pck.ca, collateralNextUpdate: windowEnd.toISOString() };
  if (outcome.ok) {
    checks.push(pass('dcap_signature', 'quote, QE report, PCK chain, TCB info and QE identity verify to the trusted root'));
  } else if (outcome.status) {
    checks.push(pass('dcap_signature', 'quote, QE report, PCK chain, TCB info and QE identity verify to the trusted root'));
  } else {
    checks.push(fail('dcap_signature', outcome.reason));
  }
  checks.push(crlResult.ok ? pass('dcap_crl', crlResult.detail) : fail('dcap_crl', crlResult.detail));
  if (outcome.status) {
    const status = outcome.status;
    extra.tcbStatus = status;
    if (outcome.ok) extra.advisoryIds = outcome.advisoryIds;
    const advisories = extra.advisoryIds.length ? ` (advisories: ${extra.advisoryIds.join(', ')})` : '';
    if (status === 'Revoked') checks.push(fail('tcb_status', 'TCB status Revoked: the platform is revoked, never accepted'));
    else if (!outcome.ok || !accepted.includes(status)) {
      checks.push(fail('tcb_status', `TCB status ${status} is not accepted (accepted: ${accepted.join(', ')})${advisories}`));
    } else checks.push(pass('tcb_status', `${status}${advisories}`));
  } else {
    checks.push(fail('tcb_status', 'not evaluated: DCAP verification failed'));
  }
  return { checks, extra };
}

function hexBytes(hex: string): Uint8Array {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new AttestError('collateral_unavailable', 'A CRL in the DCAP collateral is not hex.');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

async function checkMeasurement(
  opts: VerifyOptions,
  quote: TdxQuote | undefined,
  earlierOk: boolean,
): Promise<{ result: CheckResult; changed?: string[] }> {
  if (!quote) return { result: fail('measurement', 'no TDX quote to read measurements from') };
  if (!opts.pins) return { result: fail('measurement', 'level "measured" needs a pin store (VerifyOptions.pins)') };
  const pinned = await opts.pins.get(opts.model);
  if (!pinned) {
    if (!earlierOk) return { result: fail('measurement', 'not pinned: measurements are pinned only from a report that passed every other check') };
    await opts.pins.set(opts.model, quote.measurements);
    return { result: pass('measurement', `pinned on first use (mrTd ${quote.measurements.mrTd.slice(0, 16)}…)`) };
  }
  const changed = changedMeasurements(pinned, quote.measurements);
  if (changed.length) {
    return {
      result: fail('measurement', `changed since pinned: ${changed.join(', ')}; re-pin on purpose (repinMeasurements) only if the change is expected`),
      changed,
    };
  }
  return { result: pass('measurement', 'mrTd, mrConfigId and RTMR0–3 equal the pinned values') };
}

function gpuCheck(a: ParsedAttestation): CheckResult {
  return skipped(
    'gpu',
    a.hasNvidiaPayload
      ? 'NVIDIA GPU evidence is present but not verified by this client (and it is only nonce-bound, not bound to the TDX quote)'
      : 'no NVIDIA GPU evidence; GPU attestation is not verified by this client',
  );
}

async function verifyWith(raw: unknown, opts: VerifyOptions, rootCaDer: Uint8Array | undefined): Promise<AttestationReport> {
  const level = opts.level ?? 'dcap';
  if (!LEVELS.includes(level)) throw new AttestError('attestation_failed', `Unknown attestation level ${JSON.stringify(level)}.`);
  const now = opts.now ?? new Date();
  const a = parseAttestationResponse(raw);

  const key = checkSigningKey(a);
  const q = checkQuoteFormat(a);
  const rd = checkReportData(q.quote, key.address, opts.nonce);
  const checks: CheckResult[] = [
    checkNonceEcho(opts.nonce, a),
    checkModelEcho(opts.model, a),
    checkServerVerdict(a),
    key.result,
    q.result,
    checkDebugOff(q.quote),
    rd.result,
  ];

  let dcapExtra: DcapPart['extra'] = { advisoryIds: [] };
  if (level === 'binding') {
    for (const n of ['dcap_signature', 'dcap_crl', 'tcb_status'] as const) checks.push(skipped(n, 'not required at level binding'));
  } else {
    const d = await runDcap(a.quote, q.quote, opts, now, rootCaDer);
    checks.push(...d.checks);
    dcapExtra = d.extra;
  }

  let changed: string[] | undefined;
  if (level === 'measured') {
    const m = await checkMeasurement(opts, q.quote, checks.every((c) => c.status === 'pass'));
    checks.push(m.result);
    changed = m.changed;
  } else {
    checks.push(skipped('measurement', `not required at level ${level}`));
  }
  checks.push(gpuCheck(a));

  const passed = (l: AttestationLevel) => LEVEL_CHECKS[l].every((n) => checks.find((c) => c.name === n)?.status === 'pass');
  const achieved = [...LEVELS].reverse().find(passed) ?? 'none';
  const report: AttestationReport = {
    ok: passed(level),
    level,
    achieved,
    model: opts.model,
    nonce: opts.nonce.toLowerCase(),
    checks,
    advisoryIds: dcapExtra.advisoryIds,
    shape: a.shape,
    tee: { ...(a.teeProvider ? { provider: a.teeProvider } : {}), quoteEncoding: a.quoteEncoding },
  };
  if (key.keyHex) report.modelPublicKeyHex = key.keyHex;
  if (key.address) report.signingAddress = key.address;
  if (rd.method) report.reportDataNonce = rd.method;
  if (q.quote) {
    report.debug = q.quote.debug;
    report.measurements = q.quote.measurements;
  }
  if (dcapExtra.tcbStatus) report.tcbStatus = dcapExtra.tcbStatus;
  if (dcapExtra.fmspc) report.fmspc = dcapExtra.fmspc;
  if (dcapExtra.ca) report.ca = dcapExtra.ca;
  if (dcapExtra.collateralNextUpdate) report.collateralNextUpdate = dcapExtra.collateralNextUpdate;
  if (changed) report.measurementChanged = changed;
  return report;
}

/**
 * Verifies a TEE attestation response against the nonce and model sent, at `opts.level`
 * (default `dcap`), with Intel's production root CA as the only trust anchor. Read `report.ok`
 * (or call `assertAttested`) before encrypting to `report.modelPublicKeyHex`.
 */
export function verifyAttestation(raw: unknown, opts: VerifyOptions): Promise<AttestationReport> {
  return verifyWith(raw, opts, undefined);
}

/**
 * As `verifyAttestation`, with another root CA (a test PKI). Exported only from the test entry
 * `@zkcredits/attest/testing`, never from the package index: production code cannot set a root.
 */
export function verifyAttestationWithRoot(raw: unknown, opts: VerifyOptions, rootCaDer: Uint8Array): Promise<AttestationReport> {
  return verifyWith(raw, opts, rootCaDer);
}
