import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { createCard, type Card } from '../src/card/os.js';
import { loadCard, serializeCard } from '../src/card/image.js';
import { performBac } from '../src/terminal/bac.js';
import { PaceError, performPace } from '../src/terminal/pace.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { PACE_OID } from '../src/crypto/security-infos.js';
import type { Transport } from '../src/transport/types.js';
import { loadHolder, holderMrz } from '../src/holder/index.js';
import { createTestPki, parseTd1, decodeDg3, encodeFingerMinutiaeRecord, FINGER_POSITIONS, FMR_DEFAULTS } from '../src/lds/index.js';
import type { Fingerprint, Holder } from '../src/holder/index.js';
import { CARD_LEVEL_APPLET, CARD_PASSWORDS, emrtdMrzInformation } from '../src/apps/card-level.js';
import {
  IDENTITY_APPLET,
  IDENTITY_CARD_APPLETS,
  IDENTITY_FILES,
  IdentityReadError,
  buildIdentityCard,
  decodeIdentityFiles,
  installIdentity,
  prepareIdentityFiles,
  readIdentity,
} from '../src/apps/identity/index.js';

const NOW = new Date('2026-01-15T12:00:00Z');
const pki = createTestPki({ now: new Date('2025-01-01T00:00:00Z') });
const holder = loadHolder('profiles/samples/specimen-full.yaml');
const CAN = '123456';
const PIN = '2468';
const PUK = '12345678';
const MRZ_INFO = parseTd1(holderMrz(holder)).mrzInformation;
const AID = 'A0000002471001';

function card(): Card {
  const c = buildIdentityCard(holder, { pki, can: CAN, pin: PIN, puk: PUK, signingTime: new Date('2025-06-01T00:00:00Z') });
  c.powerOn();
  return c;
}

async function tx(t: Transport, hex: string): Promise<{ data: Uint8Array; sw: string }> {
  const r = parseResponseApdu(await t.transmit(hexToBytes(hex)));
  return { data: r.data, sw: r.sw.toString(16).toUpperCase().padStart(4, '0') };
}

type State = 'none' | 'BAC' | 'PACE-CAN' | 'PACE-MRZ' | 'PACE-PIN';

/** A transport in `state`, standing in the MF (PACE, none) or the application (BAC). */
async function open(c: Card, state: State): Promise<Transport> {
  const plain = new InProcessTransport(c);
  switch (state) {
    case 'none':
      return plain;
    case 'BAC':
      expect((await tx(plain, `00A4040C07${AID}`)).sw).toBe('9000');
      return performBac(plain, MRZ_INFO);
    case 'PACE-CAN':
      return performPace(plain, { kind: 'can', password: CAN, parameterId: 13 });
    case 'PACE-MRZ':
      return performPace(plain, { kind: 'mrz', password: MRZ_INFO, parameterId: 13 });
    case 'PACE-PIN':
      return performPace(plain, { kind: 'pin', password: PIN, parameterId: 13 });
  }
}

