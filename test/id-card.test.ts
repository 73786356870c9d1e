/**
 * The multi-application card: buildIdCard installs every application the holder document has a
 * section for, readIdCard reads it back whole — PACE (BAC fallback), PACE with the PIN, Chip and
 * Active Authentication, passive authentication of every application — and gets the holder back.
 * A changed byte fails exactly its file; nothing refused or unchecked is hidden.
 */
import { describe, expect, it } from 'vitest';
import { parseResponseApdu } from '../src/apdu/response.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import type { Card } from '../src/card/os.js';
import { dfByExactName } from '../src/card/fs/tree.js';
import type { TransparentEf } from '../src/card/fs/file.js';
import { loadCard, serializeCard } from '../src/card/image.js';
import { performPace } from '../src/terminal/pace.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { loadHolder, type Holder } from '../src/holder/index.js';
import { ID_CARD_APPLETS, IdCardBuildError, buildIdCard, readIdCard, type IdCardReadResult } from '../src/apps/id-card.js';
import { LICENCE_AID } from '../src/apps/licence/layout.js';
import { PURSE_AID } from '../src/apps/purse/protocol.js';
import { IDENTITY_AID, IDENTITY_FILES } from '../src/apps/identity/layout.js';
import { HEALTH_AID, authenticateInsurer } from '../src/apps/health/index.js';
import { performBac } from '../src/terminal/bac.js';
import type { Transport } from '../src/transport/types.js';
import { NOW, pki, holder, CAN, PIN, MRZ_INFO, SPECIMEN_OPTS as OPTS } from './helpers/specimen.js';

const minimal = loadHolder('profiles/samples/specimen-minimal.json');

async function read(c: Card, opts: Partial<Parameters<typeof readIdCard>[1]> = {}): Promise<IdCardReadResult> {
  const t = new InProcessTransport(c);
  await t.connect();
  return readIdCard(t, { can: CAN, cscas: [pki.csca.certificate], now: NOW, ...opts });
}

function verdicts(r: IdCardReadResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of [r.identity, r.licence, r.health, r.finance, r.eServices]) {
    for (const f of a?.files ?? []) out[`${a!.application}/${f.name}`] = f.status === 'read' ? f.verdict! : f.status;
  }
  return out;
}

/** The holder as the card gives it back: certificates issued on the card added, nothing else changed. */
function withoutCertificates(h: Holder): Holder {
  return { ...h, ...(h.eServices !== undefined ? { eServices: { keyPairs: h.eServices.keyPairs.map(({ certificate: _c, ...k }) => k) } } : {}) };
}

