import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex } from '../src/bytes/index.js';
import { checkDigit } from '../src/crypto/bac.js';
import { PACE_OID, encodeSecurityInfos } from '../src/crypto/security-infos.js';
import {
  BIOMETRIC_TYPE,
  FORMAT_TYPE,
  LdsError,
  MrzError,
  angleFromDegrees,
  angleToDegrees,
  dataGroupOfTag,
  decodeDg1,
  decodeDg11,
  decodeDg12,
  decodeDg14,
  decodeDg15,
  decodeDg2,
  decodeDg3,
  decodeEfCom,
  decodeFaceRecord,
  decodeFingerMinutiaeRecord,
  encodeDg1,
  encodeDg11,
  encodeDg12,
  encodeDg14,
  encodeDg15,
  encodeDg2,
  encodeDg3,
  encodeEfCom,
  encodeFaceRecord,
  encodeFingerMinutiaeRecord,
  faceImage,
  faceTemplate,
  fingerSubtype,
  fingerTemplate,
  imageInfo,
  isoDateFromMrz,
  joinParts,
  mrzName,
  parseTd1,
  splitParts,
  td1Mrz,
  type BiometricHeader,
  type Dg11,
  type Dg12,
  type FaceRecord,
  type FacialRecord,
  type FingerMinutiaeRecord,
  type Td1Fields,
} from '../src/lds/index.js';

interface Specimen {
  readonly name: string;
  readonly fields: Td1Fields;
  readonly checkDigits: { documentNumber: number; dateOfBirth: number; dateOfExpiry: number; composite: number };
  readonly mrz: [string, string, string];
  readonly mrzInformation: string;
}
const VECTORS = JSON.parse(readFileSync('test-vectors/icao-9303-5-td1.json', 'utf8')) as { specimens: Specimen[] };

const hex = bytesToHex;

