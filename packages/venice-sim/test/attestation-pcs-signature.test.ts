// The sim's Intel-PCS-shaped collateral routes (headers, encodings, errors, freshness against the
// sim clock) and its `/tee/signature` receipts for completed TEE chats.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { ethereumAddress } from '@zkcredits/attest/e2ee';
import { personalMessageHash } from '../src/index.js';
import { MODEL } from './attestation-helpers.js';
import { API_KEY, chat, useSim } from './helpers.js';

const NOW = new Date('2031-02-03T04:05:06Z');

describe('PCS routes', () => {
  const sim = useSim({ apiKey: API_KEY, now: () => NOW });
  const get = (path: string) => fetch(`${sim().pcsUrl}${path}`);

  it('pckcrl: DER with encoding=der, else PEM; URL-encoded issuer chain (PCK CA, root)', async () => {
    const der = await get('/sgx/certification/v4/pckcrl?ca=platform&encoding=der');
    expect(der.status).toBe(200);
    const chain = decodeURIComponent(der.headers.get('sgx-pck-crl-issuer-chain')!);
    expect(chain).toBe(sim().attestationPki.platformCa.pem + sim().attestationPki.root.pem);
    const bytes = Buffer.from(await der.arrayBuffer());
    expect(bytes[0]).toBe(0x30);
    const pem = await (await get('/sgx/certification/v4/pckcrl?ca=platform')).text();
    expect(pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
    expect(Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----|\n/g, ''), 'base64')).toEqual(bytes);
    const proc = await get('/sgx/certification/v4/pckcrl?ca=processor&encoding=der');
    expect(decodeURIComponent(proc.headers.get('sgx-pck-crl-issuer-chain')!)).toContain(sim().attestationPki.processorCa.pem);
    expect((await get('/sgx/certification/v4/pckcrl?ca=other')).status).toBe(400);
  });

  it('tcb and qe/identity: signed JSON bodies issued at the sim clock; TCB info only for the sim FMSPC', async () => {
    const tcb = await get(`/tdx/certification/v4/tcb?fmspc=${sim().fmspc.toLowerCase()}`);
    expect(tcb.status).toBe(200);
    expect(decodeURIComponent(tcb.headers.get('tcb-info-issuer-chain')!)).toBe(sim().attestationPki.tcbSigning.pem + sim().attestationPki.root.pem);
    const body = (await tcb.json()) as { tcbInfo: { id: string; issueDate: string; nextUpdate: string; fmspc: string }; signature: string };
    expect(body.tcbInfo).toMatchObject({ id: 'TDX', fmspc: sim().fmspc });
    expect(new Date(body.tcbInfo.issueDate).getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(new Date(body.tcbInfo.nextUpdate).getTime()).toBeGreaterThan(NOW.getTime());
    expect(body.signature).toMatch(/^[0-9a-f]{128}$/);
    const qe = await get('/tdx/certification/v4/qe/identity');
    expect(qe.headers.get('sgx-enclave-identity-issuer-chain')).toBeTruthy();
    expect(((await qe.json()) as { enclaveIdentity: { id: string } }).enclaveIdentity.id).toBe('TD_QE');
    expect((await get('/tdx/certification/v4/tcb?fmspc=00906ED50000')).status).toBe(404);
    expect((await get('/tdx/certification/v4/tcb?fmspc=xyz')).status).toBe(400);
  });

  it('root CA CRL: DER at /IntelSGXRootCA.der, hex at /sgx/certification/v4/rootcacrl (same CRL)', async () => {
    expect(sim().rootCaCrlUrl).toBe(`${sim().url}/IntelSGXRootCA.der`);
    const der = Buffer.from(await (await fetch(sim().rootCaCrlUrl)).arrayBuffer());
    const hex = await (await get('/sgx/certification/v4/rootcacrl')).text();
    expect(hex).toBe(der.toString('hex'));
  });
});

describe('/tee/signature receipts', () => {
  const sim = useSim();
  const signatureFor = (id: string, model = MODEL) => fetch(`${sim().apiBaseUrl}/tee/signature?model=${model}&request_id=${id}`);

  function checkReceipt(r: { text: string; signature: string; signing_address: string; signing_algo: string }, model = MODEL) {
    expect(r.signing_algo).toBe('ecdsa');
    expect(r.signing_address).toBe(ethereumAddress(sim().enclavePublicKeyHex(model)));
    expect(r.signature).toMatch(/^0x[0-9a-f]{130}$/);
    const sig = hexToBytes(r.signature.slice(2));
    const recovered = secp256k1.recoverPublicKey(Uint8Array.of(sig[64]! - 27, ...sig.subarray(0, 64)), personalMessageHash(r.text), { prehash: false });
    expect(ethereumAddress(bytesToHex(secp256k1.Point.fromBytes(recovered).toBytes(false)))).toBe(r.signing_address);
  }

  it('signs sha256(request body) : sha256(response body) for a completed TEE chat', async () => {
    const body = { model: 'e2ee-glm-5', messages: [{ role: 'user', content: 'hello enclave' }] };
    const res = await chat(sim(), body);
    const text = await res.text();
    const id = (JSON.parse(text) as { id: string }).id;
    const r = await signatureFor(id, body.model);
    expect(r.status).toBe(200);
    const receipt = (await r.json()) as { text: string; signature: string; signing_address: string; signing_algo: string };
    const reqHash = bytesToHex(sha256(new TextEncoder().encode(JSON.stringify(body))));
    expect(receipt.text).toBe(`${reqHash}:${bytesToHex(sha256(new TextEncoder().encode(text)))}`);
    checkReceipt(receipt, body.model);
  });

  it('covers every streamed byte of a TEE stream', async () => {
    const body = { model: MODEL, messages: [{ role: 'user', content: 'stream me' }], stream: true };
    const res = await chat(sim(), body);
    const text = await res.text();
    const id = /"id":"(chatcmpl-[^"]+)"/.exec(text)![1]!;
    const receipt = (await (await signatureFor(id)).json()) as { text: string; signature: string; signing_address: string; signing_algo: string };
    expect(receipt.text.split(':')[1]).toBe(bytesToHex(sha256(new TextEncoder().encode(text))));
    checkReceipt(receipt);
  });

  it('404 for unknown ids, non-TEE chats and the wrong model; 400 without parameters or for non-TEE models', async () => {
    expect((await signatureFor('chatcmpl-unknown')).status).toBe(404);
    const plain = await chat(sim(), { model: 'llama-3.3-70b', messages: [{ role: 'user', content: 'hi' }] });
    const plainId = ((await plain.json()) as { id: string }).id;
    expect((await signatureFor(plainId)).status).toBe(404);
    expect((await signatureFor(plainId, 'llama-3.3-70b')).status).toBe(400);
    const tee = await chat(sim(), { model: 'e2ee-glm-5', messages: [{ role: 'user', content: 'hi' }] });
    expect((await signatureFor(((await tee.json()) as { id: string }).id, MODEL)).status).toBe(404);
    expect((await fetch(`${sim().apiBaseUrl}/tee/signature?model=${MODEL}`)).status).toBe(400);
  });
});
