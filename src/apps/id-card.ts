/**
 * The multi-application national ID card: every application on one chip, built from one holder
 * document ({@link buildIdCard}) and read back whole, decoded and verified ({@link readIdCard}).
 *
 * | application       | AID            | applet type        | holds                                              |
 * |-------------------|----------------|--------------------|----------------------------------------------------|
 * | card level (MF)   | —              | card-level         | EF.CardAccess, PACE, CAN (02) / PIN (03) / PUK (04) |
 * | identity (eMRTD)  | A0000002471001 | icao-lds-aa-ca     | EF.COM, DG1–3, DG11, DG12, DG14, DG15, EF.SOD; AA and CA keys |
 * | driving licence   | A0000002480200 | driving-licence    | EF.COM, DG1, DG6 (portrait reference), EF.SOD       |
 * | health insurance  | F04357494448   | health-insurance   | EF.INSURANCE, EF.DEPENDANTS, EF.SOD; insurer key   |
 * | finances          | F04357494446   | finance            | EF.ACCOUNTS, EF.CARDS, EF.SOD                       |
 * | e-services (PKI)  | F04357494445   | e-services         | EF.KEYS, certificates, EF.SOD; PINs 81/82; key pairs |
 * | purse (optional)  | F043575055525345 | purse            | see `apps/purse/`                                   |
 *
 * The identity application here is the eMRTD applet of `apps/identity/` with Active
 * Authentication (ECDSA P-256, DG15) and Chip Authentication (ECDH brainpoolP256r1, AES-128,
 * DG14) composed in, and PACE too (so PACE still answers while it is selected: its MSE and
 * GENERAL AUTHENTICATE would otherwise shadow the card-level applet's). Its key pairs are
 * generated inside the card's key store; the private keys never leave it.
 *
 * Every application's data files are covered by an EF.SOD signed by the document signer (the
 * health EF.SOD later by the insurer's signer); all hash SHA-256 by default.
 *
 * @example
 * const pki = createTestPki();
 * const card = buildIdCard(loadHolder('profiles/samples/specimen-full.yaml'), {
 *   pki, can: '123456', pin: '1234', puk: '12345678', insurerKey,
 *   eServices: { authenticationPin: '1234', signaturePin: '123456' },
 * });
 * const r = await readIdCard(new InProcessTransport(card), { can: '123456', pin: '1234', cscas: [pki.csca.certificate] });
 * r.verdict // 'valid'
 */
import type { Applet, AppletFactory } from '../card/applet.js';
import type { InstallContext } from '../card/context.js';
import { hexToBytes } from '../bytes/index.js';
import { LCS, newTransparentEf, type DedicatedFile } from '../card/fs/file.js';
import { attach, dfByExactName } from '../card/fs/tree.js';
import { createCard, type Card, type CardOptions } from '../card/os.js';
import { activeAuthCommands, activeAuthPublicKeyInfo, activeAuthSecurityInfo, type ActiveAuthConfig } from '../card/protocols/active-auth.js';
import { chipAuthCommands, chipAuthSecurityInfos, type ChipAuthConfig } from '../card/protocols/chip-auth.js';
import { addKeySlot, generateInSlot } from '../card/protocols/key-store.js';
import { paceCardAccess, paceCommands, pacePasswords, type PaceProtocol } from '../card/protocols/pace.js';
import { composeTables } from '../card/route.js';
import { SM_REQUIRED } from '../card/security/access.js';
import { newAsymmetricKey } from '../card/security/objects.js';
import { parseResponseApdu } from '../apdu/response.js';
import { encodeCommandApdu } from '../apdu/command.js';
import { INS } from '../apdu/ins.js';
import type { MrzInfo } from '../crypto/bac.js';
import { CA_OID, encodeSecurityInfos, type SecurityInfo } from '../crypto/security-infos.js';
import type { Holder } from '../holder/types.js';
import type { HashAlgorithm } from '../lds/algorithms.js';
import { verifySod, type CheckVerdict, type PassiveAuthReport } from '../lds/passive-auth.js';
import type { CertifiedKey } from '../lds/pki.js';
import { EF_CARD_ACCESS, EF_COM, EF_SOD, dataGroup } from '../lds/tags.js';
import { ActiveAuthError, performActiveAuthentication } from '../terminal/active-auth.js';
import { ChipAuthError, chooseChipAuthentication, performChipAuthentication } from '../terminal/chip-auth.js';
import { SecureMessagingError, SecureMessagingTransport } from '../transport/secure-messaging.js';
import type { Transport } from '../transport/types.js';
import { installKeySlots, type KeystoreSlot } from './keystore.js';
import { keygenCommands } from '../card/protocols/keygen.js';
import { PURSE_APPLET } from './purse/applet.js';
import { PURSE_AID } from './purse/protocol.js';
import { purseInstallParams, type PurseSpec } from './purse/params.js';
import { CARD_LEVEL_APPLET, CARD_PASSWORDS, DEFAULT_PACE_PROTOCOLS, emrtdMrzInformation, installCardLevel, protocolsOfCardAccess } from './card-level.js';
import { identityApplet } from './identity/applet.js';
import { decodeIdentityFiles, prepareIdentityFiles, type DecodedIdentity, type IdentityFiles, type IdentitySections } from './identity/data.js';
import { IDENTITY_AID, IDENTITY_FILES, dataGroupsToRead } from './identity/layout.js';
import { IdentityReadError, openIdentitySession, readLoggedFile, type IdentitySession } from './identity/reader.js';
import { HEALTH_APPLET } from './health/applet.js';
import { buildHealthApplication } from './health/card.js';
import { sodVerdict, type AppFileRead } from './health/common.js';
import { readHealth, type HealthReadResult } from './health/reader.js';
import { LICENCE_APPLET } from './licence/applet.js';
import { buildLicenceApplication } from './licence/card.js';
import { readLicence, type LicenceReadResult } from './licence/reader.js';
import { FINANCE_APPLET } from './finance/applet.js';
import { buildFinanceApplication } from './finance/card.js';
import { readFinance, type FinanceReadResult } from './finance/reader.js';
import { ESERVICES_APPLET } from './eservices/applet.js';
import { buildEServicesApplication } from './eservices/card.js';
import { readEServices, type EServicesReadResult } from './eservices/reader.js';