describe('TD1 MRZ (ICAO 9303-5)', () => {
  for (const s of VECTORS.specimens) {
    it(`${s.name}: computed byte for byte, check digits and all`, () => {
      expect(td1Mrz(s.fields)).toEqual(s.mrz);
      const p = parseTd1(s.mrz.join('\n'));
      expect(p.documentNumber).toBe(s.fields.documentNumber);
      expect(p.mrzInformation).toBe(s.mrzInformation);
      expect(p.primaryIdentifier).toBe(s.fields.primaryIdentifier);
      expect(p.secondaryIdentifier).toBe(s.fields.secondaryIdentifier);
      expect(checkDigit(s.fields.documentNumber.padEnd(9, '<'))).toBe(s.checkDigits.documentNumber);
      expect(checkDigit(s.fields.dateOfBirth)).toBe(s.checkDigits.dateOfBirth);
      expect(checkDigit(s.fields.dateOfExpiry)).toBe(s.checkDigits.dateOfExpiry);
      expect(Number(s.mrz[1][29])).toBe(s.checkDigits.composite);
    });
  }

  it('every wrong check digit is named', () => {
    const mrz = VECTORS.specimens[0]!.mrz.join('');
    const flip = (i: number): string => mrz.slice(0, i) + String((Number(mrz[i]) + 1) % 10) + mrz.slice(i + 1);
    expect(() => parseTd1(flip(14))).toThrow(/document number check digit/);
    expect(() => parseTd1(flip(36))).toThrow(/date of birth check digit/);
    expect(() => parseTd1(flip(44))).toThrow(/date of expiry check digit/);
    expect(() => parseTd1(flip(59))).toThrow(/composite check digit/);
  });

  it('names: transliteration, separators and truncation', () => {
    expect(mrzName("Anne-Marie O'Neill")).toBe('ANNE<MARIE<ONEILL');
    expect(mrzName('Müller Ærø Jürgen')).toBe('MUELLER<AEROE<JUERGEN');
    expect(mrzName('Ñúñez')).toBe('NUNEZ');
    expect(() => mrzName('محمد')).toThrow(MrzError);
    const line3 = td1Mrz({ ...VECTORS.specimens[0]!.fields, primaryIdentifier: 'VANDERBERGHE SPECIMENSON', secondaryIdentifier: 'ALEXANDRA CHRISTINA' })[2];
    expect(line3).toHaveLength(30);
    expect(line3).toBe('VANDERBERGHE<SPECIMENSON<<ALEX');
  });

  it('round trip over random fields (long document numbers included)', () => {
    const mrzText = (min: number, max: number): fc.Arbitrary<string> => fc.stringMatching(new RegExp(`^[0-9A-Z]{${min},${max}}$`));
    const yymmdd = fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 })).map(([y, m, d]) => [y, m, d].map((n) => String(n).padStart(2, '0')).join(''));
    const name = fc.stringMatching(/^[A-Z]{1,8}( [A-Z]{1,8}){0,2}$/);
    fc.assert(
      fc.property(mrzText(1, 22), yymmdd, yymmdd, name, fc.option(name, { nil: undefined }), fc.constantFrom<'F' | 'M' | '<'>('F', 'M', '<'), mrzText(0, 2), (number, dob, doe, primary, secondary, sex, opt1) => {
        const f: Td1Fields = {
          documentCode: 'ID',
          issuingState: 'QAT',
          documentNumber: number,
          dateOfBirth: dob,
          sex,
          dateOfExpiry: doe,
          nationality: 'QAT',
          primaryIdentifier: primary,
          ...(secondary !== undefined ? { secondaryIdentifier: secondary } : {}),
          optionalData1: opt1,
          optionalData2: 'X1',
        };
        const lines = td1Mrz(f);
        const p = parseTd1(lines.join(''));
        expect(p).toMatchObject({ documentNumber: number, dateOfBirth: dob, dateOfExpiry: doe, sex, optionalData1: opt1, optionalData2: 'X1', nationality: 'QAT', issuingState: 'QAT', documentCode: 'ID' });
        if (!p.nameTruncated) expect(p.primaryIdentifier).toBe(primary);
        const back = decodeDg1(encodeDg1({ mrz: lines.join('') }));
        expect(back.mrz).toBe(lines.join(''));
        expect(hex(encodeDg1(back))).toBe(hex(encodeDg1({ mrz: lines.join('') })));
      }),
      { numRuns: 300 },
    );
  });

  it('centuries of MRZ dates', () => {
    expect(isoDateFromMrz('900517', 2026)).toBe('1990-05-17');
    expect(isoDateFromMrz('150101', 2026)).toBe('2015-01-01');
    expect(isoDateFromMrz('340228', 2076)).toBe('2034-02-28');
  });
});

describe('EF.COM and DG1', () => {
  it('EF.COM bytes, round trips', () => {
    const com = encodeEfCom({ ldsVersion: '1.7', unicodeVersion: '4.0.0', dataGroups: [1, 2, 11] });
    expect(hex(com)).toBe('60155F0104303130375F3606303430303030 5C03 61756B'.replace(/ /g, ''));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 16 }), { maxLength: 16 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), (dgs, a, b) => {
        const x = { ldsVersion: `${a}.${b}`, unicodeVersion: `${b}.${a}.0`, dataGroups: dgs };
        const bytes = encodeEfCom(x);
        expect(decodeEfCom(bytes)).toEqual(x);
        expect(hex(encodeEfCom(decodeEfCom(bytes)))).toBe(hex(bytes));
      }),
    );
    expect(() => decodeEfCom(new Uint8Array([0x61, 0x00]))).toThrow(LdsError);
  });

  it('DG1 refuses what is not an MRZ', () => {
    expect(() => encodeDg1({ mrz: 'abc' })).toThrow(/90 \(TD1\)/);
    expect(dataGroupOfTag(0x6b)?.name).toBe('DG11');
  });
});

// --- biometrics ------------------------------------------------------------------------------------

const byte = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });

