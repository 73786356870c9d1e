/**
 * The purse conformance suite in `test-vectors/purse/` (chipwright's `.vec` format,
 * `src/conformance/vector-format.ts`): generated here from an **independent** reference of the
 * session scheme — AES-CMAC written from RFC 4493 over `node:crypto`'s raw AES-ECB, the SP 800-108
 * KDF and the transcript framing written from `src/apps/purse/crypto.ts`'s module comment — then
 * compared with the files on disk and replayed byte for byte on the simulated purse through the
 * conformance runner.
 *
 * `CHIPWRIGHT_WRITE_PURSE_VECTORS=1 npx vitest run test/purse-vectors.test.ts` rewrites the files
 * (after a deliberate change of the protocol; review the diff).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes } from '../src/bytes/index.js';
import { parseResponseApdu } from '../src/apdu/response.js';
import { createCard, DEFAULT_TRANSPORT_KEY } from '../src/card/os.js';
import { serializeCard } from '../src/card/image.js';
import { transportCryptogram } from '../src/script/transport-auth.js';
import { PURSE_AID, PURSE_APPLET, dateStamp, purseInstallParams, type PurseSpec } from '../src/apps/purse/index.js';
import { prepareReplay, readVectorFile, runReplay } from '../src/conformance/index.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-vectors', 'purse');

// --- the card the vectors run on -------------------------------------------------------------------

/** RFC 4493's example key as the purchase key; the first half of its AES-256 key as the load key. */
const PURCHASE_KEY = '2B7E151628AED2A6ABF7158809CF4F3C';
const LOAD_KEY = '603DEB1015CA71BE2B73AEF0857D7781';
const PIN = '31323334'; // "1234"

const SPEC: PurseSpec = {
  currency: 978,
  exponent: 2,
  maximum: 10_000,
  initialBalance: 1_000,
  pinThreshold: 500,
  pin: { value: hexToBytes(PIN), maxTries: 3 },
  loadKey: hexToBytes(LOAD_KEY),
  purchaseKey: hexToBytes(PURCHASE_KEY),
  keyVersion: 1,
  logSize: 4,
  maxSessionOps: 3,
  contracts: [{ product: 0x0101, zones: [1, 2], validFrom: '2025-01-01', validUntil: '2025-12-31', trips: 10 }],
};

/** The card image: the purse installed, the card made operational with ACTIVATE FILE on the MF. */
function cardImage(): string {
  const card = createCard({ applets: [PURSE_APPLET], serial: hexToBytes('0000000000C0FFEE'), storageKey: new Uint8Array(32).fill(0x5a) });
  card.install(PURSE_AID, 'purse', purseInstallParams(SPEC));
  card.powerOn();
  const send = (apdu: Uint8Array): Uint8Array => {
    const r = parseResponseApdu(card.transmit(apdu));
    if (r.sw !== 0x9000) throw new Error(`vector card: ${bytesToHex(apdu)} answered ${r.sw.toString(16)}`);
    return r.data.slice();
  };
  const challenge = send(hexToBytes('0084000008'));
  send(concatBytes(hexToBytes('0082000008'), transportCryptogram({ algorithm: '3des', value: DEFAULT_TRANSPORT_KEY }, challenge)));
  send(hexToBytes('00A4000C023F00'));
  send(hexToBytes('00440000')); // ACTIVATE FILE, the MF current: personalization → operational
  card.powerOff();
  return serializeCard(card);
}

// --- an independent reference of the session scheme ------------------------------------------------

const h = (s: string): Uint8Array => hexToBytes(s);
const hex = (b: Uint8Array): string => bytesToHex(b);

