/**
 * Intel PCS v4-shaped collateral routes, so a server or client can use the sim as its "Intel"
 * (https://api.trustedservices.intel.com) in tests. Everything is regenerated per request from the
 * sim's clock and the armed attestation faults, so it is always fresh unless a fault says otherwise.
 *
 *   GET /sgx/certification/v4/pckcrl?ca=platform|processor[&encoding=der]   header SGX-PCK-CRL-Issuer-Chain
 *   GET /tdx/certification/v4/tcb?fmspc=<12 hex>                            header TCB-Info-Issuer-Chain
 *   GET /tdx/certification/v4/qe/identity                                   header SGX-Enclave-Identity-Issuer-Chain
 *   GET /sgx/certification/v4/rootcacrl      root CA CRL as hex (what a PCCS serves; dcap-qvl reads it)
 *   GET /IntelSGXRootCA.der                  root CA CRL as DER (Intel: certificates.trustedservices.intel.com/IntelSGXRootCA.der)
 *
 * Issuer chains are URL-encoded PEM, as Intel sends them.
 */
import type { ServerResponse } from 'node:http';
import { bytesToHex } from '@noble/hashes/utils.js';
import { buildTestPcsCollateral, pem, type TestPcsCollateral } from '@zkcredits/attest/testing';
import type { SimContext } from '../context.js';
import { fail } from '../http.js';

export const PCS_PATHS = {
  pckCrl: '/sgx/certification/v4/pckcrl',
  tcb: '/tdx/certification/v4/tcb',
  qeIdentity: '/tdx/certification/v4/qe/identity',
  rootCaCrlHex: '/sgx/certification/v4/rootcacrl',
  rootCaCrlDer: '/IntelSGXRootCA.der',
} as const;

export function isPcsPath(pathname: string): boolean {
  return (Object.values(PCS_PATHS) as string[]).includes(pathname);
}

function collateral(ctx: SimContext, ca?: 'platform' | 'processor'): TestPcsCollateral {
  const f = ctx.attestationFaults.current;
  return buildTestPcsCollateral(ctx.pki, {
    now: ctx.now(),
    ...(ca ? { ca } : {}),
    ...(f.tcbStatus ? { tcbStatus: f.tcbStatus } : {}),
    ...(f.revokedPck ? { revokePck: true } : {}),
    ...(f.expiredCollateral ? { expired: true } : {}),
    ...(f.staleCrl ? { staleCrl: f.staleCrl } : {}),
    ...(f.tamperedCrl ? { tamperCrl: f.tamperedCrl } : {}),
  });
}

function send(res: ServerResponse, body: string | Uint8Array, contentType: string, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  res.writeHead(200, { 'content-type': contentType, 'content-length': data.length, ...headers });
  res.end(data);
}

/** Serves one PCS route (`pathname` is one of `PCS_PATHS`). */
export function pcs(ctx: SimContext, url: URL, res: ServerResponse): void {
  switch (url.pathname) {
    case PCS_PATHS.pckCrl: {
      const ca = url.searchParams.get('ca');
      if (ca !== 'platform' && ca !== 'processor') throw fail(400, 'Invalid request parameters: ca must be platform or processor');
      const encoding = url.searchParams.get('encoding');
      if (encoding !== null && encoding !== 'der' && encoding !== 'pem') throw fail(400, 'Invalid request parameters: encoding must be der or pem');
      const c = collateral(ctx, ca);
      const headers = { 'SGX-PCK-CRL-Issuer-Chain': encodeURIComponent(c.pckCrlIssuerChain) };
      if (encoding === 'der') return send(res, c.pckCrlDer, 'application/pkix-crl', headers);
      return send(res, pem('X509 CRL', c.pckCrlDer), 'application/x-pem-file', headers);
    }
    case PCS_PATHS.tcb: {
      const fmspc = url.searchParams.get('fmspc') ?? '';
      if (!/^[0-9a-fA-F]{12}$/.test(fmspc)) throw fail(400, 'Invalid request parameters: fmspc must be 12 hex characters');
      if (fmspc.toLowerCase() !== bytesToHex(ctx.pki.platform.fmspc)) throw fail(404, `No TCB info for fmspc ${fmspc}`);
      const c = collateral(ctx);
      return send(res, c.tcbInfoBody, 'application/json', { 'TCB-Info-Issuer-Chain': encodeURIComponent(c.tcbIssuerChain) });
    }
    case PCS_PATHS.qeIdentity: {
      const c = collateral(ctx);
      return send(res, c.qeIdentityBody, 'application/json', { 'SGX-Enclave-Identity-Issuer-Chain': encodeURIComponent(c.tcbIssuerChain) });
    }
    case PCS_PATHS.rootCaCrlHex:
      return send(res, bytesToHex(collateral(ctx).rootCaCrlDer), 'text/plain');
    case PCS_PATHS.rootCaCrlDer:
      return send(res, collateral(ctx).rootCaCrlDer, 'application/pkix-crl');
    default:
      throw fail(404);
  }
}