const facial = (maxImage: number): fc.Arbitrary<FacialRecord> =>
  fc.record({
    gender: byte,
    eyeColour: byte,
    hairColour: byte,
    propertyMask: fc.integer({ min: 0, max: 0xffffff }),
    expression: u16,
    poseAngle: fc.tuple(byte, byte, byte),
    poseAngleUncertainty: fc.tuple(byte, byte, byte),
    featurePoints: fc.array(fc.record({ type: byte, major: fc.integer({ min: 0, max: 15 }), minor: fc.integer({ min: 0, max: 15 }), x: u16, y: u16, reserved: u16 }), { maxLength: 6 }),
    imageType: byte,
    imageDataType: fc.constantFrom(0, 1),
    width: u16,
    height: u16,
    colourSpace: byte,
    sourceType: byte,
    deviceType: u16,
    quality: u16,
    image: fc.uint8Array({ minLength: 0, maxLength: maxImage }),
  });

const header = (type: number, format: number): fc.Arbitrary<BiometricHeader> =>
  fc.record(
    {
      icaoVersion: fc.constant(new Uint8Array([1, 1])),
      biometricType: fc.constant(type),
      subtype: byte,
      creationDate: fc.uint8Array({ minLength: 7, maxLength: 7 }),
      validityPeriod: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      creator: fc.uint8Array({ minLength: 2, maxLength: 2 }),
      formatOwner: fc.constant(0x0101),
      formatType: fc.constant(format),
    },
    { requiredKeys: ['formatOwner', 'formatType'] },
  );

const minutiaeRecord: fc.Arbitrary<FingerMinutiaeRecord> = fc.record({
  equipmentCompliance: fc.integer({ min: 0, max: 15 }),
  equipmentId: fc.integer({ min: 0, max: 0xfff }),
  imageWidth: u16,
  imageHeight: u16,
  resolutionX: u16,
  resolutionY: u16,
  views: fc.array(
    fc.record({
      position: fc.integer({ min: 0, max: 10 }),
      viewNumber: fc.integer({ min: 0, max: 15 }),
      impressionType: fc.constantFrom(0, 1, 2, 3, 8),
      quality: fc.integer({ min: 0, max: 100 }),
      minutiae: fc.array(
        fc.record({
          type: fc.constantFrom('other' as const, 'ending' as const, 'bifurcation' as const),
          x: fc.integer({ min: 0, max: 0x3fff }),
          y: fc.integer({ min: 0, max: 0x3fff }),
          angle: byte,
          quality: fc.integer({ min: 0, max: 100 }),
        }),
        { maxLength: 40 },
      ),
      extendedData: fc.uint8Array({ maxLength: 20 }),
    }),
    { minLength: 1, maxLength: 2 },
  ),
});

describe('ISO/IEC 19794-5 face records', () => {
  it('decode(encode(x)) and encode(decode(bytes)) with faces up to 30 KB', () => {
    fc.assert(
      fc.property(fc.array(facial(30 * 1024), { minLength: 0, maxLength: 2 }), (faces) => {
        const rec: FaceRecord = { faces };
        const bytes = encodeFaceRecord(rec);
        const back = decodeFaceRecord(bytes);
        expect(back).toEqual(rec);
        expect(hex(encodeFaceRecord(back))).toBe(hex(bytes));
      }),
      { numRuns: 40 },
    );
  });

  it('the header and lengths are as ISO/IEC 19794-5 lays them out', () => {
    const img = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]);
    const bytes = encodeFaceRecord({ faces: [faceImage(img, { width: 240, height: 320, gender: 2 })] });
    // 'FAC' 00, '010' 00, length 14 + 20 + 12 + 4 = 50, one image; data length 36.
    expect(hex(bytes.subarray(0, 18))).toBe('464143003031300000000032000100000024');
    expect(bytes.length).toBe(50);
    expect(() => decodeFaceRecord(bytes.subarray(0, 49))).toThrow(/record length says 50 bytes, the block has 49/);
    const bad = bytes.slice();
    bad[4] = 0x31;
    expect(() => decodeFaceRecord(bad)).toThrow(/version/);
  });
});

