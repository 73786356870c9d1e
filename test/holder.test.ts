import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  HOLDER_SCHEMA,
  HolderError,
  holderMrz,
  holderToDocument,
  isCalendarDate,
  loadHolder,
  luhnValid,
  maskedPanProblem,
  parseHolder,
  validateHolder,
  type Holder,
} from '../src/holder/index.js';
import { createTestPki, decodeFingerMinutiaeRecord, derToPem, parseTd1 } from '../src/lds/index.js';

const FULL = 'profiles/samples/specimen-full.yaml';
const MINIMAL = 'profiles/samples/specimen-minimal.json';

/** The error a parse throws, or a failure. */
function issuesOf(fn: () => unknown): HolderError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HolderError) return e;
    throw e;
  }
  throw new Error('expected a HolderError');
}

const MINIMAL_YAML = `identity:
  primaryIdentifier: SPECIMEN
  idNumber: "1"
  nationality: UTO
  sex: F
  dateOfBirth: 1990-01-01
document:
  type: I
  number: D23145890
  issuingState: UTO
  dateOfIssue: 2020-01-01
  dateOfExpiry: 2030-01-01
`;

describe('published schema', () => {
  it('profiles/holder.schema.json is the schema the validator uses', () => {
    expect(JSON.parse(readFileSync('profiles/holder.schema.json', 'utf8'))).toEqual(JSON.parse(JSON.stringify(HOLDER_SCHEMA)));
  });
});

describe('samples', () => {
  it('the full specimen: Arabic name, face, ten fingers, every section', () => {
    const h = loadHolder(FULL);
    expect(h.identity.fullNameArabic).toBe('سبيسيمن أمينة حسن');
    expect(h.face?.format).toBe('jpeg');
    expect([h.face?.width, h.face?.height]).toEqual([240, 320]);
    expect(h.fingerprints).toHaveLength(10);
    expect(new Set(h.fingerprints.map((f) => f.position)).size).toBe(10);
    for (const f of h.fingerprints) {
      const rec = decodeFingerMinutiaeRecord(f.template);
      expect(rec.views[0]!.minutiae.length).toBeGreaterThan(0);
    }
    expect(h.healthInsurance?.dependants).toHaveLength(2);
    expect(h.drivingLicence?.categories.map((c) => c.category)).toEqual(['B', 'A']);
    expect(h.financialAccounts).toHaveLength(2);
    expect(h.eServices?.keyPairs.map((k) => k.label)).toEqual(['authentication', 'signature']);
    const mrz = parseTd1(holderMrz(h));
    expect(mrz.documentNumber).toBe('SPECIMEN1');
    expect(mrz.optionalData1).toBe('29963400001');
    expect(mrz.primaryIdentifier).toBe('SPECIMEN');
    expect(mrz.secondaryIdentifier).toBe('AMINA HASSAN');
  });

  it('the minimal specimen (JSON) has identity and document only', () => {
    const h = loadHolder(MINIMAL);
    expect(h.fingerprints).toEqual([]);
    expect(h.face).toBeUndefined();
    expect(holderMrz(h).slice(60)).toBe('SPECIMEN<<TEST<<<<<<<<<<<<<<<<');
    expect(holderMrz(h)[37]).toBe('<'); // sex X
  });

  it('document → model → document → model is stable', () => {
    const h = loadHolder(FULL);
    const again = parseHolder(stringify(holderToDocument(h)));
    expect(again).toEqual(h);
  });
});

