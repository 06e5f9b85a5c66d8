// The sim's lifecycle: build its context (context.ts), serve it over HTTP (router.ts), close.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { p256 } from '@noble/curves/nist.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createContext, type VeniceSimOptions } from './context.js';
import type { FaultControl } from './faults.js';
import { HttpError, sendJson } from './http.js';
import { handle } from './router.js';
import type { SimState } from './state.js';

export interface VeniceSim {
  /** `http://127.0.0.1:<port>` — the API base is `${url}/api/v1`. */
  url: string;
  apiBaseUrl: string;
  state: SimState;
  faults: FaultControl;
  /** Uncompressed P-256 public key (hex) of the simulated attestation authority; pin it in clients. */
  authorityPublicKeyHex: string;
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
    authorityPublicKeyHex: bytesToHex(p256.getPublicKey(ctx.authoritySecret, false)),
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
