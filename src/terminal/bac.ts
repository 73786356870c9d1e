/**
 * Basic Access Control, terminal side (ICAO Doc 9303-11 §4.3.4): GET CHALLENGE, mutual
 * authentication with EXTERNAL AUTHENTICATE, session keys — and from then on a
 * {@link SecureMessagingTransport} that protects every command.
 *
 * The eMRTD application must already be selected (`00 A4 04 0C 07 A0000002471001`, in plain).
 * Failures throw {@link BacError}; its message names the step and the status word, never the
 * MRZ or any key.
 *
 * @example
 * await t.transmit(hexToBytes('00A4040C07A0000002471001'));
 * const sm = await performBac(t, { documentNumber: 'L898902C', dateOfBirth: '690806', dateOfExpiry: '940623' });
 * await sm.transmit(hexToBytes('00A4020C02011E')); // SELECT EF.COM, protected
 */
import { randomSource } from './random.js';
import { ByteInputError, u16Hex, zeroize } from '../bytes/index.js';
import { parseResponseApdu } from '../apdu/response.js';
import { bacKeys, bacSessionKeys, bacTerminalRequest, bacTerminalVerify, type MrzInfo } from '../crypto/bac.js';
import { SecureMessagingTransport } from '../transport/secure-messaging.js';
import type { Transport } from '../transport/types.js';

/** The transport performBac returns: plain APDUs in and out, secure messaging on the wire. */
export type SmTransport = SecureMessagingTransport;

/** Which step of BAC failed. */
export type BacFailure =
  /** GET CHALLENGE was refused or did not return 8 bytes. */
  | 'challenge'
  /** The card refused EXTERNAL AUTHENTICATE (6300: the MRZ does not match this chip). */
  | 'rejected'
  /** The card's answer did not verify: not the chip of this MRZ, or tampered with. */
  | 'card-not-authenticated';

export class BacError extends Error {
  override readonly name = 'BacError';
  constructor(
    readonly reason: BacFailure,
    message: string,
    /** The card's status word, when it refused. */
    readonly sw?: number,
  ) {
    super(message);
  }
}

export interface BacOptions {
  /**
   * The terminal's randomness: RND.IFD (8 bytes) then K.IFD (16 bytes), in that order. Bytes are
   * handed out first, then secure randomness follows; or a function returning `n` bytes. For
   * conformance replay (ICAO 9303-11 Appendix D.3 feeds 781723860C06C226 ‖ 0B795240…4F0B).
   * Default: `crypto.randomBytes`.
   */
  readonly random?: Uint8Array | ((n: number) => Uint8Array);
}

/**
 * Runs BAC over `transport` and returns a secure-messaging transport on top of it.
 * `mrz` is the three MRZ fields or the MRZ information string with check digits.
 *
 * @example const sm = await performBac(transport, 'L898902C<369080619406236');
 */
export async function performBac(transport: Transport, mrz: MrzInfo | string, opts: BacOptions = {}): Promise<SmTransport> {
  const random = randomSource(opts.random);
  const keys = bacKeys(mrz);
  let rndIfd: Uint8Array | undefined;
  let kIfd: Uint8Array | undefined;
  let kIc: Uint8Array | undefined;
  try {
    const ch = parseResponseApdu(await transport.transmit(new Uint8Array([0x00, 0x84, 0x00, 0x00, 0x08])));
    if (ch.sw !== 0x9000 || ch.data.length !== 8) {
      throw new BacError('challenge', `GET CHALLENGE answered ${u16Hex(ch.sw)} with ${ch.data.length} bytes (expected 8 bytes and 9000)`, ch.sw);
    }
    const rndIc = ch.data.slice();
    rndIfd = random(8);
    kIfd = random(16);
    if (rndIfd.length !== 8 || kIfd.length !== 16) throw new ByteInputError('opts.random: returned the wrong number of bytes');
    const eifd = bacTerminalRequest(keys, rndIc, rndIfd, kIfd);
    const cmd = new Uint8Array(5 + 40 + 1);
    cmd.set([0x00, 0x82, 0x00, 0x00, 0x28]);
    cmd.set(eifd, 5);
    cmd[45] = 0x28;
    const ea = parseResponseApdu(await transport.transmit(cmd));
    if (ea.sw !== 0x9000) {
      const hint = ea.sw === 0x6300 ? ': the MRZ (document number, dates of birth and expiry) does not match this chip' : '';
      throw new BacError('rejected', `EXTERNAL AUTHENTICATE answered ${u16Hex(ea.sw)}${hint}`, ea.sw);
    }
    kIc = bacTerminalVerify(keys, rndIc, rndIfd, ea.data);
    if (kIc === undefined) {
      throw new BacError('card-not-authenticated', 'the chip\'s answer to EXTERNAL AUTHENTICATE does not verify (wrong chip, or tampered with)');
    }
    const session = bacSessionKeys(kIfd, kIc, rndIc, rndIfd);
    try {
      return new SecureMessagingTransport(transport, session);
    } finally {
      zeroize(session.kEnc);
      zeroize(session.kMac);
    }
  } finally {
    zeroize(keys.kEnc);
    zeroize(keys.kMac);
    if (kIfd) zeroize(kIfd);
    if (kIc) zeroize(kIc);
    if (rndIfd) zeroize(rndIfd);
  }
}
