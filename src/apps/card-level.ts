/**
 * The card-level applet (installed with an empty AID, so it lives in the MF): EF.CardAccess and
 * PACE, which a terminal runs before it selects any application (ICAO 9303-11 §4.4; 9303-10
 * §3.11.3). Its commands answer wherever no selected application defines the same INS.
 *
 * - EF.CardAccess (FID 011C, SFI 1C, in the MF): the install parameter — the SecurityInfos
 *   announcing the PACE protocols — readable ALWAYS, written NEVER.
 * - PACE (MSE:Set AT, GENERAL AUTHENTICATE) with the protocols EF.CardAccess announces and the
 *   passwords: MRZ (from DG1 of the eMRTD application, A0000002471001), CAN, PIN and PUK — the
 *   last three as PIN objects of the MF ({@link CARD_PASSWORDS}), so that after PACE with the PIN
 *   the access rule PIN(03) holds on the channel in every application (`card/protocols/pace.ts`).
 *
 * Passwords live in the card's PIN objects, never in the applet's parameters (which the card
 * image stores in plain as install data).
 *
 * @example
 * const card = createCard({ applets: [CARD_LEVEL_APPLET] });
 * installCardLevel(card, { can: '123456', pin: '1234', puk: '12345678' });
 */
import { composeTables } from '../card/route.js';
import { persoSmCommands } from '../card/protocols/perso-sm.js';
import { ByteInputError, bytesToHex } from '../bytes/index.js';
import type { Applet, AppletFactory } from '../card/applet.js';
import type { CommandContext, InstallContext } from '../card/context.js';
import type { Card } from '../card/os.js';
import { newTransparentEf, type DedicatedFile } from '../card/fs/file.js';
import { attach, childByFid, dfByExactName } from '../card/fs/tree.js';
import { ALWAYS } from '../card/security/access.js';
import { newPin, type PinObject } from '../card/security/objects.js';
import { paceCardAccess, paceCommands, pacePasswords, type PaceProtocol } from '../card/protocols/pace.js';
import { PACE_OID, decodeSecurityInfos, type PaceDomainParameterInfo, type PaceInfo } from '../crypto/security-infos.js';
import { decodeDg1 } from '../lds/dg1.js';
import { parseTd1 } from '../lds/mrz.js';
import { EF_CARD_ACCESS, LDS1_AID, dataGroup } from '../lds/tags.js';

/** The applet type name the card image records. */
export const CARD_LEVEL_TYPE = 'card-level';

/**
 * References of the card-wide password objects in the MF (global: b8 = 0), numbered like the
 * PACE password references of ICAO 9303-11 §4.4.4.1 (02 CAN, 03 PIN, 04 PUK). Applications use
 * PIN(03) in their access rules for "the holder PIN".
 */
export const CARD_PASSWORDS = Object.freeze({ CAN: 0x02, PIN: 0x03, PUK: 0x04 } as const);

/** The default PACE offer: ECDH Generic Mapping, AES-128, brainpoolP256r1 (ICAO 9303-11 §9.5.1, ID 13). */
export const DEFAULT_PACE_PROTOCOLS: readonly PaceProtocol[] = Object.freeze([{ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 }]);

/**
 * Decoded EF.CardAccess contents by their hex: every card a batch creates carries the same few
 * bytes, and decoding them (asn1js) cost more than the rest of installing the card-level applet.
 * Bounded, so a process that sees many different cards does not grow.
 */
const cardAccessProtocols = new Map<string, readonly PaceProtocol[]>();

/** The PACE protocols an EF.CardAccess announces, as {@link paceCommands} takes them. */
export function protocolsOfCardAccess(cardAccess: Uint8Array): readonly PaceProtocol[] {
  const key = bytesToHex(cardAccess);
  let protocols = cardAccessProtocols.get(key);
  if (protocols === undefined) {
    protocols = Object.freeze(decodeProtocols(cardAccess).map((p) => Object.freeze(p)));
    if (cardAccessProtocols.size >= 64) cardAccessProtocols.delete(cardAccessProtocols.keys().next().value!);
    cardAccessProtocols.set(key, protocols);
  }
  return protocols;
}

function decodeProtocols(cardAccess: Uint8Array): PaceProtocol[] {
  const infos = decodeSecurityInfos(cardAccess, { trailing: 'ignore' });
  const domains = infos.filter((i): i is PaceDomainParameterInfo => i.type === 'PACEDomainParameterInfo');
  const out: PaceProtocol[] = [];
  for (const i of infos) {
    if (i.type !== 'PACEInfo' || (i as PaceInfo).parameterId === undefined) continue;
    const info = i as PaceInfo;
    const family = info.protocol.split('.').slice(0, -1).join('.');
    const explicit = domains.find((d) => d.protocol === family && d.parameterId === info.parameterId);
    if (explicit !== undefined && explicit.domainParameter.kind === 'ec') {
      out.push({ protocol: info.protocol, parameterId: info.parameterId!, curve: explicit.domainParameter.curve });
    } else out.push({ protocol: info.protocol, parameterId: info.parameterId! });
  }
  return out;
}

