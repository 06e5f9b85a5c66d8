/**
 * The CRL checks of DCAP, done here rather than trusted to `@phala/dcap-qvl`: 0.3.9 matches
 * serial numbers against the CRLs but never checks a CRL's signature or freshness, and skips a
 * CRL it cannot parse, so whoever serves collateral could strip revocations. Every CRL must:
 *
 * - parse (an unparsable CRL is a failure, never skipped);
 * - be signed (ECDSA-SHA256) by its issuer: the root CA CRL by the trusted root; the PCK CRL by
 *   the first certificate of `pck_crl_issuer_chain`, which must itself chain to the trusted root
 *   (each certificate signed by the next, valid now, the last one byte-equal to the trusted root);
 * - name that issuer (CRL issuer = signer's subject) and, for the PCK CRL, the CA that issued the
 *   quote's PCK certificate;
 * - be fresh: thisUpdate <= now <= nextUpdate (a CRL without nextUpdate is refused);
 *
 * and neither the quote's PCK certificate nor its PCK CA (nor the PCK CRL's signer) may be listed.
 */
import type { Certificate, CertificateList } from '@peculiar/asn1-x509';
import {
  OID_ECDSA_SHA256,
  bytesEqual,
  certSignedBy,
  commonName,
  p256KeyOf,
  parseCertificate,
  parseCrl,
  pemCertificates,
  sameName,
  serialKey,
  verifyEcdsaSha256,
} from './x509.js';

export type CrlCheckInput = {
  /** DER of the root CA CRL (collateral `root_ca_crl`). */
  rootCaCrl: Uint8Array;
  /** DER of the PCK CRL (collateral `pck_crl`). */
  pckCrl: Uint8Array;
  /** PEM chain of the PCK CRL's issuer, issuer first, root last (collateral `pck_crl_issuer_chain`). */
  pckCrlIssuerChain: string;
  /** DER of the trusted root CA certificate. */
  rootCaDer: Uint8Array;
  /** DER of the quote's PCK (leaf) certificate and of the PCK CA that issued it. */
  pckLeafDer: Uint8Array;
  pckIntermediateDer: Uint8Array;
  now: Date;
};

type CrlCheckResult = {
  ok: boolean;
  /** What passed, or every problem found, for people. */
  detail: string;
  /** The earliest `nextUpdate` among the CRLs that parsed. */
  nextUpdate?: Date;
};

function revokedSerials(crl: CertificateList): Set<string> {
  return new Set((crl.tbsCertList.revokedCertificates ?? []).map((r) => serialKey(r.userCertificate)));
}

/** Checks one CRL's signature, issuer name and freshness against its signer; pushes problems. */
function checkOneCrl(label: string, crl: CertificateList, signer: Certificate, now: Date, problems: string[]): Date | undefined {
  if (crl.signatureAlgorithm.algorithm !== OID_ECDSA_SHA256 || !crl.tbsCertListRaw) {
    problems.push(`${label}: signature algorithm ${crl.signatureAlgorithm.algorithm} is not ECDSA-SHA256`);
  } else if (!signedByKeyOf(signer, new Uint8Array(crl.tbsCertListRaw), new Uint8Array(crl.signature))) {
    problems.push(`${label}: signature does not verify with the key of "${commonName(signer.tbsCertificate.subject)}"`);
  }
  if (!sameName(crl.tbsCertList.issuer, signer.tbsCertificate.subject)) {
    problems.push(
      `${label}: issuer "${commonName(crl.tbsCertList.issuer)}" is not its signer "${commonName(signer.tbsCertificate.subject)}"`,
    );
  }
  const thisUpdate = crl.tbsCertList.thisUpdate.getTime();
  const nextUpdate = crl.tbsCertList.nextUpdate?.getTime();
  if (thisUpdate.getTime() > now.getTime()) problems.push(`${label}: thisUpdate ${thisUpdate.toISOString()} is in the future`);
  if (!nextUpdate) problems.push(`${label}: has no nextUpdate`);
  else if (now.getTime() > nextUpdate.getTime()) {
    problems.push(`${label}: stale, nextUpdate ${nextUpdate.toISOString()} has passed (refresh the collateral)`);
  }
  return nextUpdate;
}

function signedByKeyOf(signer: Certificate, data: Uint8Array, derSignature: Uint8Array): boolean {
  try {
    return verifyEcdsaSha256(p256KeyOf(signer), data, derSignature);
  } catch {
    return false;
  }
}

function validAt(cert: Certificate, now: Date): boolean {
  const v = cert.tbsCertificate.validity;
  return v.notBefore.getTime().getTime() <= now.getTime() && now.getTime() <= v.notAfter.getTime().getTime();
}

