/**
 * Application types a profile can name (`applet:`): the applet factory a simulated card registers,
 * how the profile's `params` become install parameters, and what the type offers (a key store,
 * the card-level place in the MF). Applications plug theirs in with {@link registerApplicationType}.
 *
 * | type | what | params |
 * |---|---|---|
 * | `card-level` | the MF's applet: EF.CardAccess, PACE with CAN/PIN/PUK, and the personalization channel | `pace: [{ protocol: ECDH-GM-AES-128, parameterId: 13 }]` |
 * | `icao-lds` | the eMRTD application with BAC (`apps/identity`) | — |
 * | `icao-lds-aa-ca` | the ID card's eMRTD application with PACE, Active and Chip Authentication (`apps/id-card.ts`); AA/CA key pairs from `keyPairs`, DG14/DG15 by the `icao.dg14`/`icao.dg15` encoders during the run | `pace` as for card-level |
 * | `purse` | the stored-value purse (`apps/purse`) | `currency, maximum, initialBalance, pinThreshold, logSize, maxSessionOps, keyVersion, loadKey, purchaseKey` (keys as `{ operator, diversify }`) |
 * | `keystore` | a DF with the key store's commands (MSE, PSO, INTERNAL AUTHENTICATE, GENERATE ASYMMETRIC KEY PAIR); its key slots are the profile's `keyPairs` | — |
 * | `health-insurance` | the health insurance applet (`apps/health`; encoders `health.*`) | — |
 * | `driving-licence` | the ISO/IEC 18013-2 licence applet (`apps/licence`; encoders `licence.*`) | — |
 * | `finance` | the finances applet (`apps/finance`; encoders `finance.*`) | — |
 * | `e-services` | the e-services PKI application (`apps/eservices`): key slots as `keystore`, encoder `eservices.keys` for EF.KEYS | — |
 * | `none` | a plain DF (DF name = the AID) made by CREATE FILE during personalization | — |
 *
 * Installing is a factory step (the simulator's `card.install`, like loading an applet before the
 * card ships): {@link createBlankCard} does it for simulated cards. A card in a reader must come
 * with its applets installed; personalization then writes files, PINs and keys over APDUs.
 */
import type { AppletFactory } from '../card/applet.js';
import { createCard, type Card } from '../card/os.js';
import { dfByExactName } from '../card/fs/tree.js';
import { paceCardAccess, type PaceProtocol } from '../card/protocols/pace.js';
import { withPersoSm } from '../card/protocols/perso-sm.js';
import { PACE_OID } from '../crypto/security-infos.js';
import { CARD_LEVEL_APPLET, CARD_LEVEL_TYPE, DEFAULT_PACE_PROTOCOLS } from '../apps/card-level.js';
import { IDENTITY_APPLET } from '../apps/identity/applet.js';
import { KEYSTORE_APPLET, KEYSTORE_TYPE, type KeystoreSlot } from '../apps/keystore.js';
import { IDENTITY_TYPE } from '../apps/identity/layout.js';
import { PURSE_APPLET } from '../apps/purse/applet.js';
import { HEALTH_APPLET } from '../apps/health/applet.js';
import { LICENCE_APPLET } from '../apps/licence/applet.js';
import { FINANCE_APPLET } from '../apps/finance/applet.js';
import { ESERVICES_TYPE } from '../apps/eservices/layout.js';
import { ID_CARD_IDENTITY_APPLET, ID_CARD_IDENTITY_TYPE, identityInstallParams } from '../apps/id-card.js';
import { bytesToHex } from '../bytes/index.js';
import { purseInstallParams, type PurseSpec } from '../apps/purse/params.js';
import { PURSE_APPLET_TYPE } from '../apps/purse/protocol.js';
import type { Segment } from './issues.js';
import { operatorKey, type OperatorKeys } from './operator-keys.js';
import type { ApplicationSpec, KeyPairSpec, Profile, OperatorKeySpec } from './profile.js';
import { DEFAULT_TRANSPORT_KEY } from '../card/os.js';
import { applicationDfFids } from './prepare.js';

