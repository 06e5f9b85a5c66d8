import type { ServerResponse } from 'node:http';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import type { SimContext } from '../context.js';
import { ethereumAddress } from '@zkcredits/attest/e2ee';
import { fail, sendJson } from '../http.js';
import { buildQuote, measurementFor } from '../quote.js';

/** GET /api/v1/tee/attestation?model=…[&nonce=…]: a TDX-shaped quote binding the enclave key. */
export function attestation(ctx: SimContext, url: URL, res: ServerResponse): void {
  const { opts } = ctx;
  const modelId = url.searchParams.get('model');
  if (!modelId) throw fail(400, 'Invalid request parameters', { details: { model: { _errors: ['Required'] } } });
  const model = ctx.models.get(modelId);
  if (!model) throw fail(404);
  const key = ctx.enclaveKeys.get(modelId);
  if (!model.tee || !key) throw fail(400, `Model ${modelId} does not support TEE attestation`);
  const nonceHex = url.searchParams.get('nonce') ?? bytesToHex(randomBytes(32));
  if (!/^[0-9a-fA-F]{64}$/.test(nonceHex)) throw fail(400, 'Nonce must be exactly 32 bytes (64 hex characters)');
  const address = ethereumAddress(key.publicKeyHex);
  const quote = buildQuote({
    signingAddress: address,
    nonce: hexToBytes(nonceHex.toLowerCase()),
    measurement: measurementFor(modelId),
    debug: opts.debugEnclave,
    authoritySecretKey: ctx.authoritySecret,
  });
  sendJson(res, 200, {
    verified: !opts.debugEnclave,
    nonce: nonceHex,
    model: modelId,
    tee_provider: 'venice-sim',
    tee_hardware: 'intel-tdx',
    intel_quote: Buffer.from(quote).toString('base64'),
    nvidia_payload: null,
    signing_key: key.publicKeyHex,
    signing_address: address,
    signing_algo: 'ecdsa',
    server_verification: {
      tdx: { valid: !opts.debugEnclave, signatureValid: true, certificateChainValid: true, attestationKeyMatch: true },
      nvidia: null,
      signingAddressBinding: { bound: true, reportDataAddress: address },
      nonceBinding: { bound: true, method: 'raw' },
      verifiedAt: new Date().toISOString(),
      verificationDurationMs: 0,
    },
  });
}
