// Benchmarks of client-side attestation and E2EE (packages/attest), in Node:
//   e2ee_overhead_ms   what E2EE adds to one chat for the client: encrypt a 1 KB prompt (new
//                      session key included) and decrypt a 200-delta SSE answer, each delta
//                      sealed under its own enclave ephemeral key as Venice sends it
//   attest_verify_ms   median warm verification at level `dcap` of a simulator attestation
//                      (binding checks, DCAP with @phala/dcap-qvl, our CRL checks), collateral cached
import { fetchAttestation, fetchPcsCollateral, type Collateral } from '../packages/attest/src/index.js';
import { createE2eeSession, encryptField, generateKeyPair } from '../packages/attest/src/e2ee/index.js';
import { verifyAttestationWithRoot } from '../packages/attest/src/testing/index.js';
import { createVeniceSim } from '../packages/venice-sim/src/index.js';
import { median, time } from './util.js';

function sseAnswer(clientPublicKeyHex: string, deltas: number): Uint8Array {
  const enc = new TextEncoder();
  let text = '';
  for (let i = 0; i < deltas; i++) {
    const content = encryptField(i === 0 ? 'Sure' : ' word', clientPublicKeyHex);
    text += `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
  }
  text += 'data: [DONE]\n\n';
  return enc.encode(text);
}

async function e2eeOnce(enclavePublicKeyHex: string, prompt: string, answerFor: (clientKey: string) => Uint8Array): Promise<number> {
  const session = createE2eeSession(enclavePublicKeyHex);
  const answer = answerFor(session.clientPublicKeyHex); // the enclave's work: not timed
  const { ms } = await time(async () => {
    session.encryptMessages([{ role: 'user', content: prompt }]);
    let out = '';
    for await (const c of session.decryptSseStream([answer])) out += c.content;
    if (!out.startsWith('Sure')) throw new Error('decryption produced the wrong text');
  });
  session.destroy();
  return ms;
}

export async function benchAttest(): Promise<Record<string, number>> {
  const enclave = generateKeyPair();
  const prompt = 'p'.repeat(1024);
  const answerFor = (clientKey: string) => sseAnswer(clientKey, 200);
  await e2eeOnce(enclave.publicKeyHex, prompt, answerFor); // warm-up
  const e2ee: number[] = [];
  for (let i = 0; i < 7; i++) e2ee.push(await e2eeOnce(enclave.publicKeyHex, prompt, answerFor));
  return { e2ee_overhead_ms: median(e2ee), attest_verify_ms: await attestVerifyMs() };
}

/** The simulator's attestations (fresh nonce each) verified at `dcap` against its test root; collateral fetched once. */
async function attestVerifyMs(): Promise<number> {
  const model = 'e2ee-qwen3-5-122b-a10b';
  const sim = await createVeniceSim({ apiKey: 'bench' });
  try {
    let cached: Collateral | undefined;
    const collateral = async (q: { fmspc: string; ca: 'platform' | 'processor' }) =>
      (cached ??= await fetchPcsCollateral({ pcsUrl: sim.pcsUrl, rootCaCrlUrl: sim.rootCaCrlUrl, ...q }));
    const verifyOnce = async () => {
      const { response, nonce } = await fetchAttestation({ baseUrl: sim.apiBaseUrl, model }); // not timed
      const { ms, value } = await time(() => verifyAttestationWithRoot(response, { nonce, model, collateral }, sim.attestationRootCaDer));
      if (!value.ok) throw new Error(`the sim's attestation did not verify: ${value.checks.filter((c) => c.status === 'fail').map((c) => c.name)}`);
      return ms;
    };
    await verifyOnce(); // warm-up: loads dcap-qvl, fills the collateral cache
    const runs: number[] = [];
    for (let i = 0; i < 9; i++) runs.push(await verifyOnce());
    return median(runs);
  } finally {
    await sim.close();
  }
}