/** What install parameters are computed from. */
export interface InstallParamsContext {
  readonly operatorKeys: OperatorKeys;
  /** The holder the card is made for (per-card diversified keys), when known. */
  readonly holderId: string | undefined;
}

export interface ApplicationType {
  readonly type: string;
  /** The factory a simulated card registers; none for `none` (a plain DF). */
  readonly factory?: AppletFactory;
  readonly params?: (app: ApplicationSpec, ctx: InstallParamsContext) => Uint8Array;
  /** Checks `params` when the profile loads. */
  readonly checkParams?: (params: Readonly<Record<string, unknown>>) => { path: Segment[]; message: string; hint?: string } | undefined;
  /** Key pairs may live here (the applet has the key store's commands). */
  readonly keySlots?: boolean;
  /** Lives in the MF (empty AID), at most one per card. */
  readonly cardLevel?: boolean;
}

const types = new Map<string, ApplicationType>();

/** Adds an application type; a type name means one thing. */
export function registerApplicationType(t: ApplicationType): void {
  const seen = types.get(t.type);
  if (seen !== undefined && seen !== t) throw new Error(`application type "${t.type}" is already registered`);
  types.set(t.type, t);
}

export function applicationType(type: string): ApplicationType | undefined {
  return types.get(type);
}

export function applicationTypes(): ApplicationType[] {
  return [...types.values()];
}

// --- keystore: a generic application with the card's key store ---------------------------------

/** Install parameters of a keystore application: its key slots as UTF-8 JSON (chipwright's own format). */
export function keystoreParams(keyPairs: readonly KeyPairSpec[]): Uint8Array {
  const slots: KeystoreSlot[] = keyPairs.map((k) => ({
    ref: k.ref,
    label: k.name,
    type: k.type,
    ...(k.curve !== undefined ? { curve: k.curve } : {}),
    ...(k.bits !== undefined ? { bits: k.bits } : {}),
    usage: [...k.usage],
    use: k.useText,
    pinAlways: k.pinAlways,
  }));
  return new TextEncoder().encode(JSON.stringify({ slots }));
}


// --- built-in types ----------------------------------------------------------------------------

const PACE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  'ECDH-GM-AES-128': PACE_OID.ECDH_GM_AES_128,
  'ECDH-GM-AES-192': PACE_OID.ECDH_GM_AES_192,
  'ECDH-GM-AES-256': PACE_OID.ECDH_GM_AES_256,
});

function paceOf(params: Readonly<Record<string, unknown>>): PaceProtocol[] {
  const list = params.pace as { protocol: string; parameterId: number }[] | undefined;
  if (list === undefined) return [...DEFAULT_PACE_PROTOCOLS];
  return list.map((p) => ({ protocol: PACE_NAMES[p.protocol] ?? p.protocol, parameterId: p.parameterId }));
}

function keySpec(v: unknown): OperatorKeySpec | undefined {
  if (v === undefined) return undefined;
  const o = v as { operator: string; diversify?: 'none' | 'holder' };
  return { operator: o.operator, diversify: o.diversify ?? 'none' };
}

const PURSE_KEYS = ['currency', 'exponent', 'maximum', 'initialBalance', 'pinThreshold', 'logSize', 'maxSessionOps', 'keyVersion', 'loadKey', 'purchaseKey'];

