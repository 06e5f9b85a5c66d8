/**
 * Venice-style HTTP error bodies. Venice returns `{ "error": "<message>" }` for most
 * errors (see docs.venice.ai/api-reference/error-codes), with `details`/`issues`
 * for validation errors and an OpenAI-style object for context-length errors.
 */
export const VENICE_ERRORS: Record<number, { code: string; message: string }> = {
  400: { code: 'INVALID_REQUEST', message: 'Invalid request parameters' },
  401: { code: 'AUTHENTICATION_FAILED', message: 'Authentication failed' },
  402: { code: 'INSUFFICIENT_BALANCE', message: 'Insufficient USD or Diem balance to complete request.' },
  403: { code: 'UNAUTHORIZED', message: 'Unauthorized access' },
  404: { code: 'MODEL_NOT_FOUND', message: 'Specified model not found' },
  413: { code: 'PAYLOAD_TOO_LARGE', message: 'The request payload is too large. Please reduce the size of your request.' },
  415: { code: 'INVALID_CONTENT_TYPE', message: 'Invalid request content-type' },
  422: { code: 'CONTENT_POLICY_VIOLATION', message: 'Your prompt violates the content policy of Venice.ai or the model provider' },
  429: { code: 'RATE_LIMIT_EXCEEDED', message: 'Rate limit exceeded' },
  500: { code: 'INFERENCE_FAILED', message: 'Inference processing failed' },
  502: { code: 'TEE_ATTESTATION_FAILED', message: 'TEE attestation request failed. The Trusted Execution Environment provider may be temporarily unavailable.' },
  503: { code: 'MODEL_AT_CAPACITY', message: 'The model is at capacity. Please try again later.' },
  504: { code: 'REQUEST_TIMEOUT', message: 'The request took too long to complete and was timed-out.' },
};

export function veniceErrorBody(status: number): { error: string } {
  return { error: VENICE_ERRORS[status]?.message ?? 'An unknown error occurred' };
}
