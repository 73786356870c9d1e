/**
 * A simulated identity card in one call: the card-level applet (EF.CardAccess, PACE, CAN/PIN/PUK)
 * and the identity application with every LDS file written and EF.SOD signed — through the
 * library, as personalization will later do over APDUs with the same encoders
 * ({@link prepareIdentityFiles}) and the same layout ({@link IDENTITY_FILES}).
 *
 * @example
 * const pki = createTestPki();
 * const card = buildIdentityCard(loadHolder('profiles/samples/specimen-full.yaml'), { pki, can: '123456', pin: '1234' });
 * const read = await readIdentity(new InProcessTransport(card), { can: '123456', cscas: [pki.csca.certificate] });
 */
import type { AppletFactory } from '../../card/applet.js';
import { LCS, newTransparentEf } from '../../card/fs/file.js';
import { attach, dfByExactName } from '../../card/fs/tree.js';
import { createCard, type Card, type CardOptions } from '../../card/os.js';
import type { PaceProtocol } from '../../card/protocols/pace.js';
import type { Holder } from '../../holder/types.js';
import type { CertifiedKey } from '../../lds/pki.js';
import { CARD_LEVEL_APPLET, installCardLevel } from '../card-level.js';
import { IDENTITY_APPLET } from './applet.js';
import { prepareIdentityFiles, type IdentityDataOptions, type IdentityFiles } from './data.js';
import { IDENTITY_AID, IDENTITY_FILES, IDENTITY_TYPE } from './layout.js';

/** The applet factories an identity card image needs to load (`loadCard(text, { applets })`). */
export const IDENTITY_CARD_APPLETS: readonly AppletFactory[] = Object.freeze([CARD_LEVEL_APPLET, IDENTITY_APPLET]);

/**
 * Installs the identity application and writes `files` into it (only the files present). The
 * card-level applet is installed separately ({@link installCardLevel}). Commits.
 */
export function installIdentity(card: Card, files: IdentityFiles): void {
  card.install(IDENTITY_AID, IDENTITY_TYPE);
  const df = dfByExactName(card.state.mf, IDENTITY_AID)!;
  for (const spec of IDENTITY_FILES) {
    const data = spec.name === 'EF.COM' ? files.com : spec.name === 'EF.SOD' ? files.sod : files.dataGroups.get(spec.dataGroup!);
    if (data === undefined) continue;
    attach(card.nv, df, newTransparentEf(spec.fid, data.length, { sfi: spec.sfi, rules: spec.rules, data, encrypted: spec.encrypted }));
  }
  card.nv.commit();
}

export interface IdentityCardOptions extends Omit<IdentityDataOptions, 'signer'> {
  /** The PKI whose document signer signs EF.SOD (`createTestPki()`, or the issuer's). */
  readonly pki: { readonly documentSigner: CertifiedKey };
  /** Card access number, 6 digits. */
  readonly can: string;
  /** Holder PIN (4–12 digits): without it, DG3 cannot be read. */
  readonly pin?: string;
  readonly puk?: string;
  readonly pinTries?: number;
  readonly pukTries?: number;
  /** PACE protocols EF.CardAccess offers (default ECDH-GM-AES-128 on brainpoolP256r1). */
  readonly paceProtocols?: readonly PaceProtocol[];
  /** Options for the card itself (ATR, RNG, serial …); the identity applets are added to `applets`. */
  readonly card?: CardOptions;
  /** Move the card to the operational life cycle at the end (default true). */
  readonly operational?: boolean;
}

/** A personalized identity card (powered off). */
export function buildIdentityCard(holder: Holder, opts: IdentityCardOptions): Card {
  const own = opts.card?.applets ?? [];
  const applets = [...own, ...IDENTITY_CARD_APPLETS.filter((a) => !own.some((o) => o.type === a.type))];
  const card = createCard({ ...opts.card, applets });
  installCardLevel(card, {
    can: opts.can,
    ...(opts.pin !== undefined ? { pin: opts.pin } : {}),
    ...(opts.puk !== undefined ? { puk: opts.puk } : {}),
    ...(opts.pinTries !== undefined ? { pinTries: opts.pinTries } : {}),
    ...(opts.pukTries !== undefined ? { pukTries: opts.pukTries } : {}),
    ...(opts.paceProtocols !== undefined ? { protocols: opts.paceProtocols } : {}),
  });
  installIdentity(card, prepareIdentityFiles(holder, { ...opts, signer: opts.pki.documentSigner }));
  if (opts.operational !== false) {
    // What ACTIVATE FILE on the MF does at the end of personalization (ISO/IEC 7816-9 §7.4).
    card.nv.set(card.state, 'lifeCycle', 'operational');
    card.nv.set(card.state.mf, 'lcs', LCS.ACTIVATED);
    card.nv.commit();
  }
  return card;
}