// --- the identity application with AA and CA -------------------------------------------------------

/** Applet type of the identity application with Active and Chip Authentication. */
export const ID_CARD_IDENTITY_TYPE = 'icao-lds-aa-ca';

/** Key references in the identity DF's key store. */
export const IDENTITY_KEYS = Object.freeze({ ACTIVE_AUTHENTICATION: 0x01, CHIP_AUTHENTICATION: 0x02 } as const);

const AA_CONFIG: ActiveAuthConfig = Object.freeze({ key: IDENTITY_KEYS.ACTIVE_AUTHENTICATION, hash: 'sha256' });
const CA_CONFIG: ChipAuthConfig = Object.freeze({ keys: Object.freeze([{ key: IDENTITY_KEYS.CHIP_AUTHENTICATION, protocol: CA_OID.ECDH_AES_128 }]) });

const encoder = new TextEncoder();

/**
 * Install parameters of the identity applet as personalization gives them (UTF-8 JSON,
 * chipwright's own format): EF.CardAccess and the empty AA/CA key slots to create, which
 * GENERATE ASYMMETRIC KEY PAIR then fills on the card.
 */
export interface IdentityInstallParams {
  /** EF.CardAccess (hex): the PACE protocols the applet runs. */
  readonly cardAccess?: string;
  readonly slots: readonly KeystoreSlot[];
}

/** Install parameters for {@link ID_CARD_IDENTITY_APPLET} with key slots. */
export function identityInstallParams(p: IdentityInstallParams): Uint8Array {
  return encoder.encode(JSON.stringify(p));
}

/**
 * The eMRTD applet with PACE, Chip Authentication and Active Authentication composed with BAC.
 * Install parameters: EF.CardAccess (the PACE protocols, as for the card-level applet) — or,
 * from personalization, {@link IdentityInstallParams}: EF.CardAccess plus the key slots
 * (AA key 01, CA key 02) that install creates empty.
 */