const BUILT_INS: readonly ApplicationType[] = [
  {
    type: CARD_LEVEL_TYPE,
    factory: withPersoSm(CARD_LEVEL_APPLET),
    cardLevel: true,
    params: (app) => paceCardAccess(paceOf(app.params)),
    checkParams: (params) => {
      for (const k of Object.keys(params)) if (k !== 'pace') return { path: [k], message: 'unknown key', hint: 'expected: pace' };
      const list = params.pace;
      if (list === undefined) return undefined;
      if (!Array.isArray(list) || list.length === 0) return { path: ['pace'], message: 'expected a list of { protocol, parameterId }' };
      for (const [i, p] of list.entries()) {
        const o = p as { protocol?: unknown; parameterId?: unknown };
        if (typeof o.protocol !== 'string' || PACE_NAMES[o.protocol] === undefined) return { path: ['pace', i, 'protocol'], message: `got ${JSON.stringify(o.protocol)}`, hint: `one of ${Object.keys(PACE_NAMES).join(', ')}` };
        if (typeof o.parameterId !== 'number' || ![12, 13, 15, 16, 17, 18].includes(o.parameterId)) return { path: ['pace', i, 'parameterId'], message: `got ${JSON.stringify(o.parameterId)}`, hint: '12 P-256, 13 brainpoolP256r1, 15 P-384, 16 brainpoolP384r1, 17 brainpoolP512r1, 18 P-521' };
      }
      return undefined;
    },
  },
  { type: IDENTITY_TYPE, factory: IDENTITY_APPLET },
  {
    // The eMRTD application with PACE, Active Authentication (key 01) and Chip Authentication
    // (key 02) as the ID card has it (`apps/id-card.ts`): its key slots are the profile's
    // keyPairs, generated on the card; DG14 and DG15 are made from their public keys.
    type: ID_CARD_IDENTITY_TYPE,
    factory: ID_CARD_IDENTITY_APPLET,
    keySlots: true,
    checkParams: (params) => {
      for (const k of Object.keys(params)) if (k !== 'pace') return { path: [k], message: 'unknown key', hint: 'expected: pace' };
      return undefined;
    },
    params: (app) => {
      const slots = JSON.parse(new TextDecoder().decode(keystoreParams(app.keyPairs))) as { slots: KeystoreSlot[] };
      return identityInstallParams({ cardAccess: bytesToHex(paceCardAccess(paceOf(app.params))), slots: slots.slots });
    },
  },
  {
    type: PURSE_APPLET_TYPE,
    factory: PURSE_APPLET,
    checkParams: (params) => {
      for (const k of Object.keys(params)) if (!PURSE_KEYS.includes(k)) return { path: [k], message: 'unknown key', hint: `expected one of: ${PURSE_KEYS.join(', ')}` };
      if (typeof params.currency !== 'number') return { path: ['currency'], message: 'missing: the ISO 4217 numeric currency code', hint: 'e.g. 634 (QAR)' };
      if (typeof params.maximum !== 'number') return { path: ['maximum'], message: 'missing: the most the balance may reach, in minor units' };
      return undefined;
    },
    params: (app, ctx) => {
      const p = app.params as Record<string, unknown>;
      const id = ctx.holderId ?? '';
      const key = (name: string): Uint8Array | undefined => {
        const s = keySpec(p[name]);
        return s === undefined ? undefined : operatorKey(ctx.operatorKeys, s, id);
      };
      const loadKey = key('loadKey');
      const purchaseKey = key('purchaseKey');
      const spec: PurseSpec = {
        currency: p.currency as number,
        maximum: p.maximum as number,
        ...(p.exponent !== undefined ? { exponent: p.exponent as number } : {}),
        ...(p.initialBalance !== undefined ? { initialBalance: p.initialBalance as number } : {}),
        ...(p.logSize !== undefined ? { logSize: p.logSize as number } : {}),
        ...(p.maxSessionOps !== undefined ? { maxSessionOps: p.maxSessionOps as number } : {}),
        ...(p.keyVersion !== undefined ? { keyVersion: p.keyVersion as number } : {}),
        ...(loadKey !== undefined ? { loadKey } : {}),
        ...(purchaseKey !== undefined ? { purchaseKey } : {}),
      };
      return purseInstallParams(spec);
    },
  },
  { type: KEYSTORE_TYPE, factory: KEYSTORE_APPLET, keySlots: true, params: (app) => keystoreParams(app.keyPairs) },
  // The ID card's applications: their files are created over APDUs from the profile, with the
  // encoders of `app-encoders.ts`, so their readers (`apps/*/reader.ts`) read them.
  { type: HEALTH_APPLET.type, factory: HEALTH_APPLET },
  { type: LICENCE_APPLET.type, factory: LICENCE_APPLET },
  { type: FINANCE_APPLET.type, factory: FINANCE_APPLET },
  // e-services: the key store's commands (as `keystore`), under the applet type the ID card's
  // reader and image loader know; its key slots are the profile's keyPairs.
  { type: ESERVICES_TYPE, factory: Object.freeze({ type: ESERVICES_TYPE, create: KEYSTORE_APPLET.create }), keySlots: true, params: (app) => keystoreParams(app.keyPairs) },
  { type: 'none' },
];

