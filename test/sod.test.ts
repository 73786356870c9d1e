import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex } from '../src/bytes/index.js';
import {
  buildSod,
  createTestPki,
  decodeLdsSecurityObject,
  decodeSod,
  derToPem,
  digestBytes,
  encodeLdsSecurityObject,
  formatPassiveAuth,
  issueDocumentSigner,
  readCertificates,
  verifySod,
  type HashAlgorithm,
} from '../src/lds/index.js';

const NOW = new Date('2026-01-15T12:00:00Z');
const pki = createTestPki({ now: new Date('2025-01-01T00:00:00Z') });

function sampleFiles(): Map<number, Uint8Array> {
  return new Map([
    [1, Uint8Array.from({ length: 95 }, (_, i) => i)],
    [2, Uint8Array.from({ length: 600 }, (_, i) => (i * 7) & 0xff)],
    [11, Uint8Array.from({ length: 40 }, (_, i) => 255 - i)],
  ]);
}

describe('test PKI', () => {
  it('creates a CSCA and a document signer, both marked TEST, chained', () => {
    const csca = new X509Certificate(pki.csca.certificate);
    const ds = new X509Certificate(pki.documentSigner.certificate);
    expect(csca.subject).toContain('TEST');
    expect(ds.subject).toContain('TEST');
    expect(csca.ca).toBe(true);
    expect(ds.ca).toBe(false);
    expect(ds.checkIssued(csca)).toBe(true);
    expect(ds.verify(csca.publicKey)).toBe(true);
    expect(csca.verify(csca.publicKey)).toBe(true);
  });

  it('RSA works too', () => {
    const rsa = createTestPki({ keyType: 'rsa-2048', now: NOW });
    const files = sampleFiles();
    const r = verifySod(buildSod(files, rsa.documentSigner), files, [rsa.csca.certificate], NOW);
    expect(r.verdict).toBe('valid');
    expect(r.signature.detail).toContain('sha256WithRSAEncryption');
  });

  it('PEM round trip and bundles', () => {
    const pem = derToPem(pki.csca.certificate) + derToPem(pki.documentSigner.certificate);
    const list = readCertificates(new TextEncoder().encode(pem));
    expect(list.map((c) => bytesToHex(c))).toEqual([bytesToHex(pki.csca.certificate), bytesToHex(pki.documentSigner.certificate)]);
    expect(readCertificates(pki.csca.certificate)).toHaveLength(1);
    expect(() => readCertificates(new Uint8Array([1, 2, 3]), 'csca.der')).toThrow(/csca.der: certificate 1 does not parse/);
  });
});