describe('the multi-application card', () => {
  const card = buildIdCard(holder, OPTS);

  it('reads every application after PACE with the CAN and the PIN: valid, and the holder comes back', async () => {
    const r = await read(card, { pin: PIN });
    expect(r.verdict).toBe('valid');
    expect(r.access).toMatchObject({ protocol: 'PACE', established: 'can', password: 'pin', pinVerified: true });
    expect(r.access.chipAuthentication.verdict).toBe('valid');
    expect(r.access.activeAuthentication.verdict).toBe('valid');
    expect(Object.values(verdicts(r)).filter((v) => v !== 'valid' && v !== 'not-checked')).toEqual([]);
    expect(withoutCertificates(r.holder!)).toEqual(holder);
    expect(r.holder!.eServices!.keyPairs.every((k) => k.certificate !== undefined)).toBe(true);
    for (const a of [r.identity, r.licence!, r.health!, r.finance!, r.eServices!]) expect(a.passiveAuth?.verdict, a.application).toBe('valid');
    expect(r.licence!.portrait.verdict).toBe('valid');
  });

  it('without the PIN: fingerprints and finances are refused, reported, and the verdict is incomplete', async () => {
    const r = await read(card);
    expect(r.verdict).toBe('incomplete');
    const v = verdicts(r);
    expect(v['identity/DG3']).toBe('refused');
    expect([v['finance/EF.ACCOUNTS'], v['finance/EF.CARDS'], v['finance/EF.SOD']]).toEqual(['refused', 'refused', 'refused']);
    expect(v['health/EF.INSURANCE']).toBe('valid');
    expect(r.holder?.fingerprints).toEqual([]);
    expect(r.holder?.financialAccounts).toEqual([]);
  });

  it('without trust anchors nothing is "valid" by default: passive authentication is not checked', async () => {
    const r = await read(card, { cscas: [] });
    expect(r.verdict).toBe('incomplete');
    expect(r.identity.passiveAuth?.chain.verdict).toBe('not-checked');
    expect(verdicts(r)['health/EF.INSURANCE']).toBe('not-checked');
  });

  it('a changed byte fails its file only, and the card as a whole', async () => {
    const c = buildIdCard(holder, OPTS);
    const dg6 = dfByExactName(c.state.mf, LICENCE_AID)!.children.find((f) => f.fid === 0x0106) as TransparentEf;
    dg6.data[dg6.data.length - 1] = dg6.data[dg6.data.length - 1]! ^ 0x80;
    const r = await read(c, { pin: PIN });
    expect(r.verdict).toBe('invalid');
    const bad = Object.entries(verdicts(r)).filter(([, v]) => v === 'invalid');
    expect(bad).toEqual([['licence/DG6', 'invalid']]);
    expect(r.licence!.portrait.verdict).toBe('invalid');
  });

  it('a card image reloads with ID_CARD_APPLETS and reads the same', async () => {
    const text = serializeCard(card);
    const again = loadCard(text, { applets: ID_CARD_APPLETS });
    const r = await read(again, { pin: PIN });
    expect(r.verdict).toBe('valid');
    expect(withoutCertificates(r.holder!)).toEqual(holder);
  });

  it('the card image shows no plaintext of the encrypted files (health, finances)', () => {
    const text = serializeCard(card).toUpperCase();
    const secrets = ['HI-0000-0002', 'SPECIMEN NATIONAL HEALTH INSURANCE', 'QA00 SPEC', '400000******0002', 'CARD-0001'];
    for (const s of secrets) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(bytesToHex(new TextEncoder().encode(s)));
    }
    // Not encrypted, and so in the image: the licence number in the licence DG1.
    expect(text).toContain(bytesToHex(new TextEncoder().encode('DL-000000001')));
  });

  it('the card image shows no plaintext of the biometrics (DG2 face, DG3 fingerprints), which still read back', async () => {
    const c = buildIdCard(holder, OPTS);
    const df = dfByExactName(c.state.mf, IDENTITY_AID)!;
    const text = serializeCard(c);
    for (const fid of [0x0102, 0x0103]) {
      const ef = df.children.find((f) => f.fid === fid) as TransparentEf;
      expect(ef.encrypted).toBe(true);
      // Any 16-byte window of the file (header, image or minutiae) would show; none does. Windows
      // of padding (few distinct bytes, such as 20 00 00 …) are skipped: they occur in any image.
      let checked = 0;
      for (let at = 0; at + 16 <= ef.data.length; at += Math.max(16, ef.data.length >> 4)) {
        const w = ef.data.subarray(at, at + 16);
        if (new Set(w).size < 8) continue;
        expect(hexOffsets(text, bytesToHex(w))).toEqual([]);
        checked++;
      }
      expect(checked).toBeGreaterThan(4);
    }
    expect(hexOffsets(text, bytesToHex(holder.face!.image.subarray(0, 16)))).toEqual([]);
    const r = await read(loadCard(text, { applets: ID_CARD_APPLETS }), { pin: PIN });
    expect(r.holder?.face).toEqual(holder.face);
    expect(r.holder?.fingerprints).toEqual(holder.fingerprints);
  });

  it('PACE with the PIN also works from inside the identity application (PACE composed with CA and AA there)', async () => {
    const t = new InProcessTransport(card);
    await t.connect();
    const sm = await performPace(t, { kind: 'can', password: CAN, parameterId: 13 });
    const sel = parseResponseApdu(await sm.transmit(hexToBytes('00A4040C07A0000002471001')));
    expect(sel.sw).toBe(0x9000);
    const pinSm = await performPace(sm, { kind: 'pin', password: PIN, parameterId: 13 });
    expect(parseResponseApdu(await pinSm.transmit(hexToBytes('00B0830004'))).sw).toBe(0x9000);
  });

  it('a wrong CAN fails access control (nothing is read)', async () => {
    await expect(read(card, { can: '654321' })).rejects.toMatchObject({ name: 'PaceError', reason: 'rejected' });
  });
});

describe('access matrix of the identity application on the ID card (with DG14, DG15)', () => {
  const card = buildIdCard(holder, OPTS);
  type State = 'none' | 'BAC' | 'PACE-CAN' | 'PACE-PIN' | 'PACE-CAN+insurer';
  const ALLOWED: Record<string, readonly State[]> = {
    'EF.COM': ['BAC', 'PACE-CAN', 'PACE-PIN', 'PACE-CAN+insurer'],
    DG3: ['PACE-PIN'],
  };
  const SM: readonly State[] = ['BAC', 'PACE-CAN', 'PACE-PIN', 'PACE-CAN+insurer'];
  for (const state of ['none', 'BAC', 'PACE-CAN', 'PACE-PIN', 'PACE-CAN+insurer'] as const) {
    it(state, async () => {
      card.powerOff();
      const plain = new InProcessTransport(card);
      await plain.connect();
      // EF.CardAccess in the MF: ALWAYS.
      expect(parseResponseApdu(await plain.transmit(hexToBytes('00B09C0004'))).sw).toBe(0x9000);
      let t: Transport = plain;
      if (state === 'BAC') {
        await plain.transmit(hexToBytes('00A4040C07A0000002471001'));
        t = await performBac(plain, MRZ_INFO);
      } else if (state !== 'none') t = await performPace(plain, { kind: state === 'PACE-PIN' ? 'pin' : 'can', password: state === 'PACE-PIN' ? PIN : CAN, parameterId: 13 });
      if (state === 'PACE-CAN+insurer') {
        await t.transmit(hexToBytes(`00A4040C06${bytesToHex(HEALTH_AID)}`));
        await authenticateInsurer(t, OPTS.insurerKey!);
      }
      expect(parseResponseApdu(await t.transmit(hexToBytes('00A4040C07A0000002471001'))).sw).toBe(0x9000);
      for (const f of IDENTITY_FILES) {
        const allowed = (ALLOWED[f.name] ?? SM).includes(state);
        const r = parseResponseApdu(await t.transmit(hexToBytes(`00B0${(0x80 | f.sfi).toString(16).toUpperCase()}0004`)));
        expect(r.sw.toString(16), `${f.name} in ${state}`).toBe(allowed ? '9000' : '6982');
        const w = parseResponseApdu(await t.transmit(hexToBytes(`00D6${(0x80 | f.sfi).toString(16).toUpperCase()}000100`)));
        expect(w.sw.toString(16), `update ${f.name} in ${state}`).toBe('6982');
      }
    });
  }
});