for (const t of BUILT_INS) registerApplicationType(t);

/** The applet factories a card of `profile` needs (to create it, or to load its image). */
export function profileApplets(profile?: Profile): AppletFactory[] {
  const list = profile === undefined ? applicationTypes() : profile.applications.map((a) => applicationType(a.applet)!);
  const out: AppletFactory[] = [];
  for (const t of list) if (t.factory !== undefined && !out.some((f) => f.type === t.factory!.type)) out.push(t.factory);
  return out;
}

/** Every registered applet factory (for loading any card image perso made). */
export function allApplets(): AppletFactory[] {
  return profileApplets();
}

export interface BlankCardOptions {
  readonly operatorKeys?: OperatorKeys;
  /** Holder id for per-card diversified install parameters (purse keys). */
  readonly holderId?: string;
  readonly serial?: Uint8Array;
  readonly rng?: Uint8Array;
}

/** The transport key of a profile's cards: the operator's, or the well-known test key. */
export function profileTransportKey(profile: Profile, keys: OperatorKeys = new Map()): { algorithm: '3des' | 'aes'; value: Uint8Array } {
  const t = profile.channel.transportKey;
  if (t.operator === undefined) return { algorithm: t.algorithm, value: DEFAULT_TRANSPORT_KEY };
  return { algorithm: t.algorithm, value: operatorKey(keys, { operator: t.operator, diversify: 'none' }, '') };
}

/**
 * A card as it leaves the factory for `profile`: blank (personalization state, MF only) with the
 * profile's applets installed — each application's DF, EF.CardAccess of the card-level applet,
 * empty key slots — and nothing personal on it.
 *
 * @example const card = createBlankCard(loadProfile('profiles/qatar-id.yaml'));
 */
export function createBlankCard(profile: Profile, opts: BlankCardOptions = {}): Card {
  const keys = opts.operatorKeys ?? new Map<string, Uint8Array>();
  const tk = profileTransportKey(profile, keys);
  const card = createCard({
    ...(profile.card.atr !== undefined ? { atr: profile.card.atr } : {}),
    ...(profile.card.capacity !== undefined ? { capacity: profile.card.capacity } : {}),
    ...(opts.serial !== undefined ? { serial: opts.serial } : {}),
    ...(opts.rng !== undefined ? { rng: opts.rng } : {}),
    transportKey: tk.value,
    transportKeyAlgorithm: tk.algorithm,
    applets: profileApplets(profile),
  });
  const ctx: InstallParamsContext = { operatorKeys: keys, holderId: opts.holderId };
  const fids = applicationDfFids(profile);
  for (const app of profile.applications) {
    const t = applicationType(app.applet)!;
    if (t.factory === undefined) continue;
    const params = t.params?.(app, ctx) ?? new Uint8Array(0);
    card.install(t.cardLevel === true ? new Uint8Array(0) : app.aid, t.factory.type, params, t.cardLevel === true ? undefined : fids.get(app.name));
  }
  return card;
}

/** True when the card already holds the application's DF (installed at the factory). */
export function hasApplication(card: Card, app: ApplicationSpec): boolean {
  return app.aid.length === 0 || dfByExactName(card.state.mf, app.aid) !== undefined;
}
