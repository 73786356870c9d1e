/**
 * The access matrix of the whole ID card (issue 4: "every file × every security state → allowed
 * or refused as the layout says"): every file of every application's layout, read and update, in
 * every security state a terminal can reach — nothing, BAC, BAC with the PIN verified, PACE with
 * the MRZ, the CAN or the PIN, PACE-CAN with the PIN verified, with the insurer's key, after Chip
 * Authentication, after the PIN was blocked, after the session ended.
 *
 * The oracle is the layout: each file's rule from `apps/<app>/layout.ts` evaluated against a model
 * of the state (secure messaging? which PACE password? PIN 03 verified? insurer key proved in the
 * health DF?), plus the card-wide rule that an encrypted file leaves only under SM. The card must
 * carry exactly the layout's rules (checked first) and answer 9000 where the oracle allows, 6982
 * where it refuses. A few cells are also spelled out by hand, so the oracle cannot drift with the
 * code it checks.
 */
import { describe, expect, it } from 'vitest';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { dfByExactName } from '../src/card/fs/tree.js';
import { formatCondition, ruleFor, satisfies, type AccessOp, type AccessRules, type SecurityFacts } from '../src/card/security/access.js';
import type { PacePasswordKind } from '../src/crypto/pace.js';
import { ID_CARD_APPLETS, buildIdCard } from '../src/apps/id-card.js';
import { loadCard, serializeCard } from '../src/card/image.js';
import { IDENTITY_AID, IDENTITY_FILES } from '../src/apps/identity/layout.js';
import { LICENCE_AID, LICENCE_FILES } from '../src/apps/licence/layout.js';
import { HEALTH_AID, HEALTH_FILES, INSURER_KEY_REF } from '../src/apps/health/layout.js';
import { FINANCE_AID, FINANCE_FILES } from '../src/apps/finance/layout.js';
import { ESERVICES_AID, eServicesFiles } from '../src/apps/eservices/layout.js';
import { authenticateInsurer } from '../src/apps/health/index.js';
import { readFileBySfi } from '../src/apps/identity/reader.js';
import { performBac } from '../src/terminal/bac.js';
import { performPace } from '../src/terminal/pace.js';
import { performChipAuthentication } from '../src/terminal/chip-auth.js';
import type { SecureMessagingTransport } from '../src/transport/secure-messaging.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import type { Transport } from '../src/transport/types.js';
import { holder, CAN, PIN, MRZ_INFO, INSURER_KEY, SPECIMEN_OPTS as OPTS } from './helpers/specimen.js';


interface AppUnderTest {
  readonly name: string;
  readonly aid: Uint8Array;
  readonly files: readonly { readonly name: string; readonly fid: number; readonly rules: AccessRules; readonly encrypted: boolean; readonly structure: 'transparent' | 'linear-variable' }[];
}

const APPS: readonly AppUnderTest[] = [
  { name: 'identity', aid: IDENTITY_AID, files: IDENTITY_FILES.map((f) => ({ ...f, structure: 'transparent' as const })) },
  { name: 'licence', aid: LICENCE_AID, files: LICENCE_FILES },
  { name: 'health', aid: HEALTH_AID, files: HEALTH_FILES },
  { name: 'finance', aid: FINANCE_AID, files: FINANCE_FILES },
  { name: 'e-services', aid: ESERVICES_AID, files: eServicesFiles(holder.eServices!.keyPairs) },
];

/** What the oracle knows of a state. */
interface Model {
  readonly sm: boolean;
  readonly pace?: PacePasswordKind;
  readonly pin: boolean;
  /** The insurer's key proved (it counts in the health DF only, where it lives). */
  readonly insurer: boolean;
}

const STATES = {
  none: { sm: false, pin: false, insurer: false },
  BAC: { sm: true, pin: false, insurer: false },
  'BAC+PIN': { sm: true, pin: true, insurer: false },
  'PACE-MRZ': { sm: true, pace: 'mrz', pin: false, insurer: false },
  'PACE-CAN': { sm: true, pace: 'can', pin: false, insurer: false },
  'PACE-CAN+PIN': { sm: true, pace: 'can', pin: true, insurer: false },
  'PACE-PIN': { sm: true, pace: 'pin', pin: true, insurer: false },
  'PACE-CAN+insurer': { sm: true, pace: 'can', pin: false, insurer: true },
  'PACE-CAN+CA': { sm: true, pace: 'can', pin: false, insurer: false },
  'PACE-CAN, PIN blocked': { sm: true, pace: 'can', pin: false, insurer: false },
  'PACE-CAN, session ended': { sm: false, pin: false, insurer: false },
} as const satisfies Record<string, Model>;
type State = keyof typeof STATES;

