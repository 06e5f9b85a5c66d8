import type { ServerResponse } from 'node:http';
import { ethereumAddress } from '@zkcredits/attest/e2ee';
import type { SimContext } from '../context.js';
import { fail, sendJson } from '../http.js';
import { personalSign } from '../receipts.js';

/**
 * GET /api/v1/tee/signature?model=…&request_id=chatcmpl-…: the enclave's signed receipt for a
 * completed TEE chat: `text` = sha256(request body) ":" sha256(response bytes) (hex), signed with
 * the model's enclave key as EIP-191 `personal_sign` (recoverable to `signing_address`).
 */
export function signature(ctx: SimContext, url: URL, res: ServerResponse): void {
  const modelId = url.searchParams.get('model');
  const requestId = url.searchParams.get('request_id');
  if (!modelId || !requestId) {
    throw fail(400, 'Invalid request parameters', {
      details: { ...(modelId ? {} : { model: { _errors: ['Required'] } }), ...(requestId ? {} : { request_id: { _errors: ['Required'] } }) },
    });
  }
  const model = ctx.models.get(modelId);
  if (!model) throw fail(404);
  const key = ctx.enclaveKeys.get(modelId);
  if (!model.tee || !key) throw fail(400, `Model ${modelId} does not support TEE attestation`);
  const receipt = ctx.receipts.get(requestId);
  if (!receipt || receipt.model !== modelId) throw fail(404, `No signature found for request ${requestId}`);
  const text = `${receipt.requestHash}:${receipt.responseHash}`;
  sendJson(res, 200, {
    text,
    signature: personalSign(text, key.secretKey),
    signing_address: ethereumAddress(key.publicKeyHex),
    signing_algo: 'ecdsa',
  });
}