export const ID_CARD_IDENTITY_APPLET: AppletFactory = Object.freeze({
  type: ID_CARD_IDENTITY_TYPE,
  create(raw: Uint8Array): Applet {
    // JSON starts with '{' (7B); EF.CardAccess is a DER SET (31).
    const json = raw[0] === 0x7b ? (JSON.parse(new TextDecoder().decode(raw)) as IdentityInstallParams) : undefined;
    const params = json === undefined ? raw : json.cardAccess !== undefined ? hexToBytes(json.cardAccess) : new Uint8Array(0);
    const protocols = params.length > 0 ? protocolsOfCardAccess(params) : DEFAULT_PACE_PROTOCOLS;
    const extra = composeTables(
      paceCommands(
        pacePasswords({
          protocols,
          mrz: (ctx) => {
            const info = emrtdMrzInformation(ctx.mf);
            return info === undefined ? undefined : encoder.encode(info);
          },
          can: { pin: CARD_PASSWORDS.CAN },
          pin: CARD_PASSWORDS.PIN,
          puk: CARD_PASSWORDS.PUK,
        }),
      ),
      chipAuthCommands(CA_CONFIG),
      activeAuthCommands(AA_CONFIG),
      // Personalization generates the AA and CA keys on the card (their slots' generate
      // condition holds only under the transport key, during personalization).
      keygenCommands(),
    );
    const applet = identityApplet(extra).create(params);
    if (json === undefined || json.slots.length === 0) return applet;
    const base = applet.install;
    return {
      ...applet,
      install(ctx: InstallContext): void {
        base?.(ctx);
        installKeySlots(ctx, json.slots);
      },
    };
  },
});

/** Every applet type a card made by {@link buildIdCard} uses (for `loadCard(text, { applets })`). */
export const ID_CARD_APPLETS: readonly AppletFactory[] = Object.freeze([
  CARD_LEVEL_APPLET,
  ID_CARD_IDENTITY_APPLET,
  LICENCE_APPLET,
  HEALTH_APPLET,
  FINANCE_APPLET,
  ESERVICES_APPLET,
  PURSE_APPLET,
]);

/** Writes the identity files into its DF, as `installIdentity` does for the BAC-only applet. */
function writeIdentityFiles(card: Card, df: DedicatedFile, files: IdentityFiles): void {
  for (const spec of IDENTITY_FILES) {
    const data = spec.name === 'EF.COM' ? files.com : spec.name === 'EF.SOD' ? files.sod : files.dataGroups.get(spec.dataGroup!);
    if (data === undefined) continue;
    attach(card.nv, df, newTransparentEf(spec.fid, data.length, { sfi: spec.sfi, rules: spec.rules, data, encrypted: spec.encrypted }));
  }
  card.nv.commit();
}

// --- building ----------------------------------------------------------------------------------

export interface IdCardOptions {
  /** Signs every EF.SOD; its CSCA is the trust anchor a reader needs. */
  readonly pki: { readonly csca: CertifiedKey; readonly documentSigner: CertifiedKey };
  /** Card access number, 6 digits. */
  readonly can: string;
  /** Holder PIN (03), 4–12 digits: without it DG3 and the finances cannot be read. */
  readonly pin?: string;
  readonly puk?: string;
  readonly pinTries?: number;
  readonly pukTries?: number;
  readonly paceProtocols?: readonly PaceProtocol[];
  /** The insurer's AES key (KEY(01) of the health DF); required with `healthInsurance`. */
  readonly insurerKey?: Uint8Array;
  /** The e-services PINs and issuing CA; required with `eServices` key pairs. */
  readonly eServices?: {
    readonly authenticationPin: string;
    readonly signaturePin: string;
    /** Issues the key certificates (default: the CSCA of `pki`, for test cards only). */
    readonly ca?: CertifiedKey;
  };
  /** Installs the purse with this spec (`apps/purse/params.ts`). */
  readonly purse?: PurseSpec;
  /** Active Authentication key and DG15 (default true). */
  readonly activeAuthentication?: boolean;
  /** Chip Authentication key and DG14 (default true). */
  readonly chipAuthentication?: boolean;
  readonly ldsVersion?: string;
  readonly hashAlgorithm?: HashAlgorithm;
  /** EF.SOD signingTime of every application (default now; null = none). */
  readonly signingTime?: Date | null;
  readonly personalizationTime?: Date;
  /** Options for the card itself (ATR, RNG, serial …); the ID card applets are added to `applets`. */
  readonly card?: CardOptions;
  /** Move the card to the operational life cycle at the end (default true). */
  readonly operational?: boolean;
}

/** Thrown when the holder document and the options do not make a card (a missing key, PIN …). */
export class IdCardBuildError extends Error {
  override readonly name = 'IdCardBuildError';
}

/**
 * A personalized multi-application ID card (powered off): the card level with PACE, the identity
 * application (with AA and CA unless switched off), and — when the holder document has their
 * section — the licence, health insurance, finances and e-services applications; the purse when
 * `opts.purse` is given.
 */