describe('building options', () => {
  it('a minimal holder gets the identity application only', async () => {
    const c = buildIdCard(minimal, { pki, can: CAN });
    const r = await read(c);
    expect([r.licence, r.health, r.finance, r.eServices]).toEqual([undefined, undefined, undefined, undefined]);
    expect(r.verdict).toBe('valid');
    expect(r.holder?.identity).toEqual(minimal.identity);
  });

  it('refuses what cannot be built, naming the missing piece', () => {
    expect(() => buildIdCard(holder, { ...OPTS, insurerKey: undefined })).toThrow(IdCardBuildError);
    expect(() => buildIdCard(holder, { ...OPTS, insurerKey: undefined })).toThrow(/healthInsurance: give insurerKey/);
    expect(() => buildIdCard(holder, { ...OPTS, eServices: undefined })).toThrow(/eServices: give eServices.authenticationPin/);
    const { face: _f, ...noFace } = holder;
    expect(() => buildIdCard(noFace, OPTS)).toThrow(/drivingLicence: a licence needs the holder's face/);
  });

  it('without AA and CA the chip is not authenticated: incomplete, and said so', async () => {
    const c = buildIdCard(holder, { ...OPTS, activeAuthentication: false, chipAuthentication: false });
    const r = await read(c, { pin: PIN });
    expect(r.access.chipAuthentication.verdict).toBe('not-checked');
    expect(r.access.activeAuthentication.verdict).toBe('not-checked');
    expect(r.verdict).toBe('incomplete');
    expect(r.identity.raw.dataGroups.has(14)).toBe(false);
  });

  it('BAC when the chip offers no PACE: identity and licence read, health and finances refused', async () => {
    const c = buildIdCard(holder, { ...OPTS, paceProtocols: [] });
    const r = await read(c, { can: undefined, mrz: MRZ_INFO });
    expect(r.access.protocol).toBe('BAC');
    expect(r.access.established).toBe('mrz');
    expect(r.access.pinVerified).toBe(false);
    const v = verdicts(r);
    expect(v['identity/DG1']).toBe('valid');
    expect(v['licence/DG1']).toBe('valid');
    expect(v['health/EF.INSURANCE']).toBe('refused');
    expect(v['e-services/EF.KEYS']).toBe('valid');
    expect(r.access.chipAuthentication.verdict).toBe('valid');
    await expect(read(c, { can: CAN })).rejects.toThrow(/BAC needs the MRZ/);
    await expect(read(c, { can: undefined, mrz: MRZ_INFO, bacFallback: false })).rejects.toThrow(/BAC fallback is off/);
    await expect(read(c, { can: undefined, mrz: MRZ_INFO, pin: PIN })).rejects.toThrow(/the PIN needs PACE/);
  });

  it('installs the purse when asked', async () => {
    const c = buildIdCard(minimal, { pki, can: CAN, purse: { currency: 634, maximum: 100_000, purchaseKey: new Uint8Array(16).fill(1) } });
    c.powerOn();
    const r = parseResponseApdu(c.transmit(hexToBytes(`00A4040C08${bytesToHex(PURSE_AID)}`)));
    expect(r.sw).toBe(0x9000);
  });
});

/** Byte-aligned places of `hex` in a text of hex strings (a match across a nibble boundary is not the bytes). */
function hexOffsets(text: string, hex: string): number[] {
  const out: number[] = [];
  const lower = text.toUpperCase();
  for (let i = lower.indexOf(hex.toUpperCase()); i >= 0; i = lower.indexOf(hex.toUpperCase(), i + 1)) {
    // Alignment within the quoted hex string the match sits in.
    const quote = lower.lastIndexOf('"', i);
    if ((i - quote - 1) % 2 === 0) out.push(i);
  }
  return out;
}