describe('errors name file, line, field and a hint', () => {
  it('a wrong enum value', () => {
    const text = MINIMAL_YAML.replace('sex: F', 'sex: female');
    const e = issuesOf(() => parseHolder(text, { file: 'alice.yaml' }));
    expect(e.issues).toHaveLength(1);
    expect(e.message).toBe('alice.yaml:5 identity.sex: expected one of F, M, X, got "female" — F, M or X (unspecified; < in the MRZ)');
  });

  it('an unknown key points at the key and lists the known ones', () => {
    const text = MINIMAL_YAML.replace('  sex: F\n', '  sex: F\n  nickname: Ami\n');
    const e = issuesOf(() => parseHolder(text, { file: 'alice.yaml' }));
    expect(e.issues[0]).toMatchObject({ file: 'alice.yaml', line: 6, path: 'identity.nickname', message: 'unknown key' });
    expect(e.issues[0]!.hint).toMatch(/expected one of: primaryIdentifier, secondaryIdentifier/);
  });

  it('a missing field points at its parent', () => {
    const text = MINIMAL_YAML.replace('  nationality: UTO\n', '');
    const e = issuesOf(() => parseHolder(text, { file: 'x.yaml' }));
    expect(e.issues[0]).toMatchObject({ line: 1, path: 'identity.nationality', message: 'missing (required)' });
  });

  it('a number where a string is expected suggests quotes', () => {
    const e = issuesOf(() => parseHolder(MINIMAL_YAML.replace('idNumber: "1"', 'idNumber: 123'), { file: 'x.yaml' }));
    expect(e.message).toBe('x.yaml:3 identity.idNumber: expected a string, got number 123 — write it in quotes, e.g. "0123"');
  });

  it('JSON files get line numbers too', () => {
    const json = JSON.stringify(JSON.parse(readFileSync(MINIMAL, 'utf8')), null, 2).replace('"sex": "X"', '"sex": "Y"');
    const e = issuesOf(() => parseHolder(json, { file: 'h.json' }));
    expect(e.issues[0]).toMatchObject({ file: 'h.json', line: 8, path: 'identity.sex' });
  });

  it('every problem at once, in file order', () => {
    const text = MINIMAL_YAML.replace('sex: F', 'sex: Q').replace('type: I', 'type: P').replace('nationality: UTO', 'nationality: utopia');
    const e = issuesOf(() => parseHolder(text, { file: 'x.yaml' }));
    expect(e.issues.map((i) => i.path)).toEqual(['identity.nationality', 'identity.sex', 'document.type']);
  });

  it('YAML syntax errors and duplicate keys', () => {
    const e = issuesOf(() => parseHolder('identity: [\n', { file: 'bad.yaml' }));
    expect(e.issues[0]!.file).toBe('bad.yaml');
    const d = issuesOf(() => parseHolder(MINIMAL_YAML + 'identity: {}\n', { file: 'dup.yaml' }));
    expect(d.message).toMatch(/dup.yaml:13 .*unique/);
  });

  it('impossible dates and dates out of order', () => {
    const text = MINIMAL_YAML.replace('dateOfBirth: 1990-01-01', 'dateOfBirth: 1990-02-30').replace('dateOfExpiry: 2030-01-01', 'dateOfExpiry: 2019-01-01');
    const e = issuesOf(() => parseHolder(text, { file: 'x.yaml' }));
    expect(e.issues.map((i) => [i.line, i.path])).toEqual([[6, 'identity.dateOfBirth'], [12, 'document.dateOfExpiry']]);
  });

  it('names the MRZ cannot write', () => {
    const e = issuesOf(() => parseHolder(MINIMAL_YAML.replace('primaryIdentifier: SPECIMEN', 'primaryIdentifier: Ελένη'), { file: 'x.yaml' }));
    expect(e.issues[0]!.path).toBe('identity.primaryIdentifier');
  });

  it('a document number too long for line 1 with optional data', () => {
    const text = MINIMAL_YAML.replace('number: D23145890', 'number: D231458901234567').replace('  dateOfExpiry: 2030-01-01\n', '  dateOfExpiry: 2030-01-01\n  mrzOptionalData: { line1: "12345678" }\n');
    const e = issuesOf(() => parseHolder(text, { file: 'x.yaml' }));
    expect(e.issues[0]!.path).toBe('document.mrzOptionalData.line1');
    expect(e.issues[0]!.message).toMatch(/TD1 MRZ cannot be written/);
  });
});