function aesEcb(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

/** RFC 4493 §2.3 (subkeys) and §2.4 (MAC generation), as written there. */
function refCmac(key: Uint8Array, m: Uint8Array): Uint8Array {
  const dbl = (x: Uint8Array): Uint8Array => {
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = ((x[i]! << 1) | (i < 15 ? x[i + 1]! >> 7 : 0)) & 0xff;
    if (x[0]! & 0x80) out[15]! ^= 0x87;
    return out;
  };
  const k1 = dbl(aesEcb(key, new Uint8Array(16)));
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(m.length / 16));
  const complete = m.length > 0 && m.length % 16 === 0;
  const last = new Uint8Array(16);
  last.set(m.subarray((n - 1) * 16));
  if (!complete) last[m.length - (n - 1) * 16] = 0x80;
  for (let i = 0; i < 16; i++) last[i]! ^= (complete ? k1 : k2)[i]!;
  let x: Uint8Array = new Uint8Array(16);
  for (let b = 0; b < n - 1; b++) {
    const y = x.map((v, i) => v ^ m[b * 16 + i]!);
    x = aesEcb(key, y);
  }
  return aesEcb(key, x.map((v, i) => v ^ last[i]!));
}

/** SP 800-108 counter mode, PRF CMAC: 00×11 ‖ 50 ‖ 00 ‖ L(2) ‖ i ‖ cardChallenge ‖ terminalChallenge. */
function refSessionKey(key: Uint8Array, cardChallenge: Uint8Array, terminalChallenge: Uint8Array): Uint8Array {
  const bits = key.length * 8;
  let out: Uint8Array = new Uint8Array(0);
  for (let i = 1; out.length < key.length; i++) {
    const input = concatBytes(new Uint8Array(11), Uint8Array.of(0x50, 0x00, bits >> 8, bits & 0xff, i), cardChallenge, terminalChallenge);
    out = concatBytes(out, refCmac(key, input));
  }
  return out.slice(0, key.length);
}

/** One session as the reference sees it: CLA INS P1 P2 ‖ Nc(2) ‖ data ‖ Nr(2) ‖ response ‖ SW. */
class RefSession {
  private readonly framed: Uint8Array[] = [];
  private readonly ks: Uint8Array;

  constructor(key: string, cardChallenge: string, terminalChallenge: string) {
    this.ks = refSessionKey(h(key), h(cardChallenge), h(terminalChallenge));
  }

  add(header: string, data: string, response: string, sw: string): void {
    const d = h(data);
    const r = h(response);
    this.framed.push(concatBytes(h(header), Uint8Array.of(d.length >> 8, d.length & 0xff), d, Uint8Array.of(r.length >> 8, r.length & 0xff), r, h(sw)));
  }

  private digest(): Uint8Array {
    return new Uint8Array(createHash('sha256').update(concatBytes(...this.framed)).digest());
  }

  terminalMac(): string {
    return hex(refCmac(this.ks, concatBytes(Uint8Array.of(0x01), this.digest())).slice(0, 8));
  }

  cardMac(terminalMac: string, balance: string): string {
    return hex(refCmac(this.ks, concatBytes(Uint8Array.of(0x02), this.digest(), h(terminalMac), h(balance))).slice(0, 8));
  }
}

// --- the vector files ------------------------------------------------------------------------------