describe('ISO/IEC 19794-2 finger minutiae records', () => {
  it('decode(encode(x)) and encode(decode(bytes))', () => {
    fc.assert(
      fc.property(minutiaeRecord, (rec) => {
        const bytes = encodeFingerMinutiaeRecord(rec);
        expect(decodeFingerMinutiaeRecord(bytes)).toEqual(rec);
        expect(hex(encodeFingerMinutiaeRecord(decodeFingerMinutiaeRecord(bytes)))).toBe(hex(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('layout: 24-byte header, 4 per view, 6 per minutia, 2 for extended data', () => {
    const bytes = encodeFingerMinutiaeRecord({
      equipmentCompliance: 0,
      equipmentId: 0,
      imageWidth: 400,
      imageHeight: 500,
      resolutionX: 197,
      resolutionY: 197,
      views: [{ position: 2, viewNumber: 0, impressionType: 0, quality: 80, minutiae: [{ type: 'bifurcation', x: 100, y: 200, angle: 64, quality: 90 }], extendedData: new Uint8Array(0) }],
    });
    expect(hex(bytes)).toBe('464D5200' + '20323000' + '00000024' + '0000' + '0190' + '01F4' + '00C5' + '00C5' + '01' + '00' + '02' + '00' + '50' + '01' + '8064' + '00C8' + '40' + '5A' + '0000');
    expect(angleFromDegrees(90)).toBe(64);
    expect(angleToDegrees(64)).toBe(90);
    const reserved = bytes.slice();
    reserved[30] = 0x40;
    expect(() => decodeFingerMinutiaeRecord(reserved)).toThrow(/reserved bits/);
  });
});

describe('DG2 and DG3 (CBEFF)', () => {
  it('DG2 round trips over random templates and 30 KB faces', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(header(BIOMETRIC_TYPE.FACE, FORMAT_TYPE.FACE_IMAGE), facial(30 * 1024)), { minLength: 1, maxLength: 2 }), (parts) => {
        const templates = parts.map(([h, f]) => ({ header: h, data: encodeFaceRecord({ faces: [f] }) }));
        const bytes = encodeDg2(templates);
        const back = decodeDg2(bytes);
        expect(back.templates.map((t) => ({ header: t.header, data: t.data }))).toEqual(templates);
        expect(back.templates.map((t) => t.face.faces[0])).toEqual(parts.map(([, f]) => f));
        expect(hex(encodeDg2(back.templates))).toBe(hex(bytes));
      }),
      { numRuns: 30 },
    );
  });

  it('DG2 as ICAO 9303-10 lays it out', () => {
    const dg2 = encodeDg2([faceTemplate({ faces: [faceImage(new Uint8Array([0xff, 0xd8, 0xff]), { width: 1, height: 1 })] })]);
    // 75 { 7F61 { 02 01 01 7F60 { A1 { 80 0101 81 02 87 0101 88 0008 } 5F2E … } } }
    // Face record 14 + 20 + 12 + 3 = 49 bytes; 5F2E 31 … = 52; A1 = 17; 7F60 45; 7F61 4B; 75 4E.
    expect(hex(dg2.subarray(0, 31))).toBe('75' + '4E' + '7F61' + '4B' + '020101' + '7F60' + '45' + 'A1' + '0F' + '80020101' + '810102' + '87020101' + '88020008' + '5F2E31');
  });

  it('DG3 with 0 and with 10 fingers', () => {
    expect(decodeDg3(encodeDg3([])).templates).toEqual([]);
    fc.assert(
      fc.property(fc.array(minutiaeRecord, { minLength: 10, maxLength: 10 }), (records) => {
        const templates = records.map((r, i) => fingerTemplate(i + 1, encodeFingerMinutiaeRecord(r)));
        const bytes = encodeDg3(templates);
        const back = decodeDg3(bytes);
        expect(back.templates.map((t) => t.minutiae)).toEqual(records);
        expect(back.templates.map((t) => t.header.subtype)).toEqual([5, 9, 13, 17, 21, 6, 10, 14, 18, 22]);
        expect(hex(encodeDg3(back.templates))).toBe(hex(bytes));
      }),
      { numRuns: 20 },
    );
  });

  it('finger subtypes (ISO/IEC 19785-1): side in b1-b2, finger in b3-b5', () => {
    expect(fingerSubtype(1)).toBe(0x05); // right thumb
    expect(fingerSubtype(7)).toBe(0x0a); // left index
    expect(fingerSubtype(10)).toBe(0x16); // left little
  });

  it('refuses other formats and malformed groups with the data group named', () => {
    const wrong = encodeDg2([{ header: { formatOwner: 0x0101, formatType: 0x0007 }, data: new Uint8Array(4) }]);
    expect(() => decodeDg2(wrong)).toThrow('DG2 template 1: format 0101/0007 is not 0101/0008 (ISO/IEC 19794-5 face image)');
    const image = encodeDg3([{ header: { formatOwner: 0x0101, formatType: 0x0007 }, data: new Uint8Array(4) }]);
    expect(() => decodeDg3(image)).toThrow(
      'DG3 template 1: format 0101/0007 is not 0101/0001 (ISO/IEC 19794-2 finger minutiae); chipwright does not decode finger images',
    );
    const owner = encodeDg2([{ header: { formatOwner: 0x0102, formatType: 0x0008 }, data: new Uint8Array(4) }]);
    expect(() => decodeDg2(owner)).toThrow('DG2 template 1: format 0102/0008 is not 0101/0008');
    expect(() => decodeDg2(new Uint8Array([0x75, 0x00]))).toThrow('DG2: expected exactly one biometric information group template (7F61)');
    const dg3 = encodeDg3([{ header: { formatOwner: 0x0101, formatType: 1 }, data: new Uint8Array([1, 2]) }]);
    expect(() => decodeDg3(dg3)).toThrow(/DG3 template 1: ISO\/IEC 19794-2 record/);
    const count = encodeDg3([]).slice();
    count[count.length - 1] = 2;
    expect(() => decodeDg3(count)).toThrow(/announces 2 biometric templates, 0 present/);
  });
});

// --- DG11, DG12 ------------------------------------------------------------------------------------

const arabicLetter = fc.integer({ min: 0x0621, max: 0x064a }).map((c) => String.fromCharCode(c));
const arabicWord = fc.array(arabicLetter, { minLength: 2, maxLength: 10 }).map((a) => a.join(''));
const arabicName = fc.array(arabicWord, { minLength: 1, maxLength: 5 }).map((a) => a.join(' '));
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((s) => !s.includes('<'));
const digits = (n: number): fc.Arbitrary<string> => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));

describe('DG11 and DG12', () => {
  it('DG11 round trips: Arabic names, long addresses, every element', () => {
    const dg11: fc.Arbitrary<Dg11> = fc.record(
      {
        fullName: arabicName,
        otherNames: fc.array(text, { maxLength: 3 }),
        personalNumber: digits(11),
        fullDateOfBirth: digits(8),
        placeOfBirth: text,
        address: fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 100 }).filter((s) => !s.includes('<')), { minLength: 1, maxLength: 6 }).map((l) => joinParts(l, 'address')),
        telephone: text,
        profession: text,
        title: text,
        personalSummary: fc.string({ unit: 'grapheme', maxLength: 500 }),
        proofOfCitizenship: fc.uint8Array({ minLength: 1, maxLength: 2000 }),
        otherTdNumbers: text,
        custodyInformation: text,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(dg11, (x) => {
        const bytes = encodeDg11(x);
        expect(decodeDg11(bytes)).toEqual(x);
        expect(hex(encodeDg11(decodeDg11(bytes)))).toBe(hex(bytes));
      }),
      { numRuns: 150 },
    );
  });

  it('DG11 bytes for an Arabic full name are UTF-8 under 5F0E', () => {
    const bytes = encodeDg11({ fullName: 'أمينة', personalNumber: '1' });
    expect(hex(bytes)).toBe('6B' + '17' + '5C04' + '5F0E5F10' + '5F0E0A' + 'D8A3D985D98AD986D8A9' + '5F1001' + '31');
  });

  it('DG11 strictness: tag list and content agree', () => {
    const bytes = encodeDg11({ fullName: 'A', personalNumber: '1' }).slice();
    bytes[5] = 0x11; // tag list names 5F11 instead of 5F10
    expect(() => decodeDg11(bytes)).toThrow(/not in the tag list/);
    expect(() => joinParts(['A<B'], 'address')).toThrow(/"<" separates parts/);
    expect(splitParts('ZONE 1<DOHA<')).toEqual(['ZONE 1', 'DOHA']);
  });

  it('DG12 round trips', () => {
    const dg12: fc.Arbitrary<Dg12> = fc.record(
      {
        issuingAuthority: text,
        dateOfIssue: digits(8),
        otherPersons: fc.array(text, { minLength: 1, maxLength: 3 }),
        endorsements: text,
        taxOrExitRequirements: text,
        imageFront: fc.uint8Array({ minLength: 1, maxLength: 500 }),
        imageRear: fc.uint8Array({ minLength: 1, maxLength: 500 }),
        personalizationTime: digits(14),
        personalizationDeviceSerial: text,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(dg12, (x) => {
        const bytes = encodeDg12(x);
        expect(decodeDg12(bytes)).toEqual(x);
        expect(hex(encodeDg12(decodeDg12(bytes)))).toBe(hex(bytes));
      }),
      { numRuns: 100 },
    );
    expect(() => encodeDg12({ dateOfIssue: '2024-01-01' })).toThrow(/8 digits/);
  });
});