export function buildIdCard(holder: Holder, opts: IdCardOptions): Card {
  if (holder.healthInsurance !== undefined && opts.insurerKey === undefined) {
    throw new IdCardBuildError('healthInsurance: give insurerKey (the AES key the insurer changes the data with)');
  }
  const keyPairs = holder.eServices?.keyPairs ?? [];
  if (keyPairs.length > 0 && opts.eServices === undefined) {
    throw new IdCardBuildError('eServices: give eServices.authenticationPin and eServices.signaturePin');
  }
  if (holder.drivingLicence !== undefined && holder.face === undefined) {
    throw new IdCardBuildError('drivingLicence: a licence needs the holder\'s face (DG6 refers to the portrait in the eMRTD DG2)');
  }
  const own = opts.card?.applets ?? [];
  const applets = [...own, ...ID_CARD_APPLETS.filter((a) => !own.some((o) => o.type === a.type))];
  const card = createCard({ ...opts.card, applets });
  const sign = { signer: opts.pki.documentSigner, ...(opts.hashAlgorithm !== undefined ? { hashAlgorithm: opts.hashAlgorithm } : {}), ...(opts.signingTime !== undefined ? { signingTime: opts.signingTime } : {}) };
  const protocols = opts.paceProtocols ?? DEFAULT_PACE_PROTOCOLS;

  installCardLevel(card, {
    can: opts.can,
    protocols,
    ...(opts.pin !== undefined ? { pin: opts.pin } : {}),
    ...(opts.puk !== undefined ? { puk: opts.puk } : {}),
    ...(opts.pinTries !== undefined ? { pinTries: opts.pinTries } : {}),
    ...(opts.pukTries !== undefined ? { pukTries: opts.pukTries } : {}),
  });

  // Identity: the applet first (its DF holds the AA/CA key slots), then the files, whose DG14 and
  // DG15 carry the public keys generated in those slots.
  card.install(IDENTITY_AID, ID_CARD_IDENTITY_TYPE, paceCardAccess(protocols));
  const idDf = dfByExactName(card.state.mf, IDENTITY_AID)!;
  let dg14: Uint8Array | undefined;
  let dg15: Uint8Array | undefined;
  const infos: SecurityInfo[] = [];
  if (opts.chipAuthentication !== false) {
    const k = addKeySlot(card.nv, idDf, newAsymmetricKey({ ref: IDENTITY_KEYS.CHIP_AUTHENTICATION, type: 'ec', curve: 'brainpoolP256r1', usage: ['chip-authentication'], use: SM_REQUIRED, label: 'CA key' }));
    generateInSlot(card.nv, k, card.rng);
    infos.push(...chipAuthSecurityInfos(idDf, CA_CONFIG));
  }
  if (opts.activeAuthentication !== false) {
    const k = addKeySlot(card.nv, idDf, newAsymmetricKey({ ref: IDENTITY_KEYS.ACTIVE_AUTHENTICATION, type: 'ec', curve: 'P-256', usage: ['active-authentication'], use: SM_REQUIRED, label: 'AA key' }));
    generateInSlot(card.nv, k, card.rng);
    dg15 = activeAuthPublicKeyInfo(idDf, AA_CONFIG);
    const aa = activeAuthSecurityInfo(idDf, AA_CONFIG);
    if (aa !== undefined) infos.push(aa);
  }
  if (infos.length > 0) dg14 = encodeSecurityInfos(infos);
  card.nv.commit();
  const identity = prepareIdentityFiles(holder, {
    ...sign,
    ...(opts.ldsVersion !== undefined ? { ldsVersion: opts.ldsVersion } : {}),
    ...(opts.personalizationTime !== undefined ? { personalizationTime: opts.personalizationTime } : {}),
    ...(dg14 !== undefined ? { dg14 } : {}),
    ...(dg15 !== undefined ? { dg15 } : {}),
  });
  writeIdentityFiles(card, idDf, identity);

  if (holder.drivingLicence !== undefined) buildLicenceApplication(card, holder, { ...sign, portraitFile: identity.dataGroups.get(2)! });
  if (holder.healthInsurance !== undefined) buildHealthApplication(card, holder.healthInsurance, { ...sign, insurerKey: opts.insurerKey! });
  if (holder.financialAccounts.length > 0) buildFinanceApplication(card, holder.financialAccounts, sign);
  if (keyPairs.length > 0) {
    const e = opts.eServices!;
    buildEServicesApplication(card, holder, { ...sign, authenticationPin: e.authenticationPin, signaturePin: e.signaturePin, ca: e.ca ?? opts.pki.csca, ...(opts.pinTries !== undefined ? { pinTries: opts.pinTries } : {}) });
  }
  if (opts.purse !== undefined) card.install(PURSE_AID, PURSE_APPLET.type, purseInstallParams(opts.purse));

  if (opts.operational !== false) {
    // What ACTIVATE FILE on the MF does at the end of personalization (ISO/IEC 7816-9 §7.4).
    card.nv.set(card.state, 'lifeCycle', 'operational');
    card.nv.set(card.state.mf, 'lcs', LCS.ACTIVATED);
    card.nv.commit();
  }
  return card;
}

