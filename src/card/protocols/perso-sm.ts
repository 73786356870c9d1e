/**
 * The personalization channel: secure messaging under the transport key, started on a channel
 * that has just authenticated with the transport key (GET CHALLENGE + EXTERNAL AUTHENTICATE
 * P2=00, `commands/authenticate.ts`). Every personalization command after it travels under SM,
 * so PINs, keys and holder data never cross the reader in plain and cannot be changed on the way.
 *
 * chipwright's scheme (ISO/IEC 7816-4 §11.5 leaves the key establishment of a proprietary
 * channel to the card; the derivation reuses ICAO 9303-11 §9.7.1's KDF and the AES SM of §9.8):
 *
 *     terminal                                              card (personalization, transport key authenticated)
 *     80 52 00 00 10 RND.IFD (16) 00         →
 *                                                           RND.ICC = 16 fresh random bytes
 *                                                           K     = K_T ‖ RND.IFD ‖ RND.ICC
 *                                                           KSenc = KDF(K, 1, aes-128) = SHA-1(K ‖ 00000001)[0..16]
 *                                                           KSmac = KDF(K, 2, aes-128) = SHA-1(K ‖ 00000002)[0..16]
 *                                                           T_ICC = AES-CMAC(KSmac, "ICC" ‖ RND.IFD ‖ RND.ICC)[0..8]
 *                                            ←  RND.ICC ‖ T_ICC  9000   (in plain)
 *     checks T_ICC (the card knows K_T)
 *     from the next command: AES secure messaging (`crypto/sm.ts`) with KSenc, KSmac, SSC = 0 (16 bytes)
 *
 * K_T is the transport key's value as stored (16/24 bytes for 3DES, 16/24/32 for AES), whatever its
 * algorithm; the session is always AES-128. Both randoms are fresh per session, so session keys
 * never repeat and the SSC can start at zero (as after PACE, ICAO 9303-11 §9.8.5).
 *
 * Conditions: the card must be in personalization (6985 otherwise — and for ever once
 * operational) and the channel authenticated with the transport key (6982): the OS enforces both
 * for a `personalization` handler. Wrong P1-P2 → 6A86, data other than 16 bytes → 6700. A plain
 * command after the start ends the session *and* the transport-key authentication (the OS rule
 * for SM sessions, ICAO 9303-11 §9.8.5), so a personalizer cannot drop back to plain unnoticed.
 *
 * Where it answers: the INS table {@link persoSmCommands} belongs in the card-level applet (the
 * MF, before any application is selected). Until `apps/card-level.ts` composes it, perso wraps
 * the card-level factory with {@link withPersoSm}.
 *
 * @example Card side, one call
 * card.transmit(hexToBytes('8052000010' + rndIfdHex + '00')) // RND.ICC ‖ T_ICC 9000; SM from here on
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { concatBytes, zeroize } from '../../bytes/index.js';
import { kdf } from '../../crypto/kdf.js';
import { aesCmac } from '../../crypto/mac.js';
import type { SmKeys } from '../../crypto/sm.js';
import type { Applet, AppletFactory } from '../applet.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type CommandHandler, type InsTable } from '../dispatch.js';
import { composeTables } from '../route.js';
import { CardSmSession } from './secure-messaging.js';

/** Proprietary class of the start command (ISO/IEC 7816-4 §5.4.1, b8 = 1). */
export const PERSO_SM_CLA = 0x80;
/** OPEN PERSONALIZATION CHANNEL. */
export const PERSO_SM_INS = 0x52;
/** RND.IFD and RND.ICC length. */
export const PERSO_SM_RANDOM_LENGTH = 16;
/** Length of the card's authentication tag T_ICC. */
export const PERSO_SM_TAG_LENGTH = 8;

const ICC_LABEL = new Uint8Array([0x49, 0x43, 0x43]); // "ICC"

/** What both sides derive from the transport key and the two randoms. */
export interface PersoSessionKeys {
  readonly sm: SmKeys;
  /** T_ICC, the card's proof that it holds the transport key. */
  readonly cardTag: Uint8Array;
}

/**
 * The session keys and the card's tag (module comment). Pure; the caller zeroizes `transportKey`
 * and, when done, `sm.kEnc` / `sm.kMac`.
 *
 * @example const { sm, cardTag } = persoSessionKeys(kT, rndIfd, rndIcc)
 */
export function persoSessionKeys(transportKey: Uint8Array, rndIfd: Uint8Array, rndIcc: Uint8Array): PersoSessionKeys {
  if (rndIfd.length !== PERSO_SM_RANDOM_LENGTH || rndIcc.length !== PERSO_SM_RANDOM_LENGTH) {
    throw new RangeError(`perso SM: randoms must be ${PERSO_SM_RANDOM_LENGTH} bytes`);
  }
  const k = concatBytes(transportKey, rndIfd, rndIcc);
  const kEnc = kdf(k, 1, 'aes-128');
  const kMac = kdf(k, 2, 'aes-128');
  zeroize(k);
  const cardTag = aesCmac(kMac, concatBytes(ICC_LABEL, rndIfd, rndIcc), PERSO_SM_TAG_LENGTH);
  return { sm: { cipher: 'aes', kEnc, kMac, ssc: new Uint8Array(16) }, cardTag };
}

/** OPEN PERSONALIZATION CHANNEL: a personalization command, so the OS checks life cycle and transport key first. */
export const OPEN_PERSO_CHANNEL: CommandHandler = Object.freeze({
  name: 'OPEN PERSONALIZATION CHANNEL',
  personalization: true,
  run(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'OPEN PERSONALIZATION CHANNEL: P1-P2 must be 0000');
    if (cmd.data.length !== PERSO_SM_RANDOM_LENGTH) {
      throw new StatusWordError(SW.WRONG_LENGTH, `OPEN PERSONALIZATION CHANNEL: RND.IFD must be ${PERSO_SM_RANDOM_LENGTH} bytes`);
    }
    const rndIcc = ctx.rng.bytes(PERSO_SM_RANDOM_LENGTH);
    const { sm, cardTag } = persoSessionKeys(ctx.state.transportKey.value, cmd.data, rndIcc);
    // The session starts with the next command: this response goes out in plain (the OS wraps
    // only with the session that unwrapped the command, and there was none).
    ctx.channel.sm?.end?.();
    ctx.channel.sm = new CardSmSession(sm);
    zeroize(sm.kEnc);
    zeroize(sm.kMac);
    return concatBytes(rndIcc, cardTag);
  },
});

/**
 * The INS table for the card-level applet.
 *
 * @example commands: composeTables(paceCommands(passwords), persoSmCommands())
 */
export function persoSmCommands(): InsTable {
  return defineInsTable([PERSO_SM_INS, OPEN_PERSO_CHANNEL]);
}

/**
 * `factory` with {@link persoSmCommands} added to its applets' tables (same type name, so images
 * stay loadable by the plain factory). A factory whose applets already answer the INS is returned
 * as is — the state once the card-level applet composes the table itself.
 *
 * @example createCard({ applets: [withPersoSm(CARD_LEVEL_APPLET), IDENTITY_APPLET] })
 */
export function withPersoSm(factory: AppletFactory): AppletFactory {
  const table = persoSmCommands();
  return Object.freeze({
    type: factory.type,
    create(params: Uint8Array): Applet {
      const a = factory.create(params);
      if (a.commands?.[PERSO_SM_INS] !== undefined) return a;
      const commands = a.commands === undefined ? table : composeTables(a.commands, table);
      return Object.assign(Object.create(Object.getPrototypeOf(a) as object) as Applet, a, { commands });
    },
  });
}