describe('sections other applications use', () => {
  const withSection = (yaml: string): string => MINIMAL_YAML + yaml;

  it('masked PAN rules', () => {
    expect(maskedPanProblem('411111******1111')).toBeUndefined();
    expect(maskedPanProblem('41111111****1111')).toBeUndefined();
    expect(maskedPanProblem('4111111111111111')).toMatch(/full card number/);
    expect(maskedPanProblem('4111111*****11111')).toMatch(/last 4/);
    expect(maskedPanProblem('41111111*****111')).toBeUndefined();
    expect(maskedPanProblem('411111111****111')).toMatch(/first 8/);
    expect(maskedPanProblem('4111*11111***111')).toMatch(/start and the end/);
    const e = issuesOf(() => parseHolder(withSection('financialAccounts:\n  - { bank: B, accountReference: ACC-1, type: debit-card, maskedPan: "4111111111111111" }\n'), { file: 'x.yaml' }));
    expect(e.issues[0]).toMatchObject({ line: 14, path: 'financialAccounts[0].maskedPan' });
    const f = issuesOf(() => parseHolder(withSection('financialAccounts:\n  - { bank: B, accountReference: "4111 1111 1111 1111", type: current }\n'), { file: 'x.yaml' }));
    expect(f.issues[0]!.message).toBe('looks like a full card number');
    expect(luhnValid('4111111111111111')).toBe(true);
  });

  it('health insurance dates and unique member numbers', () => {
    const e = issuesOf(() =>
      parseHolder(
        withSection(`healthInsurance:
  insurer: X
  memberNumber: M-1
  class: A
  validFrom: 2025-01-01
  validUntil: 2024-01-01
  dependants:
    - { name: SPECIMEN KID, relationship: child, memberNumber: M-1, dateOfBirth: 2020-01-01 }
`),
        { file: 'x.yaml' },
      ),
    );
    expect(e.issues.map((i) => i.path)).toEqual(['healthInsurance.validUntil', 'healthInsurance.dependants[0].memberNumber']);
  });

  it('licence categories: unique, dated, restriction codes', () => {
    const e = issuesOf(() =>
      parseHolder(
        withSection(`drivingLicence:
  number: DL-1
  authority: X
  dateOfIssue: 2020-01-01
  dateOfExpiry: 2030-01-01
  categories:
    - { category: B, dateOfIssue: 2020-01-01, dateOfExpiry: 2030-01-01, restrictions: ["01.06", "1x"] }
    - { category: B, dateOfIssue: 2020-01-01, dateOfExpiry: 2030-01-01 }
`),
        { file: 'x.yaml' },
      ),
    );
    expect(e.issues.map((i) => i.path)).toEqual(['drivingLicence.categories[0].restrictions[1]']);
    const f = issuesOf(() =>
      parseHolder(
        withSection(`drivingLicence:
  number: DL-1
  authority: X
  dateOfIssue: 2020-01-01
  dateOfExpiry: 2030-01-01
  categories:
    - { category: B, dateOfIssue: 2020-01-01, dateOfExpiry: 2030-01-01 }
    - { category: B, dateOfIssue: 2020-01-01, dateOfExpiry: 2030-01-01 }
`),
        { file: 'x.yaml' },
      ),
    );
    expect(f.issues[0]).toMatchObject({ line: 20, path: 'drivingLicence.categories[1].category' });
  });

  it('e-services: unique labels, certificates that match the key type', () => {
    const pki = createTestPki();
    const pem = Buffer.from(derToPem(pki.documentSigner.certificate)).toString('base64');
    const h = parseHolder(withSection(`eServices:\n  keyPairs:\n    - { label: auth, usage: authentication, algorithm: ecdsa-p256, certificate: { base64: "${pem}" } }\n`));
    expect(h.eServices?.keyPairs[0]?.certificate).toEqual(pki.documentSigner.certificate);
    const e = issuesOf(() =>
      parseHolder(
        withSection(`eServices:\n  keyPairs:\n    - { label: auth, usage: authentication, algorithm: rsa-2048, certificate: { base64: "${pem}" } }\n    - { label: auth, usage: signature, algorithm: ecdsa-p256 }\n`),
        { file: 'x.yaml' },
      ),
    );
    expect(e.issues.map((i) => i.message)).toEqual(["the certificate's key is ecdsa-p256, the key pair says rsa-2048", 'auth is already used by keyPairs[0]']);
  });
});