// --- reading -----------------------------------------------------------------------------------

export interface ReadIdCardOptions {
  /** Card access number (PACE). */
  readonly can?: string;
  /** MRZ information or its three fields (PACE with the MRZ, or BAC). */
  readonly mrz?: string | MrzInfo;
  /** Holder PIN: PACE with the PIN after the first PACE (opens DG3 and the finances). */
  readonly pin?: string | Uint8Array;
  /** Trust anchors (CSCA, e-services CA), DER. */
  readonly cscas?: readonly Uint8Array[];
  readonly documentSigners?: readonly Uint8Array[];
  readonly now?: Date;
  /** BAC with the MRZ when the chip offers no PACE (default true). */
  readonly bacFallback?: boolean;
  /** Run Chip Authentication / Active Authentication when DG14 / DG15 offer it (default true). */
  readonly chipAuthentication?: boolean;
  readonly activeAuthentication?: boolean;
  readonly chunkSize?: number;
}

export interface ProtocolCheck {
  readonly verdict: CheckVerdict;
  readonly detail: string;
}

/** The identity application as read, with per-file verdicts. */
export interface IdentityAppRead {
  readonly application: 'identity';
  readonly aid: Uint8Array;
  readonly selectSw: number;
  readonly files: readonly AppFileRead[];
  readonly passiveAuth?: PassiveAuthReport;
  readonly decoded: DecodedIdentity;
  readonly sections: IdentitySections;
  readonly problems: readonly { readonly file: string; readonly message: string }[];
  readonly raw: { readonly com?: Uint8Array; readonly sod?: Uint8Array; readonly dataGroups: ReadonlyMap<number, Uint8Array> };
}

export interface IdCardReadResult {
  /** How the session was opened (the identity reader's {@link IdentitySession}), and CA and AA. */
  readonly access: Pick<IdentitySession, 'protocol' | 'established' | 'password' | 'pinVerified'> & {
    readonly chipAuthentication: ProtocolCheck;
    readonly activeAuthentication: ProtocolCheck;
  };
  readonly cardAccess?: Uint8Array;
  readonly identity: IdentityAppRead;
  readonly licence?: LicenceReadResult;
  readonly health?: HealthReadResult;
  readonly finance?: FinanceReadResult;
  readonly eServices?: EServicesReadResult;
  /** The holder model, when the identity and document decoded; other sections as read. */
  readonly holder?: Holder;
  /** Set when reading stopped early (the session failed); what was read before is kept. */
  readonly aborted?: string;
  /**
   * invalid: anything failed (a hash, a signature, a chain, AA/CA, a certificate, the portrait
   * reference, a file that does not decode); valid: every file read verified and the chip
   * authenticated; incomplete otherwise (no trust anchors, files refused without the PIN …).
   */
  readonly verdict: 'valid' | 'invalid' | 'incomplete';
}

const SELECT_MF = new Uint8Array([0x00, INS.SELECT, 0x00, 0x0c, 0x02, 0x3f, 0x00]);

async function send(t: Transport, apdu: Uint8Array): Promise<{ data: Uint8Array; sw: number }> {
  return parseResponseApdu(await t.transmit(apdu));
}

