/**
 * Attestation results in plain words: the badge, the names of the checks, the sentence that
 * says why a message was not sent. Shared by the worker (error messages) and the UI.
 */
import type { AttestationCheck, AttestationSummary } from './types';

/** What each check of `@zkcredits/attest` establishes, for people. */
export const CHECK_LABELS: Record<string, string> = {
  nonce_echo: 'Answers our fresh nonce (not a replay)',
  model_echo: 'Is for the model asked about',
  server_verdict: 'Provider’s own verdict is positive',
  signing_key: 'Enclave key is valid and matches its address',
  quote_format: 'Intel TDX quote parses',
  debug_off: 'Debug mode is off',
  report_data: 'Quote binds the key and our nonce',
  dcap_signature: 'Quote signed through Intel’s certificate chain (DCAP)',
  dcap_crl: 'No certificate in the chain is revoked',
  tcb_status: 'Platform security patch level (TCB) accepted',
  measurement: 'Enclave measurements match the pinned ones',
  gpu: 'NVIDIA GPU evidence',
};

export function checkLabel(name: string): string {
  return CHECK_LABELS[name] ?? name;
}

/** The checks that failed, in words: `Debug mode is off (TD attributes have DEBUG set); …`. */
export function failedChecksText(checks: readonly AttestationCheck[]): string {
  return checks
    .filter((c) => c.status === 'fail')
    .map((c) => `${checkLabel(c.name)} — failed${c.detail ? ` (${c.detail.slice(0, 160)})` : ''}`)
    .join('; ');
}

/** `0x1234…abcd`. */
export function shortHex(hex: string | undefined): string {
  if (!hex) return '?';
  const h = hex.startsWith('0x') ? hex : `0x${hex}`;
  return h.length <= 14 ? h : `${h.slice(0, 6)}…${h.slice(-4)}`;
}

/** The badge of a verified enclave: `E2EE · DCAP verified · UpToDate · debug off · key 0x1234…abcd`. */
export function badgeText(a: AttestationSummary): string {
  return [
    'E2EE',
    `${a.achieved.toUpperCase()} verified`,
    a.tcbStatus ?? 'TCB unknown',
    a.debug === false ? 'debug off' : 'debug ON',
    `key ${shortHex(a.signingAddress)}`,
  ].join(' · ');
}

/**
 * What a passing attestation does not prove (PROTOCOL.md, "What a passing attestation does
 * not prove"), shown in the details panel.
 */
export const NOT_PROVEN: readonly string[] = [
  'NVIDIA GPU evidence is not verified, and it is tied to the Intel quote only by the shared nonce.',
  'The quote covers Venice’s E2EE gateway VM: it decrypts your messages inside the enclave and forwards them over TLS to an inference host the quote says nothing about (nor about routing or logging inside the VM).',
  'Venice publishes no allow-list of enclave measurements: any enclave Intel’s chain vouches for that holds the key passes.',
  'The answer is encrypted to this conversation’s key but not signed by the enclave: the servers in between cannot read it, but could drop, reorder or replace parts of it.',
];