function oracle(m: Model, app: AppUnderTest, file: AppUnderTest['files'][number], op: AccessOp): boolean {
  if (op === 'read' && file.encrypted && !m.sm) return false;
  const facts: SecurityFacts = {
    pinVerified: (ref) => ref === 0x03 && m.pin,
    keyAuthenticated: (ref) => app.name === 'health' && ref === INSURER_KEY_REF && m.insurer,
    secureMessaging: m.sm,
    pacePassword: m.pace,
  };
  return satisfies(ruleFor(file.rules, op), facts);
}

async function send(t: Transport, hex: string): Promise<string> {
  return parseResponseApdu(await t.transmit(hexToBytes(hex))).sw.toString(16).toUpperCase();
}

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
const selectAid = (aid: Uint8Array): string => `00A4040C${hex4(aid.length).slice(2)}${bytesToHex(aid)}`;
const VERIFY_PIN = `0020000304${bytesToHex(new TextEncoder().encode(PIN))}`;
const VERIFY_WRONG = `002000030430303030`;

/** Brings a fresh channel on `card` into `state`; returns the transport to use. */
async function enter(card: Card, state: State): Promise<Transport> {
  card.powerOff();
  const plain = new InProcessTransport(card);
  await plain.connect();
  const pace = (kind: 'mrz' | 'can' | 'pin'): Promise<SecureMessagingTransport> =>
    performPace(plain, { kind, password: kind === 'mrz' ? MRZ_INFO : kind === 'can' ? CAN : PIN, parameterId: 13 });
  switch (state) {
    case 'none':
      return plain;
    case 'BAC':
    case 'BAC+PIN': {
      await send(plain, selectAid(IDENTITY_AID));
      const t = await performBac(plain, MRZ_INFO);
      if (state === 'BAC+PIN') expect(await send(t, VERIFY_PIN)).toBe('9000');
      return t;
    }
    case 'PACE-MRZ':
      return pace('mrz');
    case 'PACE-CAN':
    case 'PACE-CAN+insurer':
      return pace('can');
    case 'PACE-PIN':
      return pace('pin');
    case 'PACE-CAN+PIN': {
      const t = await pace('can');
      expect(await send(t, VERIFY_PIN)).toBe('9000');
      return t;
    }
    case 'PACE-CAN+CA': {
      const t = await pace('can');
      expect(await send(t, selectAid(IDENTITY_AID))).toBe('9000');
      return performChipAuthentication(t, { dg14: await readFileBySfi(t, 0x0e, 0xdf) });
    }
    case 'PACE-CAN, PIN blocked': {
      const t = await pace('can');
      for (const sw of ['63C2', '63C1', '63C0']) expect(await send(t, VERIFY_WRONG)).toBe(sw);
      expect(await send(t, VERIFY_PIN)).toBe('6983');
      // PACE with the blocked PIN is refused too, and ends nothing but its own run.
      await expect(performPace(t, { kind: 'pin', password: PIN, parameterId: 13 })).rejects.toThrow();
      return t;
    }
    case 'PACE-CAN, session ended': {
      await pace('can');
      // A plain command ends the SM session (ISO/IEC 7816-4 §10), and the PACE condition with it.
      await send(plain, '00A4000C023F00');
      return plain;
    }
  }
}

