/**
 * EF.SOD and certificates written by chipwright's DER writer, checked by independent
 * implementations: OpenSSL (its `cms` and `verify` commands and Node's X509Certificate) and
 * pkijs, whose re-encoding of what it parsed must give the same bytes (the encoding is DER).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../src/bytes/index.js';
import { buildSod, createTestPki, derToPem, encodeLdsSecurityObject, digestBytes, type SigningKeyType } from '../src/lds/index.js';
import { createTestCardIssuer, issueCertificate } from '../src/perso/signers.js';
import { createEServicesCa, issueEServiceCertificate } from '../src/apps/eservices/certificates.js';
import { parseTlv } from '../src/tlv/ber.js';

const dir = mkdtempSync(join(tmpdir(), 'cw-der-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const files = new Map<number, Uint8Array>([
  [1, Uint8Array.from({ length: 90 }, (_, i) => i)],
  [2, Uint8Array.from({ length: 2000 }, (_, i) => (i * 13) & 0xff)],
  [14, Uint8Array.from({ length: 300 }, (_, i) => (i * 5) & 0xff)],
]);

describe.each<SigningKeyType>(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'])('EF.SOD signed with %s', (signerKey) => {
  const pki = createTestPki({ keyType: signerKey });
  const sod = buildSod(files, pki.documentSigner, { ldsVersionInfo: { ldsVersion: '0108', unicodeVersion: '040000' } });
  const contentInfo = parseTlv(sod).value; // inside the 77 wrapper

  it('OpenSSL cms -verify accepts the signature and chain, and returns the LDSSecurityObject', () => {
    writeFileSync(join(dir, `${signerKey}.sod`), contentInfo);
    writeFileSync(join(dir, `${signerKey}-csca.pem`), derToPem(pki.csca.certificate));
    openssl('cms', '-verify', '-inform', 'DER', '-in', `${signerKey}.sod`, '-CAfile', `${signerKey}-csca.pem`, '-purpose', 'any', '-binary', '-out', `${signerKey}.lso`);
    const hashes = new Map([...files].map(([n, b]) => [n, digestBytes('SHA-256', b)]));
    const expected = encodeLdsSecurityObject({ hashAlgorithm: 'SHA-256', dataGroupHashes: hashes, ldsVersionInfo: { ldsVersion: '0108', unicodeVersion: '040000' } });
    expect(bytesToHex(new Uint8Array(readFileSync(join(dir, `${signerKey}.lso`))))).toBe(bytesToHex(expected));
  });

  it('OpenSSL refuses it when one signed byte changes', () => {
    const bad = contentInfo.slice();
    // The last byte of the messageDigest attribute's value: inside what the signature covers.
    const lso = encodeLdsSecurityObject({ hashAlgorithm: 'SHA-256', dataGroupHashes: new Map([...files].map(([n, b]) => [n, digestBytes('SHA-256', b)])), ldsVersionInfo: { ldsVersion: '0108', unicodeVersion: '040000' } });
    const at = indexOf(bad, digestBytes('SHA-256', lso)) + 31;
    bad[at] = bad[at]! ^ 0x01;
    writeFileSync(join(dir, `${signerKey}-bad.sod`), bad);
    expect(() => openssl('cms', '-verify', '-inform', 'DER', '-in', `${signerKey}-bad.sod`, '-CAfile', `${signerKey}-csca.pem`, '-purpose', 'any', '-binary', '-out', `${signerKey}-bad.lso`)).toThrow();
  });

  it('pkijs parses it and re-encodes the same bytes', () => {
    const ci = pkijs.ContentInfo.fromBER(contentInfo);
    const sd = new pkijs.SignedData({ schema: ci.content });
    expect(sd.signerInfos).toHaveLength(1);
    expect(bytesToHex(new Uint8Array(ci.toSchema().toBER(false)))).toBe(bytesToHex(contentInfo));
  });
});

/** Offset of `needle` in `hay` (the test's way to find the signed message digest). */
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const i = Buffer.from(hay).indexOf(Buffer.from(needle));
  expect(i).toBeGreaterThan(0);
  return i;
}

