/**
 * The headers the same-origin pass-through (app/api/zk/[...path]/route.ts) lets through;
 * everything else (cookies, the browser's own headers) stays in the app.
 */

/**
 * Venice's end-to-end encryption headers: the client's and the enclave's public keys and the
 * algorithm. They are bound into the proof's request hash (core's `BOUND_REQUEST_HEADERS`;
 * test/e2ee-request.test.ts checks the two lists agree). Not imported from core here: the
 * route would bundle core's prover dependencies for three strings.
 */
export const E2EE_REQUEST_HEADERS = ['x-venice-tee-client-pub-key', 'x-venice-tee-model-pub-key', 'x-venice-tee-signing-algo'] as const;

/** Request headers passed on to the API server. */
export const FORWARD_REQUEST: readonly string[] = ['content-type', 'accept', 'x-request-id', ...E2EE_REQUEST_HEADERS];

/** Response headers passed back to the browser. */
export const FORWARD_RESPONSE: readonly string[] = ['content-type', 'retry-after', 'x-request-id', 'cache-control'];
