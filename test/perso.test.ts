/**
 * Personalization end to end on the simulator: profile → validated model → prepared files →
 * plan → APDUs under the perso channel → read-back → operational; then the card read over PACE.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadHolder } from '../src/holder/validate.js';
import { createTestPki } from '../src/lds/pki.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { readIdentity } from '../src/apps/identity/reader.js';
import { loadProfile, parseProfile } from '../src/perso/profile.js';
import { createBlankCard, profileTransportKey } from '../src/perso/applications.js';
import { prepareCard } from '../src/perso/prepare.js';
import { buildPlan, renderScript, planApduCount } from '../src/perso/plan.js';
import { personalize, PersoError } from '../src/perso/runner.js';
import { createTestCardIssuer } from '../src/perso/signers.js';
import { ProfileError } from '../src/perso/issues.js';
import { PROFILE_SCHEMA } from '../src/perso/schema.js';
import { hexToBytes } from '../src/bytes/index.js';
import { readIdCard } from '../src/apps/id-card.js';
import { serializeCard } from '../src/card/image.js';
import { performPace } from '../src/terminal/pace.js';

const pki = createTestPki();
const issuer = createTestCardIssuer();
const operatorKeys = new Map([
  ['purse-load', hexToBytes('000102030405060708090A0B0C0D0E0F')],
  ['purse-purchase', hexToBytes('101112131415161718191A1B1C1D1E1F')],
  ['insurer-master', hexToBytes('303132333435363738393A3B3C3D3E3F')],
  ['building-master', hexToBytes('202122232425262728292A2B2C2D2E2F')],
]);
const holder = loadHolder('profiles/samples/specimen-full.yaml');

describe('profiles', () => {
  it('the published schema file equals the schema object', () => {
    expect(JSON.parse(readFileSync('profiles/profile.schema.json', 'utf8'))).toEqual(JSON.parse(JSON.stringify(PROFILE_SCHEMA)));
  });

  for (const name of ['qatar-id', 'icao-td1', 'health-card', 'employee-badge']) {
    it(`${name}.yaml validates`, () => {
      const p = loadProfile(`profiles/${name}.yaml`);
      expect(p.name).toBe(name);
    });
  }

  it('an unknown key, a bad rule and a bad size name file, line and field with a hint', () => {
    const text = [
      'profile: bad', // 1
      'applications:', // 2
      '  - name: app', // 3
      '    applet: none', // 4
      '    aid: F000000001', // 5
      '    files:', // 6
      '      - name: EF.X', // 7
      '        fid: "0101"', // 8
      '        size: big', // 9
      '        colour: red', // 10
    ].join('\n');
    let e: unknown;
    try {
      parseProfile(text, 'bad.yaml');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ProfileError);
    const msg = (e as Error).message;
    expect(msg).toContain('bad.yaml:9 applications[0].files[0].size');
    expect(msg).toContain('bad.yaml:10 applications[0].files[0].colour: unknown key');
  });

  it('semantic errors: access rule, unknown encoder, PUK that does not exist', () => {
    const text = [
      'profile: bad',
      'channel: { secureMessaging: false }',
      'pins:',
      '  - { name: PIN, ref: "03", puk: NOPE, value: generated }',
      'applications:',
      '  - name: app',
      '    applet: none',
      '    aid: F000000001',
      '    files:',
      '      - { name: EF.X, fid: "0101", access: { read: "PIN(03) XOR SM" }, content: { encoder: nope } }',
    ].join('\n');
    expect(() => parseProfile(text, 'bad.yaml')).toThrow(/bad\.yaml:4 pins\[0\]\.puk: no PIN named "NOPE"/);
    expect(() => parseProfile(text, 'bad.yaml')).toThrow(/bad\.yaml:10 applications\[0\]\.files\[0\]\.access\.read/);
    expect(() => parseProfile(text, 'bad.yaml')).toThrow(/unknown encoder "nope"/);
  });

  it('a DG14/DG15 naming a key pair the application does not have is refused when the profile loads, not mid-card', () => {
    const text = readFileSync('profiles/qatar-id.yaml', 'utf8').replace('keyPair: active-authentication', 'keyPair: aa-key');
    expect(text).toContain('keyPair: aa-key');
    expect(() => parseProfile(text, 'q.yaml')).toThrow(/q\.yaml:\d+ applications\[1\]\.files\[7\]\.content\.keyPair: no key pair "aa-key" in this application — one of: active-authentication, chip-authentication/);
  });
});

describe('perso qatar-id', () => {
  const profile = loadProfile('profiles/qatar-id.yaml');

  it('personalizes, verifies every file, certifies on-card keys, ends operational; readable over PACE', async () => {
    const prepared = prepareCard(profile, holder, { signers: { 'document-signer': pki.documentSigner, 'card-issuer': issuer }, operatorKeys });
    const plan = buildPlan(prepared, { apdu: 'extended' });
    const script = renderScript(plan);
    const pins = Object.fromEntries(prepared.pins.map((p) => [p.spec.name, new TextDecoder().decode(p.value)]));
    for (const v of Object.values(pins)) expect(script).not.toContain(Buffer.from(v).toString('hex').toUpperCase());
    expect(script).toContain('{PIN_PIN:6}');
    const card = createBlankCard(profile, { operatorKeys, holderId: prepared.holderId });
    const t = new InProcessTransport(card);
    const atr = await t.connect();
    const r = await personalize(t, plan, { transportKey: profileTransportKey(profile), atr });
    expect(r.lifeCycle).toBe('operational');
    expect(card.state.lifeCycle).toBe('operational');
    expect(r.certificates.map((c) => c.keyPair)).toEqual(['authentication', 'signature']);
    // Extended APDUs: one UPDATE BINARY and one read-back per transparent EF, one READ RECORD(S)
    // per record EF; the 20 APPEND RECORDs of the health dependant slots are most of the rest.
    expect(r.apdus).toBeLessThan(120);
    expect(planApduCount(plan)).toBeGreaterThan(20);
    await t.disconnect();

    // The holder's view: PACE with the CAN, then the PIN, passive authentication.
    await t.connect();
    const read = await readIdentity(t, { can: pins.CAN!, pin: pins.PIN!, cscas: [pki.csca.certificate] });
    expect(read.passiveAuth.verdict).toBe('valid');
    expect(read.holder.identity?.fullNameArabic).toBe(holder.identity.fullNameArabic);
    expect(read.holder.fingerprints?.length).toBe(10);

    // A second run on the same card is refused cleanly, before anything is written.
    await t.reset();
    const again = await personalize(t, plan, { transportKey: profileTransportKey(profile) }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(PersoError);
    expect((again as PersoError).reason).toBe('operational');
    expect((again as PersoError).written).toBe(false);
  });

  it('its health, licence and finance applications are the ID card\'s own: readIdCard decodes and verifies them', async () => {
    const prepared = prepareCard(profile, holder, { signers: { 'document-signer': pki.documentSigner, 'card-issuer': issuer }, operatorKeys });
    const pins = Object.fromEntries(prepared.pins.map((p) => [p.spec.name, new TextDecoder().decode(p.value)]));
    const card = createBlankCard(profile, { operatorKeys, holderId: prepared.holderId });
    const t = new InProcessTransport(card);
    const atr = await t.connect();
    await personalize(t, buildPlan(prepared, { apdu: 'extended' }), { transportKey: profileTransportKey(profile), atr });
    await t.disconnect();
    await t.connect();
    const r = await readIdCard(t, { can: pins.CAN!, pin: pins.PIN!, cscas: [pki.csca.certificate, issuer.certificate] });
    expect(r.identity.passiveAuth?.verdict).toBe('valid');
    // AA and CA keys were generated on the card; DG14/DG15 made from them are covered by EF.SOD.
    expect(r.access.chipAuthentication.verdict).toBe('valid');
    expect(r.access.activeAuthentication.verdict).toBe('valid');
    expect(r.verdict).toBe('valid');
    expect(r.health?.section).toEqual(holder.healthInsurance);
    expect(r.health?.passiveAuth?.verdict).toBe('valid');
    expect(r.licence?.section).toEqual(holder.drivingLicence);
    expect(r.licence?.passiveAuth?.verdict).toBe('valid');
    expect(r.licence?.portrait.verdict).toBe('valid');
    expect(r.finance?.section).toEqual(holder.financialAccounts);
    expect(r.finance?.passiveAuth?.verdict).toBe('valid');
    expect(r.eServices?.problems).toEqual([]);
    expect(r.eServices?.passiveAuth?.verdict).toBe('valid');
    expect(r.eServices?.keys.map((k) => [k.descriptor.label, k.certificateCheck.verdict])).toEqual([
      ['authentication', 'valid'],
      ['signature', 'valid'],
    ]);
    // Encrypted at rest: the image shows none of the account references or the insurance member number.
    const image = serializeCard(card).toUpperCase();
    expect(holder.financialAccounts.length).toBeGreaterThan(0);
    for (const a of holder.financialAccounts) expect(image).not.toContain(Buffer.from(a.accountReference).toString('hex').toUpperCase());
    expect(image).not.toContain(Buffer.from(holder.healthInsurance!.memberNumber).toString('hex').toUpperCase());
  });

  it('short APDUs give the same card', async () => {
    const prepared = prepareCard(profile, holder, { signers: { 'document-signer': pki.documentSigner, 'card-issuer': issuer }, operatorKeys });
    const plan = buildPlan(prepared, { apdu: 'short' });
    const card = createBlankCard(profile, { operatorKeys, holderId: prepared.holderId });
    const t = new InProcessTransport(card);
    await t.connect();
    const r = await personalize(t, plan, { transportKey: profileTransportKey(profile) });
    // Every file of every application is written and read back exactly once (certificates, DG14,
    // DG15 and the EF.SODs signed at run time included).
    expect(r.filesVerified).toBe(prepared.applications.reduce((n, a) => n + a.files.length, 0));
  });
});

describe('perso, the other profiles', () => {
  for (const name of ['icao-td1', 'health-card', 'employee-badge']) {
    it(`${name}: personalizes the specimen holder and ends operational`, async () => {
      const profile = loadProfile(`profiles/${name}.yaml`);
      const prepared = prepareCard(profile, holder, { signers: { 'document-signer': pki.documentSigner, 'card-issuer': issuer }, operatorKeys: new Map([...operatorKeys, ['insurer-master', hexToBytes('303132333435363738393A3B3C3D3E3F')]]) });
      const card = createBlankCard(profile, { operatorKeys, holderId: prepared.holderId });
      const t = new InProcessTransport(card);
      const atr = await t.connect();
      const r = await personalize(t, buildPlan(prepared, { apdu: 'extended' }), { transportKey: profileTransportKey(profile), atr });
      expect(card.state.lifeCycle).toBe('operational');
      expect(r.filesVerified).toBe(prepared.applications.reduce((n, a) => n + a.files.length, 0));
    });
  }
});

describe('a key whose use says PACE', () => {
  const profile = parseProfile(
    `profile: pace-key
channel: { transportKey: { algorithm: 3des }, secureMessaging: true }
pins:
  - { name: CAN, ref: "02", minLength: 6, maxLength: 6, tries: 15, value: generated }
  - { name: PIN, ref: "03", minLength: 4, maxLength: 8, digits: 4, tries: 3, value: generated }
applications:
  - { name: card-level, applet: card-level }
  - name: keys
    applet: keystore
    aid: F0435754455354
    keyPairs:
      - { name: login, ref: "01", type: ec, curve: P-256, usage: [authenticate], use: "PACE(CAN) AND PIN(03) AND SM" }
`,
    'pace-key.yaml',
  );

  it('is usable only in a PACE session set up with the CAN, after the PIN (key-store facts know the PACE password)', async () => {
    const prepared = prepareCard(profile, holder, {});
    const pins = Object.fromEntries(prepared.pins.map((p) => [p.spec.name, new TextDecoder().decode(p.value)]));
    const card = createBlankCard(profile, { holderId: prepared.holderId });
    const t = new InProcessTransport(card);
    const atr = await t.connect();
    await personalize(t, buildPlan(prepared, { apdu: 'extended' }), { transportKey: profileTransportKey(profile), atr });
    const sw = async (tr: { transmit(b: Uint8Array): Promise<Uint8Array> }, hex: string): Promise<number> => {
      const r = await tr.transmit(hexToBytes(hex));
      return (r[r.length - 2]! << 8) | r[r.length - 1]!;
    };
    const verifyPin = `00200003${pins.PIN!.length.toString(16).padStart(2, '0')}${Buffer.from(pins.PIN!).toString('hex')}`;
    const login = async (kind: 'can' | 'pin'): Promise<number> => {
      await t.reset();
      const s = await performPace(t, { kind, password: kind === 'can' ? pins.CAN! : pins.PIN!, parameterId: 13 });
      expect(await sw(s, '00A4040C07F0435754455354')).toBe(0x9000);
      expect(await sw(s, '002241A406840101800104')).toBe(0x9000);
      if (kind === 'can') expect(await sw(s, verifyPin)).toBe(0x9000);
      return sw(s, `0088000020${'11'.repeat(32)}00`);
    };
    expect(await login('can')).toBe(0x9000);
    // PACE with the PIN verifies PIN 03 too, but the rule asks for a CAN session.
    expect(await login('pin')).toBe(0x6982);
  });
});
