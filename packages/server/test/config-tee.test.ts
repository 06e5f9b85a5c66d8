// The TEE collateral settings: Intel's PCS by default, any http(s) PCS / PCCS when configured,
// and the collateral route's own rate limit.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { configProblems, validEnv } from './helpers/config.js';

describe('TEE collateral configuration', () => {
  it("defaults to Intel's PCS and root CA CRL, and 30 collateral requests per minute per IP", () => {
    const c = loadConfig(validEnv);
    expect(c.tee).toEqual({
      pcsUrl: 'https://api.trustedservices.intel.com',
      rootCaCrlUrl: 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der',
    });
    expect(c.limits.collateralRateLimitPerMinute).toBe(30);
  });

  it('takes a PCCS (trailing slash dropped) and its own limit', () => {
    const c = loadConfig({
      ...validEnv,
      ZKC_TEE_PCS_URL: 'https://pccs.example/',
      ZKC_TEE_ROOT_CA_CRL_URL: 'https://pccs.example/sgx/certification/v4/rootcacrl',
      ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE: '5',
    });
    expect(c.tee).toEqual({ pcsUrl: 'https://pccs.example', rootCaCrlUrl: 'https://pccs.example/sgx/certification/v4/rootcacrl' });
    expect(c.limits.collateralRateLimitPerMinute).toBe(5);
  });

  it('refuses what is not an http(s) URL or a positive count, saying how to fix it', () => {
    expect(configProblems({ ...validEnv, ZKC_TEE_PCS_URL: 'pcs.example' })[0]).toMatch(/ZKC_TEE_PCS_URL must be an absolute URL, e\.g\. ZKC_TEE_PCS_URL=https:/);
    expect(configProblems({ ...validEnv, ZKC_TEE_ROOT_CA_CRL_URL: 'file:///etc/crl.der' })[0]).toMatch(/ZKC_TEE_ROOT_CA_CRL_URL must be an http\(s\) URL/);
    expect(configProblems({ ...validEnv, ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE: '0' })[0]).toMatch(/ZKC_COLLATERAL_RATE_LIMIT_PER_MINUTE must be at least 1/);
  });
});