/** Per-file verdicts of the identity application from its passive-authentication report. */
function identityVerdicts(log: readonly AppFileRead[], report: PassiveAuthReport): AppFileRead[] {
  const sod = sodVerdict(report);
  return log.map((f) => {
    if (f.status !== 'read') return f;
    if (f.name === EF_SOD.name) return { ...f, verdict: sod.verdict, detail: sod.detail };
    if (f.name === EF_COM.name) return { ...f, verdict: 'not-checked', detail: 'not covered by EF.SOD (ICAO 9303-10 §4.6.1)' };
    const n = Number(f.name.replace(/^DG/, ''));
    const c = report.files.find((x) => x.dataGroup === n);
    if (c === undefined) return { ...f, verdict: 'not-checked', detail: 'not covered by EF.SOD' };
    if (c.verdict !== 'valid' || sod.verdict === 'valid') return { ...f, verdict: c.verdict, detail: c.detail };
    return { ...f, verdict: sod.verdict, detail: `${c.detail}, but EF.SOD: ${sod.detail}` };
  });
}

/**
 * Reads the whole card: EF.CardAccess in plain, PACE (or BAC when the chip offers no PACE and
 * the MRZ is given), PACE with the PIN when given; the identity application with Chip
 * Authentication as soon as DG14 is read (the rest is read under the new keys) and Active
 * Authentication with DG15; then the licence (its portrait reference checked against DG2), health,
 * finances and e-services applications. Refused and absent files are reported; every file read
 * gets a verdict. Access-control failures throw (`PaceError`, `BacError`, `IdentityReadError`).
 */
