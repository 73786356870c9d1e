/**
 * The JSON Schema (draft 2020-12) of personalization profiles, published as
 * `profiles/profile.schema.json` (a test keeps the file equal to this object). Every object is
 * closed (`additionalProperties: false`): an unknown key is an error, never ignored. Each
 * property's `description` is the hint shown when a value does not fit it.
 *
 * What a schema cannot say — access rules that parse, file names that resolve, FIDs and SFIs
 * unique in their DF, encoders and applet types that exist, a PUK that is a PIN of the profile —
 * `profile.ts` checks after it, with the same `file:line field: message — hint` form.
 */

const hex = (min: number, max: number, what: string): object => ({
  type: 'string',
  pattern: `^([0-9A-Fa-f]{2}){${min},${max}}$`,
  description: what,
});

const fid = { type: 'string', pattern: '^[0-9A-Fa-f]{4}$', description: 'a file identifier, 4 hex digits, e.g. "0101"' } as const;
const sfi = { type: 'string', pattern: '^(0[1-9A-Fa-f]|1[0-9A-Ea-e])$', description: 'a short EF identifier, 2 hex digits 01..1E' } as const;
const ref = { type: 'string', pattern: '^[0-9A-Fa-f]{2}$', description: 'a reference, 2 hex digits (b8=1: specific to its DF, b8=0: global in the MF)' } as const;
const name = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,39}$', description: 'a name: a letter, then letters, digits, _ . - (at most 40)' } as const;
const rule = { type: 'string', minLength: 1, description: 'an access rule: ALWAYS, NEVER, PIN(hex), KEY(hex), SM, PACE or PACE(MRZ|CAN|PIN|PUK) (a PACE session, with that password), combined with AND / OR and parentheses' } as const;
const holderPath = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]*(\\.[A-Za-z][A-Za-z0-9]*)*$', description: 'a holder field, e.g. identity.dateOfBirth' } as const;

const access = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(['read', 'update', 'erase', 'append', 'delete', 'create', 'activate', 'deactivate', 'terminate'].map((op) => [op, rule])),
  description: 'access rules by operation (read, update, erase, append, delete, create, activate, deactivate, terminate); an operation not named is NEVER',
} as const;

const operatorKey = {
  type: 'object',
  additionalProperties: false,
  required: ['operator'],
  properties: {
    operator: { ...name, description: 'the name of a key in the operator key material (--keys FILE or CHIPWRIGHT_KEY_<NAME>)' },
    diversify: { enum: ['none', 'holder'], description: 'none: the key as given; holder: AES-CMAC(key, holder id) per card (16 bytes per block)' },
  },
  description: 'key material the operator provides: { operator: NAME, diversify: none | holder }',
} as const;

const content = {
  type: 'object',
  additionalProperties: false,
  required: ['encoder'],
  properties: {
    encoder: { type: 'string', pattern: '^[a-z][a-z0-9-]*(\\.[a-z0-9-]+)*$', description: 'an encoder name: icao.com, icao.dg1, icao.dg2, icao.dg3, icao.dg11, icao.dg12, tlv, text, static, or one an application registers' },
    from: { type: 'array', items: holderPath, description: 'the holder fields the file is made of (documentation and a presence check)' },
    optional: { type: 'boolean', description: 'true: leave the file out for a holder who lacks a `from` field; false (default): such a holder is an error' },
    value: { ...hex(0, 32767, 'fixed content for the static encoder, hex') },
    tag: { ...hex(1, 3, 'outer tag for the tlv encoder, hex (e.g. "71")') },
    each: { ...holderPath, description: 'tlv encoder: a list field; one record (or one template) per element' },
    fields: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['tag', 'holder'],
        properties: {
          tag: hex(1, 3, 'the data object tag, hex'),
          holder: { ...holderPath, description: 'a holder field (relative to the `each` element when `each` is given)' },
          format: { enum: ['utf8', 'date', 'digits', 'join'], description: 'utf8 (default); date: YYYYMMDD digits; digits: BCD; join: a list joined with <' },
        },
      },
      description: 'tlv encoder: data objects in order, each { tag, holder, format }',
    },
    field: { ...holderPath, description: 'text encoder: the holder field written as UTF-8' },
    ldsVersion: { type: 'string', pattern: '^\\d{1,2}\\.\\d{1,2}$', description: 'icao.com encoder: the LDS version EF.COM announces (default "1.7"; the licence uses "1.0")' },
    unicodeVersion: { type: 'string', pattern: '^\\d{1,2}\\.\\d{1,2}\\.\\d{1,2}$', description: 'icao.com encoder: the Unicode version EF.COM announces (default "4.0.0")' },
    portrait: { type: 'string', pattern: '^[^/]+/[^/]+$', description: 'licence.dg6 encoder: the portrait file as application/file (e.g. identity/DG2), written earlier in the profile' },
    typeApprovalNumber: { type: 'string', description: 'licence.dg1 encoder: the type approval number (ISO/IEC 18013-2), optional' },
    chipAuthentication: { type: 'string', minLength: 1, description: 'icao.dg14 encoder: the key pair (of this application) for Chip Authentication' },
    activeAuthentication: { type: 'string', minLength: 1, description: 'icao.dg14 encoder: the EC key pair for Active Authentication (adds ActiveAuthenticationInfo)' },
    keyPair: { type: 'string', minLength: 1, description: 'icao.dg15 encoder: the key pair for Active Authentication' },
  },
  description: 'where the file content comes from: an encoder over holder fields',
} as const;

