// The sim's lifecycle: build its context (context.ts), serve it over HTTP (router.ts), close.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { TestPki } from '@zkcredits/attest/testing';
import type { AttestationFaultControl } from './attestation-faults.js';
import { createContext, type VeniceSimOptions } from './context.js';
import type { FaultControl } from './faults.js';
import { HttpError, sendJson } from './http.js';
import { handle } from './router.js';
import type { ReceiptStore } from './receipts.js';
import { PCS_PATHS } from './routes/pcs.js';
import type { SimState } from './state.js';

export interface VeniceSim {
  /** `http://127.0.0.1:<port>` — the API base is `${url}/api/v1`. */
  url: string;
  apiBaseUrl: string;
  state: SimState;
  faults: FaultControl;
  /**
   * DER of the sim's test SGX root CA: the trust anchor for its quotes and collateral. Clients must be
   * told to trust it explicitly (e.g. `verifyAttestationWithRoot` from `@zkcredits/attest/testing`).
   */
  attestationRootCaDer: Uint8Array;
  /** The whole test PKI (keys included), for tests that build their own quotes or collateral. */
  attestationPki: TestPki;
  /** The platform's FMSPC (12 uppercase hex), what `/tdx/certification/v4/tcb?fmspc=` serves. */
  fmspc: string;
  /** Base URL of the PCS-shaped collateral routes (= `url`; use it where Intel's PCS URL goes). */
  pcsUrl: string;
  /** Where the root CA CRL is served as DER (Intel's: https://certificates.trustedservices.intel.com/IntelSGXRootCA.der). */
  rootCaCrlUrl: string;
  /** Attestation faults: `set({...})` replaces them, `clear()` restores the start options. */
  attestationFaults: AttestationFaultControl;
  /** Completed TEE chats that `/tee/signature` can sign. */
  receipts: ReceiptStore;
  /** Uncompressed secp256k1 enclave public key (hex) of a TEE model. */
  enclavePublicKeyHex(modelId: string): string;
  close(): Promise<void>;
}

/**
 * Starts the Venice simulator on `host:port` (default 127.0.0.1, random port).
 */
export async function createVeniceSim(options: VeniceSimOptions): Promise<VeniceSim> {
  const ctx = createContext(options);
  const { opts } = ctx;
  const server = createServer((req, res) => {
    handle(ctx, req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendJson(res, e.status, e.body);
      // Never echo internals (or request content) back or to stdout.
      sendJson(res, 500, { error: 'An unknown error occurred' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;

  return {
    url,
    apiBaseUrl: `${url}/api/v1`,
    state: ctx.state,
    faults: ctx.faults,
    attestationRootCaDer: ctx.pki.rootCaDer,
    attestationPki: ctx.pki,
    fmspc: bytesToHex(ctx.pki.platform.fmspc).toUpperCase(),
    pcsUrl: url,
    rootCaCrlUrl: `${url}${PCS_PATHS.rootCaCrlDer}`,
    attestationFaults: ctx.attestationFaults,
    receipts: ctx.receipts,
    enclavePublicKeyHex(modelId: string) {
      const k = ctx.enclaveKeys.get(modelId);
      if (!k) throw new Error(`Model ${modelId} has no enclave: it is unknown or not a TEE model`);
      return k.publicKeyHex;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