/** Runs every CRL check; never throws for bad input (that is a failed result). */
export function checkCrls(input: CrlCheckInput): CrlCheckResult {
  const problems: string[] = [];
  const nextUpdates: Date[] = [];
  const root = parseCertificate(input.rootCaDer);
  const tryParse = <T>(label: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      problems.push(`${label}: does not parse (${(e as Error).message})`);
      return undefined;
    }
  };

  const rootCrl = tryParse('root CA CRL', () => parseCrl(input.rootCaCrl));
  if (rootCrl) {
    const nu = checkOneCrl('root CA CRL', rootCrl, root, input.now, problems);
    if (nu) nextUpdates.push(nu);
  }

  // The PCK CRL's signer, chained to the trusted root.
  const chainDers = pemCertificates(input.pckCrlIssuerChain);
  const chain = tryParse('PCK CRL issuer chain', () => chainDers.map(parseCertificate));
  let signer: Certificate | undefined;
  if (chain) {
    if (chain.length < 2) problems.push(`PCK CRL issuer chain: ${chain.length} certificate(s), expected the issuer and the root`);
    else if (!bytesEqual(chainDers[chainDers.length - 1]!, input.rootCaDer)) {
      problems.push('PCK CRL issuer chain: does not end at the trusted root');
    } else {
      let chained = true;
      for (let i = 0; i < chain.length - 1; i++) {
        if (!certSignedBy(chain[i]!, chain[i + 1]!)) {
          problems.push(`PCK CRL issuer chain: "${commonName(chain[i]!.tbsCertificate.subject)}" is not signed by the next certificate`);
          chained = false;
        }
        if (!validAt(chain[i]!, input.now)) {
          problems.push(`PCK CRL issuer chain: "${commonName(chain[i]!.tbsCertificate.subject)}" is not valid at ${input.now.toISOString()}`);
          chained = false;
        }
      }
      if (chained) signer = chain[0];
    }
  }

  const pckCrl = tryParse('PCK CRL', () => parseCrl(input.pckCrl));
  if (pckCrl && signer) {
    const nu = checkOneCrl('PCK CRL', pckCrl, signer, input.now, problems);
    if (nu) nextUpdates.push(nu);
  } else if (pckCrl) {
    problems.push('PCK CRL: not checked, its issuer chain is not trusted');
  }

  // Revocation of the certificates in use.
  const leaf = tryParse('PCK certificate', () => parseCertificate(input.pckLeafDer));
  const pckCa = tryParse('PCK CA certificate', () => parseCertificate(input.pckIntermediateDer));
  if (pckCrl && pckCa && !sameName(pckCrl.tbsCertList.issuer, pckCa.tbsCertificate.subject)) {
    problems.push(
      `PCK CRL: issued by "${commonName(pckCrl.tbsCertList.issuer)}", but the quote's PCK certificate comes from "${commonName(pckCa.tbsCertificate.subject)}"`,
    );
  }
  const rootRevoked = rootCrl ? revokedSerials(rootCrl) : new Set<string>();
  const pckRevoked = pckCrl ? revokedSerials(pckCrl) : new Set<string>();
  if (leaf && pckRevoked.has(serialKey(leaf.tbsCertificate.serialNumber))) {
    problems.push(`the quote's PCK certificate (serial ${serialKey(leaf.tbsCertificate.serialNumber)}) is revoked by the PCK CRL`);
  }
  if (pckCa && rootRevoked.has(serialKey(pckCa.tbsCertificate.serialNumber))) {
    problems.push(`the PCK CA "${commonName(pckCa.tbsCertificate.subject)}" is revoked by the root CA CRL`);
  }
  if (chain?.[0] && chain.length >= 2 && rootRevoked.has(serialKey(chain[0].tbsCertificate.serialNumber))) {
    problems.push(`the PCK CRL's signer "${commonName(chain[0].tbsCertificate.subject)}" is revoked by the root CA CRL`);
  }

  const nextUpdate = nextUpdates.length ? new Date(Math.min(...nextUpdates.map((d) => d.getTime()))) : undefined;
  if (problems.length) return { ok: false, detail: problems.join('; '), ...(nextUpdate ? { nextUpdate } : {}) };
  const counts = `${rootRevoked.size} + ${pckRevoked.size} revoked serials listed`;
  return {
    ok: true,
    detail: `root CA CRL and PCK CRL signed by their issuers (chained to the trusted root), fresh until ${nextUpdate?.toISOString()}; PCK certificate and CA not revoked (${counts})`,
    ...(nextUpdate ? { nextUpdate } : {}),
  };
}
