'use client';
import type { ReactNode } from 'react';
import type { AttestationSummary } from '../e2ee/types';
import { NOT_PROVEN, badgeText, checkLabel, shortHex } from '../e2ee/words';

/**
 * What the app knows about the privacy of the next message: `unknown` (the server does not
 * know yet whether the model takes E2EE: nothing is sent), `off` (a model the operator can
 * read), `pending` (E2EE; the enclave is verified before anything is sent), `checking`,
 * `verified` (with the report) or `failed` (nothing was sent).
 */
export type E2eeState =
  | { kind: 'unknown' }
  | { kind: 'off' }
  | { kind: 'pending' }
  | { kind: 'checking' }
  | { kind: 'verified'; attestation: AttestationSummary }
  | { kind: 'failed'; attestation?: AttestationSummary };

function text(state: E2eeState): { label: string; tone: string } {
  switch (state.kind) {
    case 'unknown':
      return { label: 'Checking whether this model takes end-to-end encryption…', tone: 'muted' };
    case 'off':
      return { label: 'Not end-to-end encrypted · the operator can read this', tone: 'warn' };
    case 'pending':
      return { label: 'E2EE · the enclave is verified before sending', tone: 'muted' };
    case 'checking':
      return { label: 'E2EE · verifying the enclave…', tone: 'muted' };
    case 'verified':
      return { label: badgeText(state.attestation), tone: 'ok' };
    case 'failed':
      return { label: 'E2EE · attestation failed · nothing sent', tone: 'bad' };
  }
}

/** The badge next to the model picker; a click opens the details when there is a report. */
export function E2eeBadge({ state, open, onToggle }: { state: E2eeState; open: boolean; onToggle(): void }) {
  const { label, tone } = text(state);
  const report = state.kind === 'verified' || state.kind === 'failed' ? state.attestation : undefined;
  if (!report) {
    return (
      <span className={`badge ${tone} e2ee-badge`} data-testid="e2ee-badge" data-state={state.kind}>
        {label}
      </span>
    );
  }
  return (
    <button
      type="button"
      className={`badge ${tone} e2ee-badge`}
      data-testid="e2ee-badge"
      data-state={state.kind}
      aria-expanded={open}
      aria-controls="e2ee-details"
      title="What was verified"
      onClick={onToggle}
    >
      {label} {open ? '▴' : '▾'}
    </button>
  );
}

function Row({ name, children }: { name: string; children: ReactNode }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** Every check of the report, what it established, and what a passing attestation does not prove. */
export function E2eeDetails({ attestation: a }: { attestation: AttestationSummary }) {
  return (
    <section className="e2ee-details" id="e2ee-details" data-testid="e2ee-details" aria-label="Attestation details">
      <h3>{a.ok ? 'End-to-end encrypted to a verified enclave' : 'The enclave did not verify: nothing was sent'}</h3>
      <dl>
        <Row name="Model">{a.model}</Row>
        <Row name="Verified">
          {a.achieved === 'none' ? 'nothing' : a.achieved.toUpperCase()} in this browser at {new Date(a.verifiedAt).toLocaleTimeString()} (required: {a.level.toUpperCase()})
        </Row>
        <Row name="TCB status">
          {a.tcbStatus ?? 'unknown'}
          {a.advisoryIds.length > 0 && ` (advisories ${a.advisoryIds.join(', ')})`}
        </Row>
        <Row name="Debug mode">{a.debug === undefined ? 'unknown' : a.debug ? 'ON' : 'off'}</Row>
        <Row name="Enclave key address">
          <code title={a.modelPublicKeyHex}>{a.signingAddress ?? '?'}</code>
        </Row>
        {a.fmspc && <Row name="Platform (FMSPC)">{a.fmspc}</Row>}
        {a.collateralNextUpdate && <Row name="Intel collateral valid until">{a.collateralNextUpdate}</Row>}
      </dl>
      <table className="e2ee-checks">
        <thead>
          <tr>
            <th>Check</th>
            <th>Result</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {a.checks.map((c) => (
            <tr key={c.name} data-check={c.name} data-status={c.status}>
              <td>{checkLabel(c.name)}</td>
              <td className={`check-${c.status}`}>{c.status}</td>
              <td>{c.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">
        Each conversation uses a fresh key of this browser, dropped when you leave the conversation; key {shortHex(a.modelPublicKeyHex)} is the
        enclave’s. What a passing attestation does not prove:
      </p>
      <ul className="muted small">
        {NOT_PROVEN.map((t) => (
          <li key={t}>{t}</li>
        ))}
      </ul>
    </section>
  );
}
