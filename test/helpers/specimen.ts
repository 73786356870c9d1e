/**
 * The specimen multi-application card that the application tests build and read: the full sample
 * holder, a test PKI, and fixed passwords and keys. One fixture, so that the tests of each
 * application (identity, health, licence, finances, e-services) talk about the same card.
 */
import { hexToBytes } from '../../src/bytes/index.js';
import { holderMrz, loadHolder } from '../../src/holder/index.js';
import { createTestPki, parseTd1 } from '../../src/lds/index.js';
import type { IdCardOptions } from '../../src/apps/id-card.js';

/** "Now" for certificate validity and MRZ centuries: inside the test PKI's validity. */
export const NOW = new Date('2026-01-15T12:00:00Z');
export const pki = createTestPki({ now: new Date('2025-01-01T00:00:00Z') });
export const holder = loadHolder('profiles/samples/specimen-full.yaml');
export const CAN = '123456';
export const PIN = '2468';
export const PUK = '12345678';
/** The MRZ information (document number, birth and expiry dates) BAC and PACE-MRZ derive keys from. */
export const MRZ_INFO = parseTd1(holderMrz(holder)).mrzInformation;
/** The health insurer's key (EXTERNAL AUTHENTICATE before writing insurance records). */
export const INSURER_KEY = hexToBytes('000102030405060708090A0B0C0D0E0F');
/** Everything {@link buildIdCard} needs for the specimen holder. */
export const SPECIMEN_OPTS: IdCardOptions = {
  pki,
  can: CAN,
  pin: PIN,
  puk: PUK,
  insurerKey: INSURER_KEY,
  eServices: { authenticationPin: '1357', signaturePin: '135791' },
  signingTime: new Date('2025-06-01T00:00:00Z'),
};