export async function readIdCard(transport: Transport, opts: ReadIdCardOptions): Promise<IdCardReadResult> {
  const chunk = opts.chunkSize ?? 0xdf;
  const now = opts.now ?? new Date();
  const cscas = opts.cscas ?? [];
  if (opts.can === undefined && opts.mrz === undefined) throw new IdentityReadError('give the CAN or the MRZ (and optionally the PIN)');

  // 1. EF.CardAccess, in plain, in the MF.
  await send(transport, SELECT_MF);
  const mfLog: AppFileRead[] = [];
  const cardAccess = await readLoggedFile(transport, { name: EF_CARD_ACCESS.name, fid: EF_CARD_ACCESS.fid, sfi: EF_CARD_ACCESS.sfi }, chunk, mfLog);

  // 2. Access control (the identity reader's: PACE, or BAC when the chip offers no PACE; then the PIN).
  const session = await openIdentitySession(transport, cardAccess, opts);
  let sm = session.sm;
  const identitySelect = encodeCommandApdu({ ins: INS.SELECT, p1: 0x04, p2: 0x0c, data: IDENTITY_AID });

  // 3. The identity application: EF.COM, EF.SOD, DG14 → Chip Authentication, the rest, DG15 → AA.
  // Under PACE the application may be missing (the other applications are still read); BAC has
  // selected it already.
  const selectSw = session.selected ? 0x9000 : (await send(sm, identitySelect)).sw;
  const log: AppFileRead[] = [];
  const dataGroups = new Map<number, Uint8Array>();
  let com: Uint8Array | undefined;
  let sod: Uint8Array | undefined;
  let ca: ProtocolCheck = { verdict: 'not-checked', detail: opts.chipAuthentication === false ? 'not run (switched off)' : 'the chip offers no Chip Authentication (no DG14)' };
  let aa: ProtocolCheck = { verdict: 'not-checked', detail: opts.activeAuthentication === false ? 'not run (switched off)' : 'the chip offers no Active Authentication (no DG15)' };
  let aborted: string | undefined;
  if (selectSw === 0x9000) {
    com = await readLoggedFile(sm, { name: EF_COM.name, fid: EF_COM.fid, sfi: EF_COM.sfi }, chunk, log);
    sod = await readLoggedFile(sm, { name: EF_SOD.name, fid: EF_SOD.fid, sfi: EF_SOD.sfi }, chunk, log);
    // DG14 first: Chip Authentication restarts SM before the other groups are read.
    const order = dataGroupsToRead(com, sod).sort((a, b) => (a === 14 ? -1 : b === 14 ? 1 : a - b));
    for (const n of order) {
      const info = dataGroup(n);
      const bytes = await readLoggedFile(sm, info, chunk, log);
      if (bytes !== undefined) dataGroups.set(n, bytes);
      if (n === 14 && bytes !== undefined && opts.chipAuthentication !== false) {
        const r = await chipAuthenticate(sm, bytes);
        ca = r.check;
        if (r.transport !== undefined) sm = r.transport;
        if (r.fatal) {
          aborted = `the session ended: ${r.check.detail}`;
          break;
        }
      }
    }
    const dg15 = dataGroups.get(15);
    if (aborted === undefined && dg15 !== undefined && opts.activeAuthentication !== false) aa = await activeAuthenticate(sm, dg15, dataGroups.get(14));
  }
  const passiveAuth = verifySod(sod ?? new Uint8Array(0), dataGroups, cscas, now, opts.documentSigners ? { documentSigners: opts.documentSigners } : {});
  const decoded = decodeIdentityFiles({ ...(com !== undefined ? { com } : {}), dataGroups }, now);
  const identity: IdentityAppRead = {
    application: 'identity',
    aid: IDENTITY_AID,
    selectSw,
    files: [...mfLog.map((f) => (f.status === 'read' ? { ...f, verdict: 'not-checked' as const, detail: 'read in plain; announces PACE, covered by no EF.SOD' } : f)), ...identityVerdicts(log, passiveAuth)],
    passiveAuth,
    decoded: decoded.decoded,
    sections: decoded.holder,
    problems: decoded.problems,
    raw: { ...(com !== undefined ? { com } : {}), ...(sod !== undefined ? { sod } : {}), dataGroups },
  };
  // CA and AA vouch for the chip only as far as DG14 / DG15 are authentic.
  ca = qualify(ca, 14, passiveAuth);
  aa = qualify(aa, 15, passiveAuth);

  // 4. The other applications.
  const common = { cscas, now, chunkSize: chunk };
  let licence: LicenceReadResult | undefined;
  let health: HealthReadResult | undefined;
  let finance: FinanceReadResult | undefined;
  let eServices: EServicesReadResult | undefined;
  if (aborted === undefined) {
    try {
      const dg2 = dataGroups.get(2);
      licence = await readLicence(sm, { ...common, ...(dg2 !== undefined ? { portraitFile: dg2 } : {}) });
      health = await readHealth(sm, common);
      finance = await readFinance(sm, common);
      eServices = await readEServices(sm, common);
    } catch (e) {
      if (!(e instanceof SecureMessagingError)) throw e;
      aborted = `the secure-messaging session failed: ${e.message}`;
    }
  }

  const sections = decoded.holder;
  const holder: Holder | undefined =
    sections.identity !== undefined && sections.document !== undefined
      ? {
          identity: sections.identity,
          document: sections.document,
          ...(sections.face !== undefined ? { face: sections.face } : {}),
          fingerprints: sections.fingerprints ?? [],
          ...(health?.section !== undefined ? { healthInsurance: health.section } : {}),
          ...(licence?.section !== undefined ? { drivingLicence: licence.section } : {}),
          financialAccounts: finance?.section ?? [],
          ...(eServices?.section !== undefined ? { eServices: eServices.section } : {}),
        }
      : undefined;
  const result = {
    access: { protocol: session.protocol, established: session.established, password: session.password, pinVerified: session.pinVerified, chipAuthentication: ca, activeAuthentication: aa },
    ...(cardAccess !== undefined ? { cardAccess } : {}),
    identity,
    ...(licence !== undefined && licence.selectSw !== 0x6a82 ? { licence } : {}),
    ...(health !== undefined && health.selectSw !== 0x6a82 ? { health } : {}),
    ...(finance !== undefined && finance.selectSw !== 0x6a82 ? { finance } : {}),
    ...(eServices !== undefined && eServices.selectSw !== 0x6a82 ? { eServices } : {}),
    ...(holder !== undefined ? { holder } : {}),
    ...(aborted !== undefined ? { aborted } : {}),
  };
  return { ...result, verdict: overallVerdict(result) };
}