/**
 * The MRZ information (ICAO 9303-11 §4.3.2) of the eMRTD application's DG1, read inside the
 * card; undefined when there is no such application, DG1, or a TD1 MRZ in it.
 */
export function emrtdMrzInformation(mf: DedicatedFile): string | undefined {
  const df = dfByExactName(mf, LDS1_AID);
  const ef = df === undefined ? undefined : childByFid(df, dataGroup(1).fid);
  if (ef === undefined || ef.kind !== 'EF' || ef.structure !== 'transparent') return undefined;
  try {
    return parseTd1(decodeDg1(ef.data).mrz).mrzInformation;
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();

function mrzPasswordOf(ctx: CommandContext): Uint8Array | undefined {
  const info = emrtdMrzInformation(ctx.mf);
  return info === undefined ? undefined : encoder.encode(info);
}

/**
 * The card-level applet factory. Parameters: the EF.CardAccess content (SecurityInfos DER).
 */
export const CARD_LEVEL_APPLET: AppletFactory = Object.freeze({
  type: CARD_LEVEL_TYPE,
  create(params: Uint8Array): Applet {
    const protocols = protocolsOfCardAccess(params);
    return {
      install(ctx: InstallContext): void {
        attach(ctx.nv, ctx.df, newTransparentEf(EF_CARD_ACCESS.fid, params.length, { sfi: EF_CARD_ACCESS.sfi, rules: { read: ALWAYS }, data: params }));
      },
      // PACE before any application is selected, and the personalization channel (SM under the
      // transport key) that the card offers until it is operational.
      commands: composeTables(
        paceCommands(
          pacePasswords({ protocols, mrz: mrzPasswordOf, can: { pin: CARD_PASSWORDS.CAN }, pin: CARD_PASSWORDS.PIN, puk: CARD_PASSWORDS.PUK }),
        ),
        persoSmCommands(),
      ),
    };
  },
});

export interface CardLevelOptions {
  /** PACE protocols to offer (default {@link DEFAULT_PACE_PROTOCOLS}). */
  readonly protocols?: readonly PaceProtocol[];
  /** Card access number: 6 digits, printed on the card. */
  readonly can: string;
  /** Holder PIN, 4–12 digits. */
  readonly pin?: string;
  /** PIN unblocking key, 8–12 digits. */
  readonly puk?: string;
  readonly pinTries?: number;
  readonly pukTries?: number;
}

function digits(value: string, min: number, max: number, what: string): Uint8Array {
  if (!new RegExp(`^[0-9]{${min},${max}}$`).test(value)) {
    // The value itself is a secret: only its length goes into the message.
    throw new ByteInputError(`${what}: expected ${min === max ? min : `${min} to ${max}`} digits, got ${value.length} characters that are not`);
  }
  return encoder.encode(value);
}

/**
 * Installs the card-level applet with EF.CardAccess for `protocols`, and the CAN, PIN and PUK
 * objects in the MF. Commits.
 */
export function installCardLevel(card: Card, opts: CardLevelOptions): void {
  const protocols = opts.protocols ?? DEFAULT_PACE_PROTOCOLS;
  const pins: PinObject[] = [
    newPin({ ref: CARD_PASSWORDS.CAN, value: digits(opts.can, 6, 6, 'can'), label: 'CAN', minLength: 6, maxLength: 6, maxTries: 15 }),
  ];
  if (opts.puk !== undefined) {
    pins.push(newPin({ ref: CARD_PASSWORDS.PUK, value: digits(opts.puk, 8, 12, 'puk'), label: 'PUK', minLength: 8, maxLength: 12, maxTries: opts.pukTries ?? 10 }));
  }
  if (opts.pin !== undefined) {
    pins.push(
      newPin({
        ref: CARD_PASSWORDS.PIN,
        value: digits(opts.pin, 4, 12, 'pin'),
        label: 'PIN',
        minLength: 4,
        maxLength: 12,
        maxTries: opts.pinTries ?? 3,
        ...(opts.puk !== undefined ? { pukRef: CARD_PASSWORDS.PUK } : {}),
      }),
    );
  }
  card.install(new Uint8Array(0), CARD_LEVEL_TYPE, paceCardAccess(protocols));
  const mf = card.state.mf;
  for (const p of pins) {
    const i = mf.pins.findIndex((x) => x.ref === p.ref);
    if (i >= 0) card.nv.splice(mf.pins, i, 1, p);
    else card.nv.splice(mf.pins, mf.pins.length, 0, p);
  }
  card.nv.commit();
}
