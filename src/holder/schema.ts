/**
 * The JSON Schema (draft 2020-12) of holder documents, published as
 * `profiles/holder.schema.json` (a test keeps the file equal to this object). Every object is
 * closed (`additionalProperties: false`): an unknown key is an error, never ignored. Each
 * property's `description` is also the hint shown when a value does not fit it.
 *
 * What a schema cannot say — calendar dates, expiry after issue, names the MRZ can write, masked
 * card numbers, templates that decode — `validate.ts` checks after it.
 */

const date = {
  type: 'string',
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
  description: 'a calendar date YYYY-MM-DD, e.g. 1990-05-17',
} as const;

const bytes = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    path: { type: 'string', minLength: 1, description: 'a file path, relative to the holder document' },
    base64: { type: 'string', pattern: '^[A-Za-z0-9+/\\s]*={0,2}\\s*$', description: 'the bytes in base64' },
  },
  description: 'bytes: either { path: FILE } or { base64: DATA }',
} as const;

const latinName = {
  type: 'string',
  minLength: 1,
  maxLength: 100,
  pattern: "^[\\p{Script=Latin} '’.,-]+$",
  description: 'a name in Latin script (letters, spaces, hyphens, apostrophes), as printed on the card',
} as const;

const arabicName = {
  type: 'string',
  minLength: 1,
  maxLength: 200,
  pattern: "^[\\p{Script=Arabic}\\p{Mn} \\u200c\\u200d'.-]+$",
  description: 'a name in Arabic script (UTF-8), e.g. سبيسيمن أمينة',
} as const;

/**
 * Free-text maxima of the fields stored in records: a record of the health and finance EFs holds at
 * most 255 bytes (the card image's and a short READ RECORD's limit, ISO/IEC 7816-4 §7.3.1). Each
 * maximum is chosen so that a record with every field at its maximum fits when every character
 * takes two bytes of UTF-8 (ASCII, Latin-1 and Latin Extended letters, Arabic): with the BER-TLV
 * headers, an insurance record takes at most 63 + 2·insurer + 2·class bytes, a dependant record
 * 56 + 2·name + 2·nameArabic, an account record 77 + 2·bank (test/record-budget.test.ts checks
 * these against the encoders). Rarer three- or four-byte characters can still overflow a record at
 * these lengths: building the card then fails naming the field (`apps/health/records.ts`).
 */
export const RECORD_TEXT_MAX = Object.freeze({ insurer: 64, class: 32, dependantName: 48, dependantNameArabic: 48, bank: 80 } as const);

const countryCode = {
  type: 'string',
  pattern: '^[A-Z<]{3}$',
  description: 'an ICAO 9303-3 three-letter code, e.g. QAT, UTO or D<<',
} as const;

const text = (max: number, description: string): Record<string, unknown> => ({ type: 'string', minLength: 1, maxLength: max, pattern: '^[^<]+$', description });

const quality = { type: 'integer', minimum: 0, maximum: 100, description: 'a quality score 0..100' } as const;