const file = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'fid'],
  properties: {
    name,
    fid,
    sfi,
    type: { enum: ['transparent', 'linear-fixed', 'linear-variable', 'cyclic'], description: 'the EF structure (default transparent)' },
    size: {
      anyOf: [
        { type: 'integer', minimum: 0, maximum: 32767 },
        { const: 'fit' },
      ],
      description: 'bytes (transparent EF, at most 32767), or "fit": exactly the encoded content',
    },
    recordLength: { type: 'integer', minimum: 1, maximum: 255, description: 'record EFs: the (maximum) record length in bytes' },
    records: { type: 'integer', minimum: 1, maximum: 254, description: 'record EFs: the number of records the file holds' },
    access,
    content,
    existing: { type: 'boolean', description: 'true: the applet creates the file at install; personalization only writes its content' },
    encrypted: { type: 'boolean', description: 'true: kept encrypted at rest under the card\'s storage key and released only under secure messaging (FCP DO 85 b1)' },
  },
  description: 'an elementary file: { name, fid, sfi, type, size | recordLength + records, access, content }',
} as const;

const securityObject = {
  type: 'object',
  additionalProperties: false,
  required: ['file', 'type', 'covers', 'signer'],
  properties: {
    file: { ...name, description: 'the file (of this application) that holds the security object' },
    type: { const: 'icao-sod', description: 'icao-sod: an ICAO 9303-10 EF.SOD (CMS SignedData over data-group hashes)' },
    covers: {
      type: 'object',
      minProperties: 1,
      additionalProperties: { type: 'integer', minimum: 1, maximum: 16 },
      description: 'file name → data-group number whose hash the object carries, e.g. { DG1: 1, DG2: 2 }',
    },
    signer: { ...name, description: 'who signs: document-signer (--signer)' },
    hash: { enum: ['SHA-256', 'SHA-384', 'SHA-512'], description: 'hash of the files and the signature (default SHA-256)' },
  },
  description: 'a signed security object over some of the application\'s files',
} as const;

const keyPair = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'ref', 'type', 'usage'],
  properties: {
    name,
    ref,
    type: { enum: ['ec', 'rsa'], description: 'ec or rsa' },
    curve: { enum: ['P-256', 'P-384', 'P-521', 'brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1'], description: 'EC curve (default P-256)' },
    bits: { type: 'integer', minimum: 1024, maximum: 4096, description: 'RSA modulus bits (default 2048)' },
    usage: {
      type: 'array',
      minItems: 1,
      items: { enum: ['sign', 'decipher', 'key-agreement', 'authenticate', 'active-authentication', 'chip-authentication'] },
      description: 'what the key is for: sign, decipher, key-agreement, authenticate, active-authentication, chip-authentication',
    },
    use: rule,
    pinAlways: { type: 'boolean', description: 'each use needs a fresh VERIFY of the PINs in `use`' },
    generate: { const: 'on-card', description: 'on-card: GENERATE ASYMMETRIC KEY PAIR during personalization (the private key never leaves the card)' },
    certify: {
      type: 'object',
      additionalProperties: false,
      required: ['signer', 'file'],
      properties: {
        signer: { ...name, description: 'who certifies the public key: card-issuer (--issuer)' },
        file: { ...name, description: 'the file of this application the X.509 certificate is written to' },
      },
      description: 'issue an X.509 certificate for the generated key and write it to a file',
    },
    holderKeyPair: { type: 'string', minLength: 1, description: 'generate only when the holder has eServices.keyPairs with this label' },
  },
  description: 'an asymmetric key pair slot',
} as const;