describe('DG14 and DG15 (pass-through)', () => {
  it('wrap and unwrap the content byte for byte', () => {
    const infos = encodeSecurityInfos([{ type: 'PACEInfo', protocol: PACE_OID.ECDH_GM_AES_128, version: 2, parameterId: 13 }]);
    const dg14 = encodeDg14({ securityInfos: infos });
    expect(dg14[0]).toBe(0x6e);
    expect(hex(decodeDg14(dg14).securityInfos)).toBe(hex(infos));
    const spki = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }));
    const dg15 = encodeDg15({ publicKeyInfo: spki });
    expect(dg15[0]).toBe(0x6f);
    expect(hex(decodeDg15(dg15).publicKeyInfo)).toBe(hex(spki));
    expect(hex(encodeDg15(decodeDg15(dg15)))).toBe(hex(dg15));
    expect(() => encodeDg14({ securityInfos: new Uint8Array([0x30, 0x00]) })).toThrow(/SET OF/);
  });
});

describe('image headers', () => {
  it('JPEG size from the start-of-frame segment', () => {
    expect(imageInfo(readFileSync('profiles/samples/specimen-face.jpg'))).toEqual({ format: 'jpeg', width: 240, height: 320, components: 3 });
  });

  it('JPEG 2000: JP2 boxes and a bare codestream', () => {
    const box = (type: string, body: number[]): number[] => {
      const len = 8 + body.length;
      return [len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, ...[...type].map((c) => c.charCodeAt(0)), ...body];
    };
    const be32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
    const ihdr = box('ihdr', [...be32(320), ...be32(240), 0, 3, 7, 7, 0, 0]);
    const jp2 = new Uint8Array([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a, ...box('ftyp', [0x6a, 0x70, 0x32, 0x20, 0, 0, 0, 0]), ...box('jp2h', ihdr)]);
    expect(imageInfo(jp2)).toEqual({ format: 'jpeg2000', width: 240, height: 320, components: 3 });
    const siz = [0xff, 0x4f, 0xff, 0x51, 0, 41, 0, 0, ...be32(250), ...be32(330), ...be32(10), ...be32(10), ...be32(240), ...be32(320), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(imageInfo(new Uint8Array(siz))).toEqual({ format: 'jpeg2000', width: 240, height: 320, components: 1 });
    expect(() => imageInfo(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toThrow(/neither JPEG/);
  });
});