describe('LDSSecurityObject', () => {
  it('decode(encode(x)) over random hashes, v0 and v1', () => {
    const algs: HashAlgorithm[] = ['SHA-1', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'];
    fc.assert(
      fc.property(
        fc.constantFrom(...algs),
        fc.uniqueArray(fc.integer({ min: 1, max: 16 }), { minLength: 2, maxLength: 16 }),
        fc.boolean(),
        (alg, dgs, v1) => {
          const len = digestBytes(alg, new Uint8Array(0)).length;
          const hashes = new Map(dgs.map((n) => [n, Uint8Array.from({ length: len }, (_, i) => (i * n) & 0xff)]));
          const info = v1 ? { ldsVersion: '0108', unicodeVersion: '040000' } : undefined;
          const der = encodeLdsSecurityObject({ hashAlgorithm: alg, dataGroupHashes: hashes, ...(info ? { ldsVersionInfo: info } : {}) });
          const back = decodeLdsSecurityObject(der);
          expect(back.version).toBe(v1 ? 1 : 0);
          expect(back.hashAlgorithm).toBe(alg);
          expect([...back.dataGroupHashes.keys()]).toEqual([...dgs].sort((a, b) => a - b));
          for (const [n, h] of hashes) expect(bytesToHex(back.dataGroupHashes.get(n)!)).toBe(bytesToHex(h));
          expect(back.ldsVersionInfo).toEqual(info);
          expect(bytesToHex(encodeLdsSecurityObject({ hashAlgorithm: alg, dataGroupHashes: back.dataGroupHashes, ...(info ? { ldsVersionInfo: info } : {}) }))).toBe(bytesToHex(der));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('refuses fewer than two data groups', () => {
    expect(() => encodeLdsSecurityObject({ hashAlgorithm: 'SHA-256', dataGroupHashes: new Map([[1, new Uint8Array(32)]]) })).toThrow(/at least 2/);
  });
});

describe('EF.SOD', () => {
  const files = sampleFiles();
  const sod = buildSod(files, pki.documentSigner, { signingTime: new Date('2025-06-01T00:00:00Z') });

  it('is 77 around a DER ContentInfo with the LDSSecurityObject and the DS certificate', () => {
    expect(sod[0]).toBe(0x77);
    const d = decodeSod(sod);
    expect(d.eContentType).toBe('2.23.136.1.1.1');
    expect(d.securityObject.version).toBe(0);
    expect(d.securityObject.hashAlgorithm).toBe('SHA-256');
    expect(d.certificates.map((c) => bytesToHex(c))).toEqual([bytesToHex(pki.documentSigner.certificate)]);
    expect(bytesToHex(d.securityObject.dataGroupHashes.get(2)!)).toBe(bytesToHex(digestBytes('SHA-256', files.get(2)!)));
    expect(d.signedAttributes?.signingTime?.toISOString()).toBe('2025-06-01T00:00:00.000Z');
    expect(d.signedAttributes?.der[0]).toBe(0x31);
  });

  it('verifies: signature, chain, validity and every file', () => {
    const r = verifySod(sod, files, [pki.csca.certificate], NOW);
    expect(r.verdict).toBe('valid');
    expect(r.signature.verdict).toBe('valid');
    expect(r.chain.verdict).toBe('valid');
    expect(r.validity.verdict).toBe('valid');
    expect(r.files.map((f) => [f.name, f.verdict])).toEqual([['DG1', 'valid'], ['DG2', 'valid'], ['DG11', 'valid']]);
    expect(r.documentSigner?.subject).toContain('TEST');
    expect(formatPassiveAuth(r)).toMatch(/passive authentication: VALID/);
  });

  it('changing any hashed byte fails passive authentication for that file only', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 11), fc.nat(), fc.integer({ min: 1, max: 255 }), (dg, pos, flip) => {
        const changed = new Map(files);
        const b = files.get(dg)!.slice();
        b[pos % b.length]! ^= flip;
        changed.set(dg, b);
        const r = verifySod(sod, changed, [pki.csca.certificate], NOW);
        expect(r.verdict).toBe('invalid');
        for (const f of r.files) expect(f.verdict).toBe(f.dataGroup === dg ? 'invalid' : 'valid');
        expect(r.signature.verdict).toBe('valid');
      }),
      { numRuns: 60 },
    );
  });

  it('a changed EF.SOD byte never passes: signature or structure fails', () => {
    const d = decodeSod(sod);
    // Flip bytes inside the eContent (the hashes): the messageDigest no longer matches.
    const at = indexOf(sod, d.eContent) + d.eContent.length - 3;
    const bad = sod.slice();
    bad[at]! ^= 0x01;
    const r = verifySod(bad, files, [pki.csca.certificate], NOW);
    expect(r.verdict).toBe('invalid');
    expect(r.signature.verdict).toBe('invalid');
    // And the file whose hash was changed is reported too: no failure hides another.
    expect(r.files.find((f) => f.dataGroup === 11)?.verdict).toBe('invalid');
    for (let i = 0; i < sod.length; i++) {
      const x = sod.slice();
      x[i]! ^= 0x5a;
      expect(verifySod(x, files, [pki.csca.certificate], NOW).verdict).not.toBe('valid');
    }
  });

  it('without CSCAs the chain is not checked and the verdict incomplete', () => {
    const r = verifySod(sod, files, [], NOW);
    expect(r.chain.verdict).toBe('not-checked');
    expect(r.verdict).toBe('incomplete');
  });

  it('another CSCA: chain invalid', () => {
    const other = createTestPki({ now: new Date('2025-01-01T00:00:00Z') });
    const r = verifySod(sod, files, [other.csca.certificate], NOW);
    expect(r.chain.verdict).toBe('invalid');
    expect(r.verdict).toBe('invalid');
  });

  it('expired document signer: validity invalid', () => {
    const r = verifySod(sod, files, [pki.csca.certificate], new Date('2040-01-01T00:00:00Z'));
    expect(r.validity.verdict).toBe('invalid');
    expect(r.verdict).toBe('invalid');
  });

  it('a file read but not in EF.SOD is invalid; one listed but not read is not checked', () => {
    const more = new Map(files);
    more.delete(2);
    more.set(12, new Uint8Array([1, 2, 3]));
    const r = verifySod(sod, more, [pki.csca.certificate], NOW);
    expect(r.files.find((f) => f.dataGroup === 2)?.verdict).toBe('not-checked');
    expect(r.files.find((f) => f.dataGroup === 12)?.verdict).toBe('invalid');
    expect(r.verdict).toBe('invalid');
    more.delete(12);
    expect(verifySod(sod, more, [pki.csca.certificate], NOW).verdict).toBe('valid');
  });

  it('a signer not in EF.SOD can be given', () => {
    const ds2 = issueDocumentSigner(pki.csca, { now: new Date('2025-01-01T00:00:00Z') });
    const s2 = buildSod(files, ds2);
    expect(verifySod(s2, files, [pki.csca.certificate], NOW).verdict).toBe('valid');
  });

  it('garbage is an invalid structure, not an exception', () => {
    const r = verifySod(new Uint8Array([0x77, 0x02, 0x30, 0x00]), files, [pki.csca.certificate], NOW);
    expect(r.verdict).toBe('invalid');
    expect(r.structure.verdict).toBe('invalid');
    expect(r.files.every((f) => f.verdict === 'not-checked')).toBe(true);
  });
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