/** Chip Authentication with DG14 as read; `fatal` when the session did not survive it. */
async function chipAuthenticate(sm: SecureMessagingTransport, dg14: Uint8Array): Promise<{ check: ProtocolCheck; transport?: SecureMessagingTransport; fatal: boolean }> {
  let name: string;
  try {
    name = chooseChipAuthentication(dg14).suite.name;
  } catch (e) {
    if (e instanceof ChipAuthError) return { check: { verdict: 'not-checked', detail: e.message }, fatal: false };
    throw e;
  }
  let next: SecureMessagingTransport;
  try {
    next = await performChipAuthentication(sm, { dg14 });
  } catch (e) {
    if (e instanceof ChipAuthError) return { check: { verdict: 'invalid', detail: `${name}: ${e.message}` }, fatal: e.reason !== 'parameters' && !sm.active };
    if (e instanceof SecureMessagingError) return { check: { verdict: 'invalid', detail: `${name}: ${e.message}` }, fatal: true };
    throw e;
  }
  // The chip proves it holds the DG14 private key by answering under the keys derived from it.
  try {
    const r = await send(next, encodeCommandApdu({ ins: INS.SELECT, p1: 0x04, p2: 0x0c, data: IDENTITY_AID }));
    if (r.sw !== 0x9000) return { check: { verdict: 'invalid', detail: `${name}: the first command under the new keys answered ${r.sw.toString(16).toUpperCase()}` }, transport: next, fatal: false };
  } catch (e) {
    if (e instanceof SecureMessagingError) return { check: { verdict: 'invalid', detail: `${name}: the chip's answer under the new keys does not verify (${e.message})` }, fatal: true };
    throw e;
  }
  return { check: { verdict: 'valid', detail: `${name}: the chip answered under the keys agreed with the DG14 key` }, transport: next, fatal: false };
}

async function activeAuthenticate(sm: Transport, dg15: Uint8Array, dg14: Uint8Array | undefined): Promise<ProtocolCheck> {
  try {
    const r = await performActiveAuthentication(sm, { dg15, ...(dg14 !== undefined ? { dg14 } : {}) });
    return { verdict: 'valid', detail: `${r.algorithm === 'ecdsa' ? 'ECDSA' : 'RSA ISO/IEC 9796-2'}${r.hash !== undefined ? ` with ${r.hash.toUpperCase()}` : ''} signature over RND.IFD verifies with the DG15 key` };
  } catch (e) {
    if (!(e instanceof ActiveAuthError)) throw e;
    return { verdict: e.reason === 'parameters' ? 'not-checked' : 'invalid', detail: e.message };
  }
}

/** A chip-authentication verdict lowered to what passive authentication says of the key's file. */
function qualify(c: ProtocolCheck, dg: number, pa: PassiveAuthReport): ProtocolCheck {
  if (c.verdict !== 'valid') return c;
  const f = pa.files.find((x) => x.dataGroup === dg);
  const sod = sodVerdict(pa);
  if (f?.verdict === 'valid' && sod.verdict === 'valid') return { verdict: 'valid', detail: `${c.detail} (DG${dg} passes passive authentication)` };
  if (f?.verdict === 'invalid' || sod.verdict === 'invalid') return { verdict: 'invalid', detail: `${c.detail}, but DG${dg} fails passive authentication` };
  return { verdict: 'not-checked', detail: `${c.detail}, but DG${dg} is not authenticated (${sod.verdict === 'valid' ? (f?.detail ?? 'not in EF.SOD') : sod.detail})` };
}

function overallVerdict(r: Omit<IdCardReadResult, 'verdict'>): IdCardReadResult['verdict'] {
  const apps = [r.identity, r.licence, r.health, r.finance, r.eServices].filter((a) => a !== undefined);
  const verdicts: string[] = [r.access.chipAuthentication.verdict, r.access.activeAuthentication.verdict];
  let problems = 0;
  let refused = 0;
  for (const a of apps) {
    for (const f of a.files) {
      // EF.CardAccess and EF.COM are covered by no EF.SOD, on every eMRTD: their "not checked" is no gap.
      if (f.status === 'read' && (f.name === EF_CARD_ACCESS.name || f.name === EF_COM.name)) continue;
      if (f.status === 'read') verdicts.push(f.verdict ?? 'not-checked');
      else if (f.status === 'error') verdicts.push('invalid');
      else if (f.status === 'refused') refused++;
    }
    if (a.passiveAuth !== undefined) verdicts.push(a.passiveAuth.verdict === 'incomplete' ? 'not-checked' : a.passiveAuth.verdict);
    problems += a.problems.length;
  }
  if (r.licence !== undefined) verdicts.push(r.licence.portrait.verdict);
  for (const k of r.eServices?.keys ?? []) verdicts.push(k.certificateCheck.verdict);
  if (problems > 0 || verdicts.includes('invalid')) return 'invalid';
  const chipAuthenticated = r.access.chipAuthentication.verdict === 'valid' || r.access.activeAuthentication.verdict === 'valid';
  if (r.aborted !== undefined || refused > 0 || verdicts.includes('not-checked') || !chipAuthenticated) return 'incomplete';
  return 'valid';
}