describe('access matrix of the identity application', () => {
  // As the layout says: everything SM after BAC or PACE; DG3 only after PACE with the PIN.
  const ALLOWED: Record<string, readonly State[]> = {
    'EF.COM': ['BAC', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN'],
    DG1: ['BAC', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN'],
    DG2: ['BAC', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN'],
    DG3: ['PACE-PIN'],
    DG11: ['BAC', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN'],
    DG12: ['BAC', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN'],
    'EF.SOD': ['BAC', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN'],
  };
  const STATES: readonly State[] = ['none', 'BAC', 'PACE-CAN', 'PACE-MRZ', 'PACE-PIN'];
  const present = IDENTITY_FILES.filter((f) => ALLOWED[f.name] !== undefined);

  it('covers every file the specimen card carries', () => {
    expect(present.map((f) => f.name)).toEqual(['EF.COM', 'DG1', 'DG2', 'DG3', 'DG11', 'DG12', 'EF.SOD']);
  });

  for (const state of STATES) {
    it(`${state}: reads by SFI and by SELECT + READ BINARY`, async () => {
      const c = card();
      const t = await open(c, state);
      // EF.CardAccess in the MF: always readable (PACE needs it before any session).
      if (state !== 'BAC') expect((await tx(t, '00B09C0004')).sw).toBe('9000');
      if (state !== 'BAC') expect((await tx(t, `00A4040C07${AID}`)).sw).toBe('9000');
      for (const f of present) {
        const want = ALLOWED[f.name]!.includes(state) ? '9000' : '6982';
        const sfi = (0x80 | f.sfi).toString(16).toUpperCase();
        expect((await tx(t, `00B0${sfi}0004`)).sw, `${f.name} by SFI in state ${state}`).toBe(want);
        const fid = f.fid.toString(16).toUpperCase().padStart(4, '0');
        expect((await tx(t, `00A4020C02${fid}`)).sw).toBe('9000');
        expect((await tx(t, '00B0000004')).sw, `${f.name} by FID in state ${state}`).toBe(want);
        // Nothing is ever written after personalization.
        expect((await tx(t, '00D6000001FF')).sw, `${f.name} UPDATE BINARY in state ${state}`).toBe('6982');
      }
    });
  }

  it('absent data groups answer 6A82 (DG14, DG15 without the key work)', async () => {
    const t = await open(card(), 'PACE-CAN');
    await tx(t, `00A4040C07${AID}`);
    expect((await tx(t, '00B08E0004')).sw).toBe('6A82');
    expect((await tx(t, '00B08F0004')).sw).toBe('6A82');
  });

  it('a plain command ends the PACE session and its rights', async () => {
    const c = card();
    const t = await open(c, 'PACE-PIN');
    await tx(t, `00A4040C07${AID}`);
    expect((await tx(t, '00B0830004')).sw).toBe('9000');
    const plain = new InProcessTransport(c);
    expect((await tx(plain, '00B0830004')).sw).toBe('6982');
  });

  it('the PIN object used by PACE is the MF holder PIN; a wrong PIN counts down', async () => {
    const c = card();
    const t = new InProcessTransport(c);
    await expect(performPace(t, { kind: 'pin', password: '9999', parameterId: 13 })).rejects.toMatchObject({ reason: 'rejected', triesLeft: 2 });
    expect(c.state.mf.pins.find((p) => p.ref === CARD_PASSWORDS.PIN)?.tries).toBe(2);
    await performPace(t, { kind: 'pin', password: PIN, parameterId: 13 });
    expect(c.state.mf.pins.find((p) => p.ref === CARD_PASSWORDS.PIN)?.tries).toBe(3);
  });

  it('BAC keys come from DG1 inside the card: a wrong MRZ is refused', async () => {
    const c = card();
    const t = new InProcessTransport(c);
    await tx(t, `00A4040C07${AID}`);
    await expect(performBac(t, 'L898902C<369080619406236')).rejects.toMatchObject({ reason: 'rejected', sw: 0x6300 });
    expect(emrtdMrzInformation(c.state.mf)).toBe(MRZ_INFO);
  });
});

describe('holder → identity files → holder sections', () => {
  const day = fc.tuple(fc.integer({ min: 1950, max: 2040 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 })).map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
  const latin = fc.stringMatching(/^[A-Z]{1,12}( [A-Z]{1,12}){0,2}$/);
  const arabic = fc.array(fc.array(fc.integer({ min: 0x0621, max: 0x064a }).map((c) => String.fromCharCode(c)), { minLength: 2, maxLength: 9 }).map((a) => a.join('')), { minLength: 1, maxLength: 4 }).map((a) => a.join(' '));
  const line = fc.stringMatching(/^[A-Z0-9][A-Z0-9 ,.-]{0,98}[A-Z0-9]$/);
  const finger = (position: Fingerprint['position']): fc.Arbitrary<Fingerprint> =>
    fc.array(fc.record({ type: fc.constantFrom('ending' as const, 'bifurcation' as const), x: fc.nat(500), y: fc.nat(500), angle: fc.nat(255), quality: fc.nat(100) }), { maxLength: 30 }).map((minutiae) => ({
      position,
      template: encodeFingerMinutiaeRecord({ ...FMR_DEFAULTS, imageWidth: 500, imageHeight: 500, views: [{ position: FINGER_POSITIONS.indexOf(position), viewNumber: 0, impressionType: 0, quality: 50, minutiae, extendedData: new Uint8Array(0) }] }),
    }));
  const positions = FINGER_POSITIONS.slice(1) as Fingerprint['position'][];
  const holders: fc.Arbitrary<Holder> = fc.record({
    identity: fc.record(
      {
        primaryIdentifier: latin,
        secondaryIdentifier: latin,
        fullNameArabic: arabic,
        idNumber: fc.stringMatching(/^[0-9]{11}$/),
        nationality: fc.constantFrom('QAT', 'UTO', 'D<<'),
        sex: fc.constantFrom('F' as const, 'M' as const, 'X' as const),
        dateOfBirth: day,
        placeOfBirth: line,
        address: fc.array(line, { minLength: 1, maxLength: 6 }),
        telephone: fc.constant('+974 5550 0000'),
        profession: line,
      },
      { requiredKeys: ['primaryIdentifier', 'idNumber', 'nationality', 'sex', 'dateOfBirth'] },
    ),
    document: fc.record({
      type: fc.constantFrom('I', 'ID', 'IR'),
      number: fc.stringMatching(/^[0-9A-Z]{1,14}$/),
      issuingState: fc.constant('QAT'),
      issuingAuthority: line,
      dateOfIssue: fc.constant('2024-03-01'),
      dateOfExpiry: fc.constant('2034-02-28'),
    }, { requiredKeys: ['type', 'number', 'issuingState', 'dateOfIssue', 'dateOfExpiry'] }),
    face: fc.option(
      fc.record({ image: fc.uint8Array({ minLength: 1, maxLength: 30 * 1024 }), format: fc.constantFrom('jpeg' as const, 'jpeg2000' as const), width: fc.nat(1000), height: fc.nat(1000) }),
      { nil: undefined },
    ),
    fingerprints: fc.shuffledSubarray(positions, { minLength: 0, maxLength: 10 }).chain((ps): fc.Arbitrary<Fingerprint[]> => (ps.length === 0 ? fc.constant([]) : fc.tuple(...ps.map(finger)))),
    financialAccounts: fc.constant([]),
  }, { requiredKeys: ['identity', 'document', 'fingerprints', 'financialAccounts'] });

  it('decodes to what was encoded: Arabic names, long addresses, 0–10 fingers, faces up to 30 KB', () => {
    fc.assert(
      fc.property(holders, (h) => {
        const files = prepareIdentityFiles(h, { signer: pki.documentSigner, signingTime: null });
        const back = decodeIdentityFiles(files, NOW);
        expect(back.problems).toEqual([]);
        expect(back.holder.identity).toEqual(h.identity);
        expect(back.holder.document).toEqual(h.document);
        expect(back.holder.face).toEqual(h.face);
        expect(back.holder.fingerprints ?? []).toEqual(h.fingerprints);
      }),
      { numRuns: 60 },
    );
  });
});

describe('reading the card end to end', () => {
  it('PACE with the CAN: every file but DG3, decoded, passive authentication valid', async () => {
    const t = new InProcessTransport(card());
    const r = await readIdentity(t, { can: CAN, cscas: [pki.csca.certificate], now: NOW });
    expect(r.access).toEqual({ protocol: 'PACE', password: 'can', pinVerified: false });
    expect(r.files.map((f) => [f.name, f.status])).toEqual([
      ['EF.CardAccess', 'read'],
      ['EF.COM', 'read'],
      ['EF.SOD', 'read'],
      ['DG1', 'read'],
      ['DG2', 'read'],
      ['DG3', 'refused'],
      ['DG11', 'read'],
      ['DG12', 'read'],
    ]);
    expect(r.problems).toEqual([]);
    expect(r.passiveAuth.verdict).toBe('valid');
    expect(r.passiveAuth.files.map((f) => [f.name, f.verdict])).toEqual([
      ['DG1', 'valid'],
      ['DG2', 'valid'],
      ['DG3', 'not-checked'],
      ['DG11', 'valid'],
      ['DG12', 'valid'],
    ]);
    expect(r.holder.identity).toEqual(holder.identity);
    expect(r.holder.document).toEqual(holder.document);
    expect(r.holder.face).toEqual(holder.face);
    expect(r.holder.fingerprints).toBeUndefined();
    expect(r.decoded.com).toEqual({ ldsVersion: '1.7', unicodeVersion: '4.0.0', dataGroups: [1, 2, 3, 11, 12] });
  });

  it('with the PIN as well: the fingerprints, verified', async () => {
    const t = new InProcessTransport(card());
    const r = await readIdentity(t, { can: CAN, pin: PIN, cscas: [pki.csca.certificate], now: NOW });
    expect(r.access).toEqual({ protocol: 'PACE', password: 'pin', pinVerified: true });
    expect(r.files.find((f) => f.name === 'DG3')?.status).toBe('read');
    expect(r.holder.fingerprints).toEqual(holder.fingerprints);
    expect(r.passiveAuth.verdict).toBe('valid');
    expect(r.passiveAuth.files.every((f) => f.verdict === 'valid')).toBe(true);
    expect(decodeDg3(r.raw.dataGroups.get(3)!).templates).toHaveLength(10);
  });

  it('with the MRZ over PACE, and large reads with extended length', async () => {
    const r = await readIdentity(new InProcessTransport(card()), { mrz: MRZ_INFO, cscas: [pki.csca.certificate], now: NOW, chunkSize: 4096 });
    expect(r.access.password).toBe('mrz');
    expect(r.passiveAuth.verdict).toBe('valid');
    expect(r.holder.face?.image).toEqual(holder.face?.image);
  });

  it('a 30 KB face beyond short reads, and the card image round trip', async () => {
    const face = new Uint8Array(30_000);
    face.set(holder.face!.image);
    const big = { ...holder, face: { ...holder.face!, image: face } };
    const c = buildIdentityCard(big, { pki, can: CAN });
    const again = loadCard(serializeCard(c), { applets: [...IDENTITY_CARD_APPLETS] });
    const t = new InProcessTransport(again);
    await t.connect();
    const r = await readIdentity(t, { can: CAN, cscas: [pki.csca.certificate], now: NOW });
    expect(r.files.find((f) => f.name === 'DG2')?.length).toBeGreaterThan(30_000);
    expect(r.holder.face?.image).toEqual(face);
    expect(r.passiveAuth.verdict).toBe('valid');
  });

  it('a 40 KB face: offsets beyond 32767 are read with odd-INS READ BINARY', async () => {
    const face = new Uint8Array(40_000);
    face.set(holder.face!.image);
    const c = buildIdentityCard({ ...holder, face: { ...holder.face!, image: face } }, { pki, can: CAN });
    c.powerOn();
    for (const chunkSize of [0xdf, 1000]) {
      const r = await readIdentity(new InProcessTransport(c), { can: CAN, cscas: [pki.csca.certificate], now: NOW, chunkSize });
      expect(r.files.find((f) => f.name === 'DG2')?.length).toBeGreaterThan(40_000);
      expect(r.holder.face?.image).toEqual(face);
      expect(r.passiveAuth.verdict).toBe('valid');
    }
  });

  it('the minimal holder: DG1, DG11, DG12 only', async () => {
    const minimal = loadHolder('profiles/samples/specimen-minimal.json');
    const c = buildIdentityCard(minimal, { pki, can: CAN, ldsVersion: '1.8' });
    c.powerOn();
    const r = await readIdentity(new InProcessTransport(c), { can: CAN, cscas: [pki.csca.certificate], now: NOW });
    expect(r.decoded.com).toEqual({ ldsVersion: '1.8', unicodeVersion: '4.0.0', dataGroups: [1, 11, 12] });
    expect(r.holder.identity).toEqual(minimal.identity);
    expect(r.holder.document).toEqual(minimal.document);
    expect(r.passiveAuth.verdict).toBe('valid');
  });

  it('a changed data group on the card fails passive authentication for that file only', async () => {
    const c = card();
    const df = c.state.mf.children.find((x) => x.kind === 'DF' && x.name !== undefined && bytesToHex(x.name) === AID);
    const dg11 = df?.kind === 'DF' ? df.children.find((f) => f.fid === 0x010b) : undefined;
    if (dg11?.kind !== 'EF' || dg11.structure !== 'transparent') throw new Error('DG11 missing');
    const at = dg11.data.length - 2;
    c.nv.writeBytes(dg11.data, at, new Uint8Array([dg11.data[at]! ^ 0x20]));
    c.nv.commit();
    const r = await readIdentity(new InProcessTransport(c), { can: CAN, cscas: [pki.csca.certificate], now: NOW });
    expect(r.passiveAuth.verdict).toBe('invalid');
    expect(r.passiveAuth.files.filter((f) => f.verdict === 'invalid').map((f) => f.name)).toEqual(['DG11']);
    expect(r.passiveAuth.signature.verdict).toBe('valid');
  });

  it('without CSCAs: incomplete, never valid', async () => {
    const r = await readIdentity(new InProcessTransport(card()), { can: CAN, now: NOW });
    expect(r.passiveAuth.verdict).toBe('incomplete');
    expect(r.passiveAuth.chain.verdict).toBe('not-checked');
  });

  it('a wrong CAN throws, naming the password, not its value', async () => {
    const err = await readIdentity(new InProcessTransport(card()), { can: '654321' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaceError);
    expect((err as Error).message).toMatch(/CAN does not match/);
    expect((err as Error).message).not.toContain('654321');
  });

  it('BAC fallback on a chip without EF.CardAccess', async () => {
    const c = createCard({ applets: [IDENTITY_APPLET, CARD_LEVEL_APPLET] });
    installIdentity(c, prepareIdentityFiles(holder, { signer: pki.documentSigner }));
    c.powerOn();
    const r = await readIdentity(new InProcessTransport(c), { mrz: MRZ_INFO, cscas: [pki.csca.certificate], now: NOW });
    expect(r.access).toEqual({ protocol: 'BAC', password: 'mrz', pinVerified: false });
    expect(r.files[0]).toMatchObject({ name: 'EF.CardAccess', status: 'absent' });
    expect(r.holder.identity).toEqual(holder.identity);
    expect(r.passiveAuth.verdict).toBe('valid');
    await expect(readIdentity(new InProcessTransport(c), { can: CAN })).rejects.toBeInstanceOf(IdentityReadError);
  });

  it('BAC fallback when EF.CardAccess offers no PACE protocol chipwright implements', async () => {
    const c = buildIdentityCard(holder, { pki, can: CAN, paceProtocols: [{ protocol: PACE_OID.DH_GM_AES_128, parameterId: 2 }] });
    c.powerOn();
    const r = await readIdentity(new InProcessTransport(c), { mrz: MRZ_INFO, cscas: [pki.csca.certificate], now: NOW });
    expect(r.access.protocol).toBe('BAC');
    expect(r.files[0]).toMatchObject({ name: 'EF.CardAccess', status: 'read' });
    await expect(readIdentity(new InProcessTransport(c), { can: CAN })).rejects.toThrow(/no PACE protocol .*BAC needs the MRZ/);
  });
});