export const HOLDER_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:chipwright:holder:1',
  title: 'chipwright holder document',
  description:
    'One card holder: identity, document, face, fingerprints, health insurance, driving licence, financial accounts and e-services. Samples: profiles/samples/.',
  type: 'object',
  additionalProperties: false,
  required: ['identity', 'document'],
  properties: {
    $schema: { type: 'string', description: 'the schema this document follows (for editors)' },
    identity: {
      type: 'object',
      additionalProperties: false,
      required: ['primaryIdentifier', 'idNumber', 'nationality', 'sex', 'dateOfBirth'],
      description: 'who the holder is',
      properties: {
        primaryIdentifier: { ...latinName, description: 'surname(s) in Latin script, e.g. SPECIMEN' },
        secondaryIdentifier: { ...latinName, description: 'given name(s) in Latin script, e.g. AMINA HASSAN' },
        fullNameArabic: arabicName,
        idNumber: { type: 'string', pattern: '^[0-9A-Z]{1,20}$', description: 'the national ID / personal number: 1 to 20 digits or capital letters' },
        nationality: countryCode,
        sex: { enum: ['F', 'M', 'X'], description: 'F, M or X (unspecified; < in the MRZ)' },
        dateOfBirth: date,
        placeOfBirth: text(100, 'place of birth, e.g. DOHA (no "<")'),
        address: {
          type: 'array',
          minItems: 1,
          maxItems: 6,
          items: text(100, 'one address line (no "<")'),
          description: 'address lines, e.g. [ZONE 99 STREET 999 BUILDING 9, DOHA]',
        },
        telephone: { type: 'string', pattern: '^\\+?[0-9 ()-]{3,20}$', description: 'a telephone number, e.g. +974 5555 0000' },
        profession: text(100, 'profession'),
      },
    },
    document: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'number', 'issuingState', 'dateOfIssue', 'dateOfExpiry'],
      description: 'the card as a travel document (TD1)',
      properties: {
        type: { type: 'string', pattern: '^[IAC][A-Z]?$', description: 'TD1 document code: I, ID, IR … (or A…, C…)' },
        number: { type: 'string', pattern: '^[0-9A-Z]{1,22}$', description: 'document number: 1 to 22 digits or capital letters' },
        issuingState: countryCode,
        issuingAuthority: text(100, 'the issuing authority (DG12), e.g. MINISTRY OF INTERIOR'),
        dateOfIssue: date,
        dateOfExpiry: date,
        mrzOptionalData: {
          type: 'object',
          additionalProperties: false,
          description: 'optional data of the MRZ lines',
          properties: {
            line1: { type: 'string', pattern: '^[0-9A-Z<]{0,15}$', description: 'up to 15 MRZ characters (fewer with a document number over 9 characters)' },
            line2: { type: 'string', pattern: '^[0-9A-Z<]{0,11}$', description: 'up to 11 MRZ characters' },
          },
        },
      },
    },
    face: {
      type: 'object',
      additionalProperties: false,
      required: ['image'],
      description: 'the portrait (DG2)',
      properties: {
        image: { ...bytes, description: 'a JPEG or JPEG 2000 image: { path: face.jpg } or { base64: … }' },
        featurePoints: {
          type: 'array',
          maxItems: 64,
          description: 'MPEG-4 feature points of the face record',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['point', 'x', 'y'],
            properties: {
              point: { type: 'string', pattern: '^([0-9]|1[0-5])\\.([0-9]|1[0-5])$', description: 'feature point "major.minor", e.g. 12.1 (left eye centre)' },
              x: { type: 'integer', minimum: 0, maximum: 65535, description: 'pixels from the left' },
              y: { type: 'integer', minimum: 0, maximum: 65535, description: 'pixels from the top' },
            },
          },
        },
      },
    },
    fingerprints: {
      type: 'array',
      maxItems: 10,
      description: '0 to 10 fingers (DG3), each at most once',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['position'],
        description: 'a finger: position and either template (ISO/IEC 19794-2 bytes) or minutiae',
        properties: {
          position: {
            enum: ['right-thumb', 'right-index', 'right-middle', 'right-ring', 'right-little', 'left-thumb', 'left-index', 'left-middle', 'left-ring', 'left-little'],
            description: 'which finger, e.g. right-index',
          },
          template: { ...bytes, description: 'an ISO/IEC 19794-2:2005 finger minutiae record: { path } or { base64 }' },
          minutiae: {
            type: 'object',
            additionalProperties: false,
            required: ['imageWidth', 'imageHeight', 'points'],
            description: 'minutiae chipwright encodes as an ISO/IEC 19794-2 record',
            properties: {
              imageWidth: { type: 'integer', minimum: 1, maximum: 65535, description: 'image width in pixels' },
              imageHeight: { type: 'integer', minimum: 1, maximum: 65535, description: 'image height in pixels' },
              resolution: { type: 'integer', minimum: 1, maximum: 65535, description: 'pixels per centimetre (197 = 500 dpi)' },
              impression: { enum: ['live-scan-plain', 'live-scan-rolled', 'nonlive-scan-plain', 'nonlive-scan-rolled', 'swipe'], description: 'how the finger was captured' },
              quality,
              points: {
                type: 'array',
                maxItems: 255,
                description: 'the minutiae (at most 255)',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['type', 'x', 'y', 'angle'],
                  properties: {
                    type: { enum: ['ending', 'bifurcation', 'other'], description: 'ridge ending, bifurcation or other' },
                    x: { type: 'integer', minimum: 0, maximum: 16383, description: 'pixels from the left' },
                    y: { type: 'integer', minimum: 0, maximum: 16383, description: 'pixels from the top' },
                    angle: { type: 'number', minimum: 0, exclusiveMaximum: 360, description: 'degrees, counter-clockwise from the x axis' },
                    quality,
                  },
                },
              },
            },
          },
        },
      },
    },
    healthInsurance: {
      type: 'object',
      additionalProperties: false,
      required: ['insurer', 'memberNumber', 'class', 'validFrom', 'validUntil'],
      description: 'health insurance membership (health application)',
      properties: {
        insurer: text(RECORD_TEXT_MAX.insurer, 'the insurer, e.g. SPECIMEN HEALTH INSURANCE'),
        memberNumber: { type: 'string', pattern: '^[0-9A-Z-]{1,32}$', description: 'member number: digits, capital letters and hyphens' },
        class: text(RECORD_TEXT_MAX.class, 'cover class, e.g. A or VIP'),
        validFrom: date,
        validUntil: date,
        dependants: {
          type: 'array',
          maxItems: 20,
          description: 'people covered through the holder',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'relationship', 'memberNumber', 'dateOfBirth'],
            properties: {
              name: { ...latinName, maxLength: RECORD_TEXT_MAX.dependantName },
              nameArabic: { ...arabicName, maxLength: RECORD_TEXT_MAX.dependantNameArabic },
              relationship: { enum: ['spouse', 'child', 'parent', 'other'], description: 'spouse, child, parent or other' },
              memberNumber: { type: 'string', pattern: '^[0-9A-Z-]{1,32}$', description: 'member number: digits, capital letters and hyphens' },
              dateOfBirth: date,
            },
          },
        },
      },
    },
    drivingLicence: {
      type: 'object',
      additionalProperties: false,
      required: ['number', 'authority', 'dateOfIssue', 'dateOfExpiry', 'categories'],
      description: 'driving licence (ISO/IEC 18013-1/-2 style licence application)',
      properties: {
        number: { type: 'string', pattern: '^[0-9A-Z-]{1,25}$', description: 'licence number: digits, capital letters and hyphens' },
        authority: text(100, 'issuing authority, e.g. TRAFFIC DEPARTMENT'),
        issuingCountry: countryCode,
        dateOfIssue: date,
        dateOfExpiry: date,
        categories: {
          type: 'array',
          minItems: 1,
          maxItems: 20,
          description: 'vehicle categories',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['category', 'dateOfIssue', 'dateOfExpiry'],
            properties: {
              category: { type: 'string', pattern: '^[A-Z][A-Z0-9]{0,4}$', description: 'ISO/IEC 18013-1 category (AM, A1, A2, A, B1, B, BE, C1, C1E, C, CE, D1, D1E, D, DE) or a national one' },
              dateOfIssue: date,
              dateOfExpiry: date,
              restrictions: {
                type: 'array',
                maxItems: 20,
                items: { type: 'string', pattern: '^[0-9]{2,3}(\\.[0-9]{2})?$', description: 'a restriction code, e.g. 01.06 or 78' },
                description: 'restriction and condition codes',
              },
            },
          },
        },
      },
    },
    financialAccounts: {
      type: 'array',
      maxItems: 10,
      description: 'bank accounts and cards (finance application); never full card numbers',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['bank', 'accountReference', 'type'],
        properties: {
          bank: text(RECORD_TEXT_MAX.bank, 'the bank, e.g. SPECIMEN BANK'),
          accountReference: { type: 'string', pattern: '^[0-9A-Z* -]{4,40}$', description: 'an IBAN, account number or reference (capital letters, digits, spaces, hyphens, *)' },
          type: { enum: ['current', 'savings', 'credit-card', 'debit-card', 'prepaid'], description: 'current, savings, credit-card, debit-card or prepaid' },
          maskedPan: {
            type: 'string',
            pattern: '^[0-9*X]{13,19}$',
            description: 'a masked card number: at most the first 6 (8 when 16+ digits) and last 4 digits visible, the rest * or X, e.g. 411111******1111',
          },
          currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code, e.g. QAR' },
        },
      },
    },
    eServices: {
      type: 'object',
      additionalProperties: false,
      required: ['keyPairs'],
      description: 'e-services PKI: key pairs generated on the card and their certificates',
      properties: {
        keyPairs: {
          type: 'array',
          maxItems: 8,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['label', 'usage', 'algorithm'],
            properties: {
              label: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$', description: 'a unique label in lower case, e.g. authentication' },
              usage: { enum: ['authentication', 'signature', 'encryption'], description: 'authentication, signature or encryption' },
              algorithm: { enum: ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072'], description: 'ecdsa-p256, ecdsa-p384, rsa-2048 or rsa-3072' },
              certificate: { ...bytes, description: 'the X.509 certificate of the key (DER or PEM): { path } or { base64 }' },
            },
          },
          description: 'the key pairs',
        },
      },
    },
  },
} as const;
