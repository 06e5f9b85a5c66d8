// The test PKI's certificates and CRLs as other X.509 code reads them: chains verify (Node's
// X509Certificate), CRLs parse (@peculiar/asn1-x509) and are signed by their issuer unless tampered,
// and the PCK certificate carries the SGX extension dcap-qvl reads.
import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { p256 } from '@noble/curves/nist.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { buildTestCollateral, buildTestPcsCollateral, createTestPki, type TestCertificate } from '../src/testing/index.js';

const require = createRequire(import.meta.url);
const { utils } = require('@phala/dcap-qvl') as { utils: Record<string, (b: Buffer) => unknown> };

const NOW = new Date('2026-09-01T12:00:00Z');
const pki = createTestPki({ seed: 'testing-pki' });

function parseCrl(hex: string) {
  const crl = AsnConvert.parse(Buffer.from(hex, 'hex'), CertificateList);
  const signedBy = (issuer: TestCertificate) =>
    p256.verify(new Uint8Array(crl.signature), new Uint8Array(crl.tbsCertListRaw!), issuer.publicKey, { format: 'der' });
  return { crl, signedBy };
}

describe('test PKI', () => {
  it('chains: leaf → PCK CA → root, TCB signer → root; names say TEST and not Intel', () => {
    const x = (c: TestCertificate) => new X509Certificate(Buffer.from(c.der));
    expect(x(pki.pck).verify(x(pki.platformCa).publicKey)).toBe(true);
    expect(x(pki.platformCa).verify(x(pki.root).publicKey)).toBe(true);
    expect(x(pki.processorCa).verify(x(pki.root).publicKey)).toBe(true);
    expect(x(pki.tcbSigning).verify(x(pki.root).publicKey)).toBe(true);
    expect(x(pki.root).verify(x(pki.root).publicKey)).toBe(true);
    expect(x(pki.root).ca).toBe(true);
    expect(x(pki.pck).ca).toBe(false);
    expect(x(pki.pck).issuer).toContain('SGX PCK Platform CA');
    for (const c of [pki.root, pki.platformCa, pki.tcbSigning, pki.pck]) expect(c.commonName).toMatch(/TEST.*\(not Intel\)/);
    expect(pki.pckChainPem).toBe(pki.pck.pem + pki.platformCa.pem + pki.root.pem);
  });

  it('the PCK certificate carries FMSPC, CPUSVN, PCESVN, PCE-ID and PPID where dcap-qvl looks', () => {
    const ext = utils.getIntelExtension!(Buffer.from(pki.pck.der)) as Buffer;
    expect(Buffer.from(utils.getFmspc!(ext) as Buffer).toString('hex').toUpperCase()).toBe('7E57F0000000');
    expect(Buffer.from(utils.getCpuSvn!(ext) as Buffer)).toEqual(Buffer.from(pki.platform.cpuSvn));
    expect(utils.getPceSvn!(ext)).toBe(pki.platform.pceSvn);
    const fmspc = createTestPki({ seed: 'x', fmspc: '00906ed50000' });
    const ext2 = utils.getIntelExtension!(Buffer.from(fmspc.pck.der)) as Buffer;
    expect(Buffer.from(utils.getFmspc!(ext2) as Buffer).toString('hex')).toBe('00906ed50000');
  });

  it('CRLs: fresh and signed by their issuers; the PCK CRL lists the PCK certificate when revoked', () => {
    const c = buildTestCollateral(pki, { now: NOW });
    const pck = parseCrl(c.pck_crl);
    const root = parseCrl(c.root_ca_crl);
    expect(pck.signedBy(pki.platformCa)).toBe(true);
    expect(pck.signedBy(pki.root)).toBe(false);
    expect(root.signedBy(pki.root)).toBe(true);
    for (const { crl } of [pck, root]) {
      expect(crl.tbsCertList.thisUpdate.getTime().getTime()).toBeLessThanOrEqual(NOW.getTime());
      expect(crl.tbsCertList.nextUpdate!.getTime().getTime()).toBeGreaterThan(NOW.getTime());
      expect(crl.tbsCertList.revokedCertificates ?? []).toEqual([]);
    }
    const revoked = parseCrl(buildTestCollateral(pki, { now: NOW, revokePck: true }).pck_crl).crl;
    expect(revoked.tbsCertList.revokedCertificates!.map((r) => Buffer.from(r.userCertificate).toString('hex'))).toEqual([
      Buffer.from(pki.pck.serial).toString('hex'),
    ]);
  });

  it('stale CRLs are correctly signed but past nextUpdate; tampered CRLs parse but do not verify', () => {
    for (const which of ['pck', 'root'] as const) {
      const field = which === 'pck' ? 'pck_crl' : 'root_ca_crl';
      const issuer = which === 'pck' ? pki.platformCa : pki.root;
      const stale = parseCrl(buildTestCollateral(pki, { now: NOW, staleCrl: which })[field]);
      expect(stale.signedBy(issuer)).toBe(true);
      expect(stale.crl.tbsCertList.nextUpdate!.getTime().getTime()).toBeLessThan(NOW.getTime());
      const tampered = parseCrl(buildTestCollateral(pki, { now: NOW, tamperCrl: which })[field]);
      expect(tampered.signedBy(issuer)).toBe(false);
      expect(tampered.crl.tbsCertList.nextUpdate!.getTime().getTime()).toBeGreaterThan(NOW.getTime());
    }
  });

  it('TCB info and QE identity: compact JSON as signed, PCS bodies wrap the same bytes', () => {
    const p = buildTestPcsCollateral(pki, { now: NOW });
    const tcb = JSON.parse(p.collateral.tcb_info);
    expect(tcb).toMatchObject({ id: 'TDX', version: 3, fmspc: '7E57F0000000', pceId: '0000' });
    expect(tcb.tcbLevels[0].tcbStatus).toBe('UpToDate');
    expect(JSON.stringify(tcb)).toBe(p.collateral.tcb_info);
    expect(JSON.parse(p.collateral.qe_identity)).toMatchObject({ id: 'TD_QE', version: 2, isvprodid: 2 });
    const body = JSON.parse(p.tcbInfoBody);
    expect(JSON.stringify(body.tcbInfo)).toBe(p.collateral.tcb_info);
    expect(body.signature).toBe(p.collateral.tcb_info_signature);
    expect(p.collateral.tcb_info_signature).toMatch(/^[0-9a-f]{128}$/);
    expect(JSON.stringify(JSON.parse(p.qeIdentityBody).enclaveIdentity)).toBe(p.collateral.qe_identity);
    const exp = JSON.parse(buildTestCollateral(pki, { now: NOW, expired: true }).tcb_info);
    expect(new Date(exp.nextUpdate).getTime()).toBeLessThan(NOW.getTime());
  });
});