describe('certificates issued for on-card keys', () => {
  const issuer = createTestCardIssuer({ now: new Date('2026-01-01T00:00:00Z') });
  const ca = new X509Certificate(Buffer.from(issuer.certificate));
  writeFileSync(join(dir, 'issuer.pem'), derToPem(issuer.certificate));

  it('the test CA is self-signed, a CA with pathLen 0, keyCertSign and cRLSign', () => {
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain('CN=chipwright TEST Card Issuer CA');
    expect(ca.subject).toContain('O=chipwright TEST');
    const ext = openssl('x509', '-in', 'issuer.pem', '-noout', '-ext', 'keyUsage,basicConstraints');
    expect(ext).toMatch(/critical/);
    expect(ext).toMatch(/Certificate Sign, CRL Sign/);
    expect(ext).toMatch(/CA:TRUE, pathlen:0/);
  });

  it.each([
    ['P-256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), 0x80, 'Digital Signature'],
    ['P-384', () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), 0x08, 'Key Agreement'],
    ['RSA-2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }), 0xa0, 'Digital Signature, Key Encipherment'],
  ] as const)('a %s key: OpenSSL verifies the chain and reads the extensions; pkijs re-encodes it unchanged', (name, gen, usage, usageText) => {
    const pair = gen();
    const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
    const der = issueCertificate({ issuer, subject: { commonName: `SPECIMEN ${name}`, serialNumber: '28463400001' }, publicKey: spki, keyUsage: usage, now: new Date('2026-01-01T00:00:00Z') });
    const cert = new X509Certificate(Buffer.from(der));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(bytesToHex(new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' })))).toBe(bytesToHex(spki));
    expect(cert.subject).toContain(`CN=SPECIMEN ${name}`);
    expect(cert.subject).toContain('serialNumber=28463400001');
    writeFileSync(join(dir, `${name}.pem`), derToPem(der));
    expect(openssl('verify', '-CAfile', 'issuer.pem', '-attime', String(Date.parse('2026-06-01T00:00:00Z') / 1000), `${name}.pem`)).toContain(': OK');
    const ext = openssl('x509', '-in', `${name}.pem`, '-noout', '-ext', 'keyUsage,subjectKeyIdentifier,authorityKeyIdentifier');
    expect(ext).toContain(usageText);
    const ski = openssl('x509', '-in', 'issuer.pem', '-noout', '-ext', 'subjectKeyIdentifier').split('\n')[1]!.trim();
    expect(ext).toContain(ski); // the authority key identifier names the CA's key
    expect(bytesToHex(new Uint8Array(pkijs.Certificate.fromBER(der).toSchema(true).toBER(false)))).toBe(bytesToHex(der));
  });

  it('refuses a public key that is not a SubjectPublicKeyInfo before signing anything', () => {
    expect(() => issueCertificate({ issuer, subject: { commonName: 'x' }, publicKey: Uint8Array.of(0x04, 0x01, 0x00), keyUsage: 0x80 })).toThrow(/SubjectPublicKeyInfo/);
  });
});

describe('the test PKI and e-services certificates (one writer, lds/x509.ts)', () => {
  const pki = createTestPki({ keyType: 'ecdsa-p384', now: new Date('2026-01-01T00:00:00Z') });
  writeFileSync(join(dir, 'p384-csca.pem'), derToPem(pki.csca.certificate));
  writeFileSync(join(dir, 'p384-ds.pem'), derToPem(pki.documentSigner.certificate));

  it('CSCA and document signer: OpenSSL verifies the chain and reads ICAO 9303-12 §7.1 extensions; pkijs re-encodes both unchanged', () => {
    expect(openssl('verify', '-CAfile', 'p384-csca.pem', '-attime', String(Date.parse('2026-06-01T00:00:00Z') / 1000), 'p384-ds.pem')).toContain(': OK');
    expect(openssl('x509', '-in', 'p384-csca.pem', '-noout', '-ext', 'keyUsage,basicConstraints')).toMatch(/Certificate Sign, CRL Sign[\s\S]*CA:TRUE, pathlen:0/);
    expect(openssl('x509', '-in', 'p384-ds.pem', '-noout', '-ext', 'keyUsage')).toContain('Digital Signature');
    expect(openssl('x509', '-in', 'p384-ds.pem', '-noout', '-text')).toContain('ecdsa-with-SHA384');
    for (const der of [pki.csca.certificate, pki.documentSigner.certificate]) {
      expect(bytesToHex(new Uint8Array(pkijs.Certificate.fromBER(der).toSchema(true).toBER(false)))).toBe(bytesToHex(der));
    }
  });

  it('an e-services authentication certificate: clientAuth, digitalSignature, chained to the e-services CA', () => {
    const ca = createEServicesCa({ country: 'AE', now: new Date('2026-01-01T00:00:00Z') });
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
    const der = issueEServiceCertificate(ca, spki, { commonName: 'SPECIMEN AMINA (authentication)', serialNumber: '29963400001' }, 'authentication', {
      notBefore: new Date('2026-01-02T00:00:00Z'),
      notAfter: new Date('2031-01-02T00:00:00Z'),
    });
    writeFileSync(join(dir, 'es-ca.pem'), derToPem(ca.certificate));
    writeFileSync(join(dir, 'es-auth.pem'), derToPem(der));
    expect(openssl('verify', '-CAfile', 'es-ca.pem', '-purpose', 'sslclient', '-attime', String(Date.parse('2026-06-01T00:00:00Z') / 1000), 'es-auth.pem')).toContain(': OK');
    const cert = new X509Certificate(Buffer.from(der));
    expect(cert.subject).toContain('C=AE'); // the CA's country when the subject gives none
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(openssl('x509', '-in', 'es-auth.pem', '-noout', '-ext', 'keyUsage')).toContain('Digital Signature');
    expect(bytesToHex(new Uint8Array(pkijs.Certificate.fromBER(der).toSchema(true).toBER(false)))).toBe(bytesToHex(der));
  });
});