/** The answers to reading and updating every file, and what the oracle expected. */
async function matrix(state: State): Promise<{ got: Record<string, string>; want: Record<string, string> }> {
  // A fresh card per state: an allowed update changes it, a blocked PIN stays blocked.
  const card = buildIdCard(holder, OPTS);
  const t = await enter(card, state);
  const got: Record<string, string> = {};
  const want: Record<string, string> = {};
  for (const app of APPS) {
    expect(await send(t, selectAid(app.aid)), `SELECT ${app.name} in ${state}`).toBe('9000');
    if (state === 'PACE-CAN+insurer' && app.name === 'health') await authenticateInsurer(t, INSURER_KEY);
    for (const f of app.files) {
      expect(await send(t, `00A4020C02${hex4(f.fid)}`), `SELECT ${app.name}/${f.name}`).toBe('9000');
      const rec = f.structure !== 'transparent';
      const key = `${app.name}/${f.name}`;
      got[`${key} read`] = await send(t, rec ? '00B2010400' : '00B0000004');
      want[`${key} read`] = oracle(STATES[state], app, f, 'read') ? '9000' : '6982';
      got[`${key} update`] = await send(t, rec ? '00DC01040100' : '00D6000001' + '00');
      want[`${key} update`] = oracle(STATES[state], app, f, 'update') ? '9000' : '6982';
    }
  }
  return { got, want };
}

describe('the ID card carries exactly the layouts\' rules', () => {
  it('every file of every application: rules and encryption as the layout says', () => {
    const card = loadCard(serializeCard(buildIdCard(holder, OPTS)), { applets: ID_CARD_APPLETS });
    for (const app of APPS) {
      const df = dfByExactName(card.state.mf, app.aid)!;
      for (const f of app.files) {
        const ef = df.children.find((c) => c.fid === f.fid);
        expect(ef?.kind, `${app.name}/${f.name}`).toBe('EF');
        const show = (r: AccessRules | undefined): Record<string, string> =>
          Object.fromEntries(Object.entries(r ?? {}).map(([op, c]) => [op, formatCondition(c!)]));
        expect(show(ef!.rules), `${app.name}/${f.name}`).toEqual(show(f.rules));
        expect(ef!.kind === 'EF' && ef!.encrypted === true, `${app.name}/${f.name} encrypted`).toBe(f.encrypted);
      }
    }
  });
});

describe('access matrix: every file × every security state, as the layout says', () => {
  for (const state of Object.keys(STATES) as State[]) {
    it(state, async () => {
      const { got, want } = await matrix(state);
      expect(got).toEqual(want);
    });
  }

  it('spelled out: PACE opens health, not BAC; finances and DG3 need PACE and the PIN; the insurer writes', async () => {
    const cells = async (state: State, keys: readonly string[]): Promise<string[]> => {
      const { got } = await matrix(state);
      return keys.map((k) => `${k}=${got[k]}`);
    };
    const KEYS = ['identity/DG1 read', 'identity/DG2 read', 'identity/DG3 read', 'health/EF.INSURANCE read', 'health/EF.INSURANCE update', 'finance/EF.ACCOUNTS read'] as const;
    const row = (...sws: string[]): string[] => KEYS.map((k, i) => `${k}=${sws[i]}`);
    expect(await cells('none', KEYS)).toEqual(row('6982', '6982', '6982', '6982', '6982', '6982'));
    expect(await cells('BAC', KEYS)).toEqual(row('9000', '9000', '6982', '6982', '6982', '6982'));
    // The PIN verified after BAC is not enough: the PACE condition says no.
    expect(await cells('BAC+PIN', KEYS)).toEqual(row('9000', '9000', '6982', '6982', '6982', '6982'));
    expect(await cells('PACE-CAN', KEYS)).toEqual(row('9000', '9000', '6982', '9000', '6982', '6982'));
    expect(await cells('PACE-CAN+PIN', KEYS)).toEqual(row('9000', '9000', '9000', '9000', '6982', '9000'));
    expect(await cells('PACE-PIN', KEYS)).toEqual(row('9000', '9000', '9000', '9000', '6982', '9000'));
    expect(await cells('PACE-CAN+insurer', KEYS)).toEqual(row('9000', '9000', '6982', '9000', '9000', '6982'));
    expect(await cells('PACE-CAN+CA', KEYS)).toEqual(row('9000', '9000', '6982', '9000', '6982', '6982'));
    expect(await cells('PACE-CAN, PIN blocked', KEYS)).toEqual(row('9000', '9000', '6982', '9000', '6982', '6982'));
    expect(await cells('PACE-CAN, session ended', KEYS)).toEqual(row('6982', '6982', '6982', '6982', '6982', '6982'));
  });
});