const application = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'applet'],
  properties: {
    name,
    applet: { type: 'string', pattern: '^[a-z][a-z0-9-]*$', description: 'the applet type: card-level, icao-lds, purse, none (a plain DF made by CREATE FILE), or one an application module registers' },
    aid: { ...hex(0, 16, 'the application identifier, hex, 5..16 bytes (empty for the card-level applet)') },
    fid: { ...fid, description: 'the DF\'s file identifier (default: the next free from 7F00)' },
    access,
    params: { type: 'object', description: 'install parameters of the applet type (see the applet\'s documentation)' },
    files: { type: 'array', items: file, description: 'the EFs of the application, in the order they are written' },
    securityObjects: { type: 'array', items: securityObject, description: 'signed security objects over the application\'s files' },
    keyPairs: { type: 'array', items: keyPair, description: 'asymmetric key pairs, generated on the card' },
  },
  description: 'an application: { name, applet, aid, files, securityObjects, keyPairs }',
} as const;

const pinValue = {
  anyOf: [
    { const: 'generated' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['holder'],
      properties: {
        holder: holderPath,
        last: { type: 'integer', minimum: 1, maximum: 16, description: 'take the last N digits of the field' },
      },
    },
  ],
  description: '"generated" (random digits, written only to the PIN mailer) or { holder: FIELD, last: N } (digits of a holder field)',
} as const;

const pin = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'ref', 'value'],
  properties: {
    name,
    ref,
    application: { ...name, description: 'the application whose DF holds the PIN (default: the MF)' },
    minLength: { type: 'integer', minimum: 1, maximum: 64, description: 'shortest PIN the card accepts (default 4)' },
    maxLength: { type: 'integer', minimum: 1, maximum: 64, description: 'longest PIN the card accepts (default 12)' },
    digits: { type: 'integer', minimum: 1, maximum: 64, description: 'length of a generated PIN (default minLength)' },
    tries: { type: 'integer', minimum: 1, maximum: 15, description: 'retry counter (default 3)' },
    puk: { ...name, description: 'the name of the PUK that unblocks this PIN' },
    unblocks: { type: 'integer', minimum: 0, maximum: 254, description: 'how many times the PUK may unblock it (default unlimited)' },
    value: pinValue,
  },
  description: 'a PIN or PUK: { name, ref, application, minLength, maxLength, digits, tries, puk, value }',
} as const;

const secretKey = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'ref', 'algorithm', 'value'],
  properties: {
    name,
    ref,
    application: { ...name, description: 'the application whose DF holds the key (default: the MF)' },
    algorithm: { enum: ['3des', 'aes'], description: '3des (16/24 bytes) or aes (16/24/32 bytes)' },
    tries: { type: 'integer', minimum: 1, maximum: 15, description: 'retry counter (default 10)' },
    value: operatorKey,
  },
  description: 'a symmetric key loaded with PUT DATA 0102 from the operator\'s key material',
} as const;

/** The profile schema. */
export const PROFILE_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://chipwright.dev/schemas/profile.schema.json',
  title: 'chipwright personalization profile',
  type: 'object',
  additionalProperties: false,
  required: ['profile', 'applications'],
  properties: {
    $schema: { type: 'string' },
    profile: { ...name, description: 'the profile\'s name, e.g. qatar-id' },
    description: { type: 'string' },
    card: {
      type: 'object',
      additionalProperties: false,
      properties: {
        atr: { ...hex(2, 33, 'the ATR a new simulated card answers with, hex (default: the OS\'s)') },
        capacity: { type: 'integer', minimum: 1024, maximum: 16777216, description: 'non-volatile bytes for files (default 1 MiB)' },
      },
      description: 'the card itself: { atr, capacity }',
    },
    channel: {
      type: 'object',
      additionalProperties: false,
      properties: {
        transportKey: {
          type: 'object',
          additionalProperties: false,
          required: ['algorithm'],
          properties: {
            algorithm: { enum: ['3des', 'aes'], description: '3des or aes' },
            operator: { ...name, description: 'the key\'s name in the operator key material; absent: the well-known test key 40..4F' },
          },
          description: 'the transport key: { algorithm, operator }',
        },
        secureMessaging: { type: 'boolean', description: 'true (default): every personalization command under SM keyed from the transport key' },
        apdu: { enum: ['auto', 'extended', 'short'], description: 'how large writes travel: auto (extended length when the ATR offers it, else short), extended (one command per file), short (chunks of 223 bytes at increasing offsets)' },
      },
      description: 'the personalization channel: { transportKey, secureMessaging, apdu }',
    },
    pins: { type: 'array', items: pin, description: 'PINs and PUKs' },
    keys: { type: 'array', items: secretKey, description: 'symmetric keys injected from operator key material' },
    applications: { type: 'array', minItems: 1, items: application, description: 'the applications, in the order they are personalized' },
    finalState: { enum: ['operational', 'personalization'], description: 'operational (default): ACTIVATE FILE on the MF ends personalization; personalization: leave it open' },
  },
} as const;
