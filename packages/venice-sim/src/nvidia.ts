/**
 * A SYNTHETIC `nvidia_payload`: the JSON string shape providers serve and clients POST verbatim to
 * NVIDIA NRAS (`{nonce, arch, evidence_list: [{certificate, evidence, arch}]}`). The evidence and
 * certificate are placeholders (base64 of text saying so), not NVIDIA SPDM evidence: NRAS rejects
 * them. Only the nonce binding (payload nonce = request nonce) is meaningful.
 */
const b64 = (s: string) => btoa(s);

export function nvidiaPayload(nonceHex: string): string {
  const gpu = (i: number) => ({
    certificate: b64(`venice-sim SYNTHETIC GPU-${i} certificate chain (not NVIDIA)`),
    evidence: b64(`venice-sim SYNTHETIC GPU-${i} attestation report, nonce ${nonceHex} (not NVIDIA)`),
    arch: 'HOPPER',
  });
  return JSON.stringify({ nonce: nonceHex, arch: 'HOPPER', evidence_list: [gpu(0)] });
}
