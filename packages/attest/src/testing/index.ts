// `@zkcredits/attest/testing`: a DCAP test PKI, TDX quotes and collateral under it, for tests and the
// Venice simulator. Never for production: nothing here chains to Intel's root.
export { createTestPki, createTestCrl, signDer, signRaw } from './pki.js';
export type { TestCertificate, TestCrlOptions, TestPki, TestPkiOptions, TestPlatform } from './pki.js';
export { buildTestQuote, QUOTE_HEADER_LEN, TD_OFFSETS, TD_REPORT10_LEN } from './quote.js';
export type { TestQuoteOptions } from './quote.js';
export { buildTestCollateral, buildTestPcsCollateral } from './collateral.js';
export type { TestCollateralOptions, TestPcsCollateral } from './collateral.js';
export { pem } from './der.js';
export { verifyAttestationWithRoot } from '../verify.js';