const u32 = (n: number): string => (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
const u16 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
const SELECT = `00 A4 04 00 08 ${hex(PURSE_AID)} 00 => * 9000`;
const TERMINAL = 'CAFE0001';
const DATE = u16(dateStamp('2025-06-15'));
const TIME = u16(8 * 60 + 30);
const T_CHALLENGE = '0102030405060708';
const OPEN_DATA = `${T_CHALLENGE}${TERMINAL}${DATE}${TIME}`;

function header(name: string, description: string, rng: string | undefined): string[] {
  return [
    `# ${description}`,
    '# Generated by test/purse-vectors.test.ts from an independent reference of the session scheme',
    '# (src/apps/purse/crypto.ts); chipwright\'s own protocol, so these are its reference values.',
    `name: ${name}`,
    'clause: chipwright purse protocol, src/apps/purse/protocol.ts and crypto.ts',
    'card: image purse-card.json',
    ...(rng !== undefined ? [`rng: ${rng}`] : []),
    '',
  ];
}

/** Runs a session through the reference: OPEN, the given exchanges, CLOSE; returns .vec lines. */
function sessionLines(opts: {
  keyIndex: '02' | '03';
  key: string;
  tc: number;
  random: string;
  balance: number;
  ops: readonly { label: string; header: string; data: string; response: string; sw: string }[];
  final: number;
}): string[] {
  const cardChallenge = `${u32(opts.tc)}${opts.random}`;
  const ref = new RefSession(opts.key, cardChallenge, T_CHALLENGE);
  const openResponse = `${cardChallenge}${u32(opts.balance)}01`;
  ref.add(`808A00${opts.keyIndex}`, OPEN_DATA, openResponse, '9000');
  const lines = [
    `# OPEN SESSION with the ${opts.keyIndex === '03' ? 'purchase' : 'load'} key: terminal challenge, terminal ${TERMINAL}, 2025-06-15 08:30`,
    `80 8A 00 ${opts.keyIndex} 10 ${T_CHALLENGE} ${TERMINAL} ${DATE} ${TIME} 00 => ${u32(opts.tc)} ${opts.random} ${u32(opts.balance)} 01 9000`,
  ];
  for (const op of opts.ops) {
    ref.add(op.header, op.data, op.response, op.sw);
    const hd = op.header.match(/../g)!.join(' ');
    const lc = op.data.length > 0 ? ` ${u16(op.data.length / 2).slice(2)} ${op.data}` : '';
    lines.push(`# ${op.label}`, `${hd}${lc} 00 => ${op.response ? `${op.response} ` : ''}${op.sw}`);
  }
  const mt = ref.terminalMac();
  const mc = ref.cardMac(mt, u32(opts.final));
  lines.push('# CLOSE SESSION: the terminal MAC over the transcript; the card answers balance and its MAC', `80 8E 00 00 08 ${mt} 00 => ${u32(opts.final)} ${mc} 9000`);
  return lines;
}

function logRecord(type: number, contract: number, seq: number, tc: number, amount: number, after: number): string {
  return `${u16(type).slice(2)}${u16(contract).slice(2)}${u32(seq)}${u32(tc)}${u32(amount)}${u32(after)}${TERMINAL}${DATE}${TIME}`;
}

function purchaseVec(): string {
  const random = '1122334455667788';
  return [
    ...header('purse: a purchase session byte for byte', 'OPEN (purchase key), DEBIT 2.50, CLOSE with both MACs; then the committed balance and log record.', random),
    '# Select the purse and read the balance outside a session',
    SELECT,
    `80 7C 00 00 00 => ${u32(1000)} ${u32(10000)} 0978 02 ${u32(0)} 9000`,
    ...sessionLines({
      keyIndex: '03',
      key: PURCHASE_KEY,
      tc: 1,
      random,
      balance: 1000,
      ops: [{ label: 'DEBIT 2.50: the tentative balance', header: '80BA0000', data: u32(250), response: u32(750), sw: '9000' }],
      final: 750,
    }),
    '# Committed: the balance, the transaction counter and the log record (SFI 08, record 1 = newest)',
    `80 7C 00 00 00 => ${u32(750)} ${u32(10000)} 0978 02 ${u32(1)} 9000`,
    `00 B2 01 44 00 => ${logRecord(2, 0, 1, 1, 250, 750)} 9000`,
    '',
  ].join('\n');
}

function loadVec(): string {
  const random = 'A1A2A3A4A5A6A7A8';
  return [
    ...header('purse: a load session with a refused command in its transcript', 'OPEN (load key), CREDIT 90.00 up to the maximum, a refused CREDIT (6A84) that stays in the transcript, CLOSE.', random),
    SELECT,
    ...sessionLines({
      keyIndex: '02',
      key: LOAD_KEY,
      tc: 1,
      random,
      balance: 1000,
      ops: [
        { label: 'CREDIT 90.00: exactly the maximum', header: '80B80000', data: u32(9000), response: u32(10000), sw: '9000' },
        { label: 'CREDIT 0.01 more: above the maximum, refused; both MACs cover the refusal', header: '80B80000', data: u32(1), response: '', sw: '6A84' },
      ],
      final: 10000,
    }),
    '# Committed: one log record, type 01 (credit)',
    `80 7C 00 00 00 => ${u32(10000)} ${u32(10000)} 0978 02 ${u32(1)} 9000`,
    `00 B2 01 44 00 => ${logRecord(1, 0, 1, 1, 9000, 10000)} 9000`,
    '00 B2 02 44 00 => 6A83',
    '',
  ].join('\n');
}

function transitVec(): string {
  const random = 'B1B2B3B4B5B6B7B8';
  return [
    ...header('purse: using trips of a transit contract', 'OPEN (purchase key), USE TRIP ×2 in zone 2 on contract 1, CLOSE; the contract record and a trip log record.', random),
    SELECT,
    '# Contract 1 (SFI 09): product 0101, zones 1 and 2, 2025-01-01..2025-12-31, 10 trips',
    `00 B2 01 4C 00 => 0101 0003 ${u16(dateStamp('2025-01-01'))} ${u16(dateStamp('2025-12-31'))} 000A 9000`,
    ...sessionLines({
      keyIndex: '03',
      key: PURCHASE_KEY,
      tc: 1,
      random,
      balance: 1000,
      ops: [{ label: 'USE TRIP: contract 1, 2 trips, zone 2; trips left', header: '80300100', data: '0202', response: '0008', sw: '9000' }],
      final: 1000,
    }),
    '# Committed: 8 trips left, and a trip record (type 03, contract 01)',
    `00 B2 01 4C 00 => 0101 0003 ${u16(dateStamp('2025-01-01'))} ${u16(dateStamp('2025-12-31'))} 0008 9000`,
    `00 B2 01 44 00 => ${logRecord(3, 1, 1, 1, 2, 8)} 9000`,
    '',
  ].join('\n');
}

function errorsVec(): string {
  const o = (p2: string, data = OPEN_DATA): string => `80 8A 00 ${p2} ${u16(data.length / 2).slice(2)} ${data} 00`;
  return [
    ...header('purse: status words', 'Every refusal of the purse\'s status-word table, and that none of them changes the purse.', 'C1C2C3C4C5C6C7C8'),
    SELECT,
    '# Purse commands are proprietary (CLA 80)',
    '00 7C 00 00 00 => 6E00',
    '# Session misuse without a session: 6985; ABORT is always allowed',
    `80 BA 00 00 04 ${u32(1)} 00 => 6985`,
    '80 8E 00 00 08 0000000000000000 00 => 6985',
    '80 8E 00 00 => 9000',
    '# OPEN SESSION: P2 not 02/03, Lc not 16, time of day 24:00',
    `${o('04')} => 6A86`,
    `80 8A 00 03 0F ${OPEN_DATA.slice(0, 30)} 00 => 6700`,
    `${o('03', `${T_CHALLENGE}${TERMINAL}${DATE}05A0`)} => 6A80`,
    '# A purchase session; a second OPEN on the channel is refused',
    `${o('03')} => ${u32(1)} C1C2C3C4C5C6C7C8 ${u32(1000)} 01 9000`,
    `${o('03')} => 6985`,
    '# CREDIT needs the load key',
    `80 B8 00 00 04 ${u32(1)} 00 => 6982`,
    '# Amounts: zero and negative 6A80, wrong Lc 6700, P1-P2 6A86',
    `80 BA 00 00 04 ${u32(0)} 00 => 6A80`,
    `80 BA 00 00 04 ${u32(-1)} 00 => 6A80`,
    '80 BA 00 00 03 000001 00 => 6700',
    `80 BA 01 00 04 ${u32(1)} 00 => 6A86`,
    '# Above the PIN threshold (5.00) without the holder PIN: 6982; with it, below zero: 6A84',
    `80 BA 00 00 04 ${u32(501)} 00 => 6982`,
    `00 20 00 81 04 ${PIN} => 9000`,
    `80 BA 00 00 04 ${u32(1001)} 00 => 6A84`,
    '# USE TRIP: no such contract 6A83, zone not covered 6985, too many trips 6A84, zero trips 6A80, P1 00 6A86',
    '80 30 02 00 02 0101 00 => 6A83',
    '80 30 01 00 02 0103 00 => 6985',
    '80 30 01 00 02 0B01 00 => 6A84',
    '80 30 01 00 02 0001 00 => 6A80',
    '80 30 00 00 02 0101 00 => 6A86',
    '# Three operations fill the session (maxSessionOps 3); a fourth is 6400',
    `80 BA 00 00 04 ${u32(1)} 00 => ${u32(999)} 9000`,
    `80 BA 00 00 04 ${u32(1)} 00 => ${u32(998)} 9000`,
    '80 30 01 00 02 0101 00 => 0009 9000',
    `80 BA 00 00 04 ${u32(1)} 00 => 6400`,
    '# CLOSE: Lc not 8 6700; a wrong terminal MAC 6988 discards the session',
    '80 8E 00 00 04 00000000 00 => 6700',
    '80 8E 00 00 08 0000000000000000 00 => 6988',
    `80 BA 00 00 04 ${u32(1)} 00 => 6985`,
    '# Nothing was committed; only the transaction counter moved',
    `80 7C 00 00 00 => ${u32(1000)} ${u32(10000)} 0978 02 ${u32(1)} 9000`,
    '00 B2 01 44 00 => 6A83',
    `00 B2 01 4C 00 => 0101 0003 ${u16(dateStamp('2025-01-01'))} ${u16(dateStamp('2025-12-31'))} 000A 9000`,
    '# The files are written by the purse only',
    `00 D6 81 00 04 ${u32(999_999)} => 6982`,
    '',
  ].join('\n');
}

function vectorFiles(): Record<string, string> {
  return {
    'purse-card.json': cardImage(),
    'purse-purchase.vec': purchaseVec(),
    'purse-load.vec': loadVec(),
    'purse-transit.vec': transitVec(),
    'purse-errors.vec': errorsVec(),
  };
}

describe('purse conformance vectors', () => {
  const files = vectorFiles();
  if (process.env.CHIPWRIGHT_WRITE_PURSE_VECTORS === '1') {
    mkdirSync(DIR, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(DIR, name), text);
  }

  it('the reference CMAC reproduces RFC 4493', () => {
    const key = h('2B7E151628AED2A6ABF7158809CF4F3C');
    expect(hex(refCmac(key, new Uint8Array(0)))).toBe('BB1D6929E95937287FA37D129B756746');
    expect(hex(refCmac(key, h('6BC1BEE22E409F96E93D7E117393172A')))).toBe('070A16B46B4D4144F79BDD9DD04A287C');
    expect(hex(refCmac(key, h('6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411')))).toBe('DFA66747DE9AE63030CA32611497C827');
  });

  it.each(Object.keys(files))('test-vectors/purse/%s is what the reference generates', (name) => {
    const path = join(DIR, name);
    expect(existsSync(path), `${path} missing: run with CHIPWRIGHT_WRITE_PURSE_VECTORS=1`).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(files[name]);
  });

  it('every vector file replays byte for byte on the simulated purse', async () => {
    const vectors = Object.keys(files)
      .filter((n) => n.endsWith('.vec'))
      .map((n) => readVectorFile(join(DIR, n)));
    const { plan, errors } = await prepareReplay(vectors, { target: { kind: 'simulator' }, applets: [PURSE_APPLET] });
    expect(errors).toEqual([]);
    const r = await runReplay(plan, { target: { kind: 'simulator' }, applets: [PURSE_APPLET] });
    const failed = r.files.flatMap((f) =>
      (f.run?.results ?? []).filter((s) => s.verdict !== 'pass').map((s) => `${f.vector.source}:${s.line} ${s.verdict} ${s.message ?? ''}`),
    );
    expect(failed).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.steps.passed).toBeGreaterThanOrEqual(50);
  });
});