describe('biometrics in the document', () => {
  const base: () => Record<string, unknown> = () => JSON.parse(readFileSync(MINIMAL, 'utf8')) as Record<string, unknown>;

  it('a face must be JPEG or JPEG 2000', () => {
    const doc = { ...base(), face: { image: { base64: Buffer.from('GIF89a....').toString('base64') } } };
    const e = issuesOf(() => validateHolder(doc));
    expect(e.issues[0]).toMatchObject({ path: 'face.image' });
    expect(e.message).toMatch(/neither JPEG/);
  });

  it('a path that does not exist names the resolved file', () => {
    const doc = { ...base(), face: { image: { path: 'nope.jpg' } } };
    const e = issuesOf(() => validateHolder(doc, { baseDir: '/tmp' }));
    expect(e.message).toBe('face.image.path: cannot read /tmp/nope.jpg (ENOENT) — paths are relative to the holder document');
  });

  it('bytes are path or base64, not both', () => {
    const doc = { ...base(), face: { image: { path: 'a.jpg', base64: 'AA==' } } };
    expect(issuesOf(() => validateHolder(doc)).issues[0]).toMatchObject({ path: 'face.image', message: 'give exactly one of path or base64' });
  });

  it('fingerprints: unique positions, one of template/minutiae, templates for the right finger', () => {
    const thumb = readFileSync('profiles/samples/specimen-right-thumb.fmr').toString('base64');
    const doc = {
      ...base(),
      fingerprints: [
        { position: 'left-index', template: { base64: thumb } },
        { position: 'right-ring' },
        { position: 'right-ring', minutiae: { imageWidth: 10, imageHeight: 10, points: [] } },
        { position: 'left-little', template: { base64: Buffer.from('FMR\0 20\0garbage').toString('base64') } },
      ],
    };
    const e = issuesOf(() => validateHolder(doc));
    expect(e.issues.map((i) => i.path)).toEqual(['fingerprints[0].template', 'fingerprints[1]', 'fingerprints[2].position', 'fingerprints[3].template']);
    expect(e.issues[0]!.message).toBe('the record is for right-thumb (position 1), the entry says left-index');
  });

  it('at most 10 fingers', () => {
    const fingers = Array.from({ length: 11 }, () => ({ position: 'right-thumb', minutiae: { imageWidth: 1, imageHeight: 1, points: [] } }));
    expect(issuesOf(() => validateHolder({ ...base(), fingerprints: fingers })).issues[0]).toMatchObject({ path: 'fingerprints', message: 'expected at most 10 entries, got 11' });
  });

  it('structured minutiae are encoded as a 19794-2 record', () => {
    const doc = {
      ...base(),
      fingerprints: [{ position: 'left-middle', minutiae: { imageWidth: 300, imageHeight: 400, quality: 77, points: [{ type: 'bifurcation', x: 10, y: 20, angle: 90, quality: 50 }] } }],
    };
    const h: Holder = validateHolder(doc);
    const rec = decodeFingerMinutiaeRecord(h.fingerprints[0]!.template);
    expect(rec.views[0]).toMatchObject({ position: 8, quality: 77, minutiae: [{ type: 'bifurcation', x: 10, y: 20, angle: 64, quality: 50 }] });
    expect([rec.imageWidth, rec.imageHeight, rec.resolutionX]).toEqual([300, 400, 197]);
  });
});

describe('checks', () => {
  it('calendar dates', () => {
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2023-02-29')).toBe(false);
    expect(isCalendarDate('2023-04-31')).toBe(false);
    expect(isCalendarDate('2023-4-3')).toBe(false);
  });
});
