import type { ServerResponse } from 'node:http';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { ethereumAddress, generateKeyPair } from '@zkcredits/attest/e2ee';
import type { SimContext } from '../context.js';
import { fail, sendJson } from '../http.js';
import { nvidiaPayload } from '../nvidia.js';
import { buildSimQuote, reportDataFor } from '../quote.js';

/**
 * GET /api/v1/tee/attestation?model=…[&nonce=<64 hex>]: a DCAP-verifiable TDX v4 quote binding the
 * enclave's signing key and the nonce, in Venice's flat shape or the gateway's `aci/1` envelope.
 * Armed attestation faults (attestation-faults.ts) change exactly what they name.
 */
export function attestation(ctx: SimContext, url: URL, res: ServerResponse): void {
  const { opts } = ctx;
  const f = ctx.attestationFaults.current;
  const modelId = url.searchParams.get('model');
  if (!modelId) throw fail(400, 'Invalid request parameters', { details: { model: { _errors: ['Required'] } } });
  const model = ctx.models.get(modelId);
  if (!model) throw fail(404);
  const key = ctx.enclaveKeys.get(modelId);
  if (!model.tee || !key) throw fail(400, `Model ${modelId} does not support TEE attestation`);
  const askedNonce = url.searchParams.get('nonce') ?? bytesToHex(randomBytes(32));
  if (!/^[0-9a-fA-F]{64}$/.test(askedNonce)) throw fail(400, 'Nonce must be exactly 32 bytes (64 hex characters)');

  const nonceHex = f.wrongNonce ? bytesToHex(randomBytes(32)) : askedNonce.toLowerCase();
  const address = ethereumAddress(key.publicKeyHex);
  const boundAddress = f.otherKey ? ethereumAddress(generateKeyPair().publicKeyHex) : address;
  const reportData = reportDataFor(boundAddress, hexToBytes(nonceHex));
  const quote = buildSimQuote(ctx.pki, {
    modelId,
    reportData,
    debug: f.debug ?? false,
    attestationSecretKey: ctx.attestationKey,
    corruptSignature: f.brokenQuoteSignature ?? false,
  });
  const quoteText = opts.quoteEncoding === 'hex' ? bytesToHex(quote) : Buffer.from(quote).toString('base64');
  const negative = f.negativeServerVerification ?? false;
  const common = {
    verified: !f.serverVerdictFalse,
    nonce: nonceHex,
    model: modelId,
    tee_provider: 'venice-sim',
    tee_hardware: 'intel-tdx',
    signing_public_key: key.publicKeyHex,
    signing_address: address,
    signing_algo: 'ecdsa',
    nvidia_payload: nvidiaPayload(nonceHex),
    server_verification: {
      tdx: negative
        ? { valid: false, error: f.debug ? 'TDX debug mode detected' : 'TDX quote verification failed', signatureValid: false, certificateChainValid: false, attestationKeyMatch: false }
        : { valid: true, error: null, signatureValid: true, certificateChainValid: true, attestationKeyMatch: true },
      nvidia: { valid: !negative, error: negative ? 'GPU attestation failed' : null },
      signingAddressBinding: { bound: !negative, reportDataAddress: boundAddress },
      nonceBinding: { bound: !negative, method: 'raw' },
      verifiedAt: ctx.now().toISOString(),
      verificationDurationMs: 0,
    },
  };
  if (opts.attestationShape === 'aci/1') {
    return sendJson(res, 200, {
      api_version: 'aci/1',
      ...common,
      debug: f.debug ?? false,
      attestation: { tee_type: 'tdx', evidence: { quote: bytesToHex(quote), quote_report_data: bytesToHex(reportData) } },
    });
  }
  sendJson(res, 200, { ...common, signing_key: key.publicKeyHex, intel_quote: quoteText });
}
