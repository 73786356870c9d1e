/**
 * Data object handling: GET DATA and PUT DATA with even INS (ISO/IEC 7816-4:2013 §11.4), plus
 * chipwright's loading of PIN and key objects through PUT DATA in the proprietary P1-P2 range.
 *
 * P1-P2 (ISO/IEC 7816-4:2013 §11.4.3):
 *
 * | P1-P2       | meaning                                  | here                           |
 * |-------------|------------------------------------------|--------------------------------|
 * | 0040–00FF   | one-byte BER-TLV tag in P2               | GET/PUT a DO                   |
 * | 0100–01FF   | proprietary                              | PUT DATA 0101 PIN, 0102 key; GET DATA → 6A88 |
 * | 4000–FFFF   | two-byte BER-TLV tag in P1-P2            | GET/PUT a DO                   |
 * | anything else (RFU, SIMPLE-TLV 02xx), or not a valid BER-TLV tag of that size | | 6A86 |
 *
 * DOs are stored per DF (`DedicatedFile.dataObjects`) and found from the current DF up to the MF,
 * so an application DF can shadow a card-wide object. Two objects are built in and read-only:
 * `46` (pre-issuing data: the chip serial number) and `5F52` (the historical bytes of the ATR).
 *
 * Reading DOs needs no security status (GET DATA serves public card data such as the serial and
 * the historical bytes); writing them is personalization (PUT DATA needs the transport key and is
 * refused once the card is operational). PIN and key values are write-only: no command returns
 * them.
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import { parseAtr } from '../../atr/index.js';
import { byteHex, u16Hex } from '../../bytes/index.js';
import { encodeTag, encodeTlv, isConstructedTag, parseTlvList, TlvError, type Tlv } from '../../tlv/ber.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type CommandHandler, type InsTable } from '../dispatch.js';
import type { DataObject, DedicatedFile } from '../fs/file.js';
import {
  hexRef,
  newKey,
  newPin,
  type KeyAlgorithm,
  type KeyObject,
  type PinObject,
  type PinPadding,
} from '../security/objects.js';
import { KEY_ALGORITHM_CODES, keyAlgorithmOf } from './authenticate.js';

/** PUT DATA P1-P2 that loads a PIN/PUK object (proprietary range, ISO/IEC 7816-4 §11.4.3). */
export const PUT_DATA_PIN = 0x0101;
/** PUT DATA P1-P2 that loads a symmetric key object. */
export const PUT_DATA_KEY = 0x0102;

/** Tag 46: pre-issuing data (ISO/IEC 7816-4 interindustry DO) — here the chip serial number. */
export const TAG_PRE_ISSUING_DATA = 0x46;
/** Tag 5F52: historical bytes (ISO/IEC 7816-4 §12.1), as in the card's ATR. */
export const TAG_HISTORICAL_BYTES = 0x5f52;

type DoReference = { readonly kind: 'tag'; readonly tag: number } | { readonly kind: 'proprietary'; readonly p1p2: number };

/**
 * Decodes P1-P2 per ISO/IEC 7816-4:2013 §11.4.3. A value in a tag range must also be a valid
 * BER-TLV tag of that many bytes (e.g. 005F or 4001 are not), else 6A86.
 */
function decodeP1P2(cmd: CommandApdu): DoReference {
  const v = (cmd.p1 << 8) | cmd.p2;
  let size: number;
  if (v >= 0x0040 && v <= 0x00ff) size = 1;
  else if (v >= 0x4000) size = 2;
  else if (v >= 0x0100 && v <= 0x01ff) return { kind: 'proprietary', p1p2: v };
  else throw new StatusWordError(SW.INCORRECT_P1P2, `P1-P2 ${u16Hex(v)} is not a BER-TLV tag or proprietary reference`);
  const tag = size === 1 ? cmd.p2 : v;
  let ok = false;
  try {
    ok = encodeTag(tag).length === size;
  } catch {
    ok = false;
  }
  if (!ok) throw new StatusWordError(SW.INCORRECT_P1P2, `P1-P2 ${u16Hex(v)} is not a valid ${size}-byte BER-TLV tag`);
  return { kind: 'tag', tag };
}

/** Value of a built-in DO, or undefined when `tag` is not one. */
function builtIn(ctx: CommandContext, tag: number): Uint8Array | undefined {
  if (tag === TAG_PRE_ISSUING_DATA) return ctx.state.serial;
  // An ATR the parser rejects is a card configuration bug: let it surface as 6F00 + event.
  if (tag === TAG_HISTORICAL_BYTES) return parseAtr(ctx.state.atr).historical;
  return undefined;
}

function isBuiltIn(tag: number): boolean {
  return tag === TAG_PRE_ISSUING_DATA || tag === TAG_HISTORICAL_BYTES;
}

function findDataObject(df: DedicatedFile, tag: number): DataObject | undefined {
  for (let x: DedicatedFile | null = df; x !== null; x = x.parent) {
    for (const d of x.dataObjects) if (d.tag === tag) return d;
  }
  return undefined;
}

/**
 * GET DATA (INS CA), ISO/IEC 7816-4:2013 §11.4.3. P1-P2 = tag; no data (6700). Returns the whole
 * DO — tag, length, value — so the answer is self-describing. Built-ins first, then the current
 * DF up to the MF; not found → 6A88. The proprietary range holds PINs and keys, which are never
 * readable: 6A88.
 *
 * @example 00 CA 00 46 00 → 46 08 <serial> 9000
 */
const GET_DATA: CommandHandler = {
  name: 'GET DATA',
  run(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
    const ref = decodeP1P2(cmd);
    if (cmd.data.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'GET DATA (CA) takes no data');
    if (ref.kind === 'proprietary') {
      throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `proprietary P1-P2 ${u16Hex(ref.p1p2)} is write-only`);
    }
    const value = builtIn(ctx, ref.tag) ?? findDataObject(ctx.channel.df, ref.tag)?.value;
    if (value === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `no data object ${tagHex(ref.tag)}`);
    return encodeTlv(ref.tag, value);
  },
};

/**
 * PUT DATA (INS DA), ISO/IEC 7816-4:2013 §11.4 — a personalization command (transport key
 * needed; 6985 once operational) that accepts command chaining for long objects.
 *
 * - P1-P2 = tag: the data field is the **value** of the DO (ISO: "data bytes according to P1-P2"
 *   for the even INS; the tag is already in P1-P2, so repeating it would only add a way to
 *   disagree). It replaces the DO with that tag in the current DF or adds it; an empty data field
 *   deletes it. A constructed tag's value must itself be BER-TLV (6A80). Built-in DOs 46 and 5F52
 *   are read-only (6985).
 * - P1-P2 = 0101: load a PIN/PUK object; 0102: load a symmetric key (templates below). Other
 *   proprietary values: 6A86.
 *
 * Templates are a concatenation of primitive BER-TLV DOs (no outer tag), each at most once. A
 * bad template answers 6A80 with a trace detail naming the field, never its value.
 *
 * PIN object (P1-P2 = 0101):
 *
 * | tag | field          | length | required | meaning / default                                        |
 * |-----|----------------|--------|----------|----------------------------------------------------------|
 * | 83  | reference      | 1      | yes      | P2 of VERIFY; 01–FF (b8 = 1 specific, b8 = 0 global)      |
 * | 80  | value          | min–max| yes      | the PIN, unpadded                                        |
 * | 81  | min length     | 1      | no       | 1–64; default 4                                          |
 * | 82  | max length     | 1      | no       | min–64; default max(min, 12)                             |
 * | 84  | padding        | 1      | no       | 00 = pad with 00, FF = pad with FF; absent = no padding   |
 * | 85  | padded length  | 1      | no       | max length–64, only with 84; default max length          |
 * | 86  | max tries      | 1      | no       | 1–15; default 3                                          |
 * | 87  | PUK reference  | 1      | no       | reference of the PUK for RESET RETRY COUNTER; default none |
 * | 88  | unblock count  | 1      | no       | for a PUK: unblocks allowed, 00–FE; FF or absent = unlimited |
 *
 * Symmetric key (P1-P2 = 0102):
 *
 * | tag | field     | length        | required | meaning / default                          |
 * |-----|-----------|---------------|----------|--------------------------------------------|
 * | 83  | reference | 1             | yes      | P2 of EXTERNAL AUTHENTICATE; 01–FF          |
 * | 89  | algorithm | 1             | yes      | 01 = 3DES, 02 = AES                        |
 * | 80  | value     | 16/24 (3DES), 16/24/32 (AES) | yes | the key                       |
 * | 86  | max tries | 1             | no       | 1–15; default 10                           |
 *
 * Where the object goes: a specific reference (b8 = 1) into the current DF, a global one (b8 = 0)
 * into the MF. The P2 coding of the security commands (ISO/IEC 7816-4:2013 §11.5.1) makes b8 = 0
 * global reference data, i.e. card-wide; a global PIN kept in a DF would be invisible from its
 * siblings. An object with the same reference there is replaced (and loses its status on this
 * channel). Reference 00 is refused: in P2 it means "no information given" (§11.5.1), and P2=00
 * of EXTERNAL AUTHENTICATE is the transport key.
 *
 * @example 00 DA 01 01 0C 83 01 81 80 04 31323334 86 01 03 → 9000 (PIN 81 = "1234", 3 tries)
 */
const PUT_DATA: CommandHandler = {
  name: 'PUT DATA',
  personalization: true,
  chaining: true,
  run(cmd: CommandApdu, ctx: CommandContext): void {
    const ref = decodeP1P2(cmd);
    if (ref.kind === 'proprietary') {
      if (ref.p1p2 === PUT_DATA_PIN) return loadPin(ctx, cmd.data);
      if (ref.p1p2 === PUT_DATA_KEY) return loadKey(ctx, cmd.data);
      throw new StatusWordError(SW.INCORRECT_P1P2, `proprietary P1-P2 ${u16Hex(ref.p1p2)}: only 0101 (PIN) and 0102 (key)`);
    }
    const tag = ref.tag;
    if (isBuiltIn(tag)) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, `data object ${tagHex(tag)} is read-only`);
    const df = ctx.channel.df;
    const i = df.dataObjects.findIndex((d) => d.tag === tag);
    if (cmd.data.length === 0) {
      if (i >= 0) ctx.nv.splice(df.dataObjects, i, 1);
      return;
    }
    if (isConstructedTag(tag)) {
      try {
        parseTlvList(cmd.data);
      } catch (e) {
        if (!(e instanceof TlvError)) throw e;
        throw new StatusWordError(SW.INCORRECT_DATA, `constructed ${tagHex(tag)}: value is not BER-TLV (byte ${e.offset})`);
      }
    }
    const obj: DataObject = { tag, value: cmd.data.slice() };
    if (i >= 0) ctx.nv.splice(df.dataObjects, i, 1, obj);
    else ctx.nv.splice(df.dataObjects, df.dataObjects.length, 0, obj);
  },
};

// --- templates ----------------------------------------------------------------------------------

const PIN_FIELDS: Readonly<Record<number, string>> = {
  0x80: '80 (value)',
  0x81: '81 (min length)',
  0x82: '82 (max length)',
  0x83: '83 (reference)',
  0x84: '84 (padding)',
  0x85: '85 (padded length)',
  0x86: '86 (max tries)',
  0x87: '87 (PUK reference)',
  0x88: '88 (unblock count)',
};

const KEY_FIELDS: Readonly<Record<number, string>> = {
  0x80: '80 (value)',
  0x83: '83 (reference)',
  0x86: '86 (max tries)',
  0x89: '89 (algorithm)',
};

function bad(detail: string): never {
  throw new StatusWordError(SW.INCORRECT_DATA, detail);
}

/**
 * Parses a template into tag → value. Offsets and field names only in details: when the encoding
 * is off, what looks like a tag may be a PIN or key byte.
 */
function parseTemplate(data: Uint8Array, fields: Readonly<Record<number, string>>, what: string): Map<number, Uint8Array> {
  let list: Tlv[];
  try {
    list = parseTlvList(data);
  } catch (e) {
    if (!(e instanceof TlvError)) throw e;
    bad(`${what} template: malformed BER-TLV at byte ${e.offset}`);
  }
  const out = new Map<number, Uint8Array>();
  let offset = 0;
  for (const t of list) {
    const field = fields[t.tag];
    if (field === undefined) bad(`${what} template: unexpected data object at byte ${offset} (allowed: ${Object.values(fields).join(', ')})`);
    if (out.has(t.tag)) bad(`${what} template: ${field} appears twice`);
    out.set(t.tag, t.value);
    offset += t.raw?.length ?? 0;
  }
  return out;
}

function required(m: Map<number, Uint8Array>, tag: number, field: string, what: string): Uint8Array {
  const v = m.get(tag);
  if (v === undefined) bad(`${what} template: ${field} is missing`);
  return v;
}

/** A one-byte field within [min, max], or `undefined` when absent. */
function byteField(m: Map<number, Uint8Array>, tag: number, field: string, min: number, max: number): number | undefined {
  const v = m.get(tag);
  if (v === undefined) return undefined;
  if (v.length !== 1) bad(`${field}: expected 1 byte, got ${v.length}`);
  const b = v[0]!;
  if (b < min || b > max) bad(`${field}: expected ${byteHex(min)}..${byteHex(max)}, got ${byteHex(b)}`);
  return b;
}

/** Where an object with this reference lives: global (b8 = 0) in the MF, specific in the current DF. */
function homeOf(ctx: CommandContext, ref: number): DedicatedFile {
  return (ref & 0x80) === 0 ? ctx.mf : ctx.channel.df;
}

function loadPin(ctx: CommandContext, data: Uint8Array): void {
  const what = 'PIN';
  const m = parseTemplate(data, PIN_FIELDS, what);
  const ref = byteField(m, 0x83, PIN_FIELDS[0x83]!, 0x01, 0xff) ?? bad(`${what} template: 83 (reference) is missing`);
  const value = required(m, 0x80, PIN_FIELDS[0x80]!, what);
  const minLength = byteField(m, 0x81, PIN_FIELDS[0x81]!, 1, 64) ?? 4;
  const maxLength = byteField(m, 0x82, PIN_FIELDS[0x82]!, minLength, 64) ?? Math.max(minLength, 12);
  if (value.length < minLength || value.length > maxLength) {
    bad(`${PIN_FIELDS[0x80]}: length ${value.length} outside ${minLength}..${maxLength}`);
  }
  const padByte = m.get(0x84);
  let padding: PinPadding = 'none';
  if (padByte !== undefined) {
    if (padByte.length !== 1 || (padByte[0] !== 0x00 && padByte[0] !== 0xff)) bad(`${PIN_FIELDS[0x84]}: expected 1 byte, 00 or FF`);
    padding = padByte[0] === 0xff ? 'ff' : '00';
  }
  if (m.has(0x85) && padding === 'none') bad(`${PIN_FIELDS[0x85]}: only with 84 (padding)`);
  const paddedLength = byteField(m, 0x85, PIN_FIELDS[0x85]!, maxLength, 64);
  const maxTries = byteField(m, 0x86, PIN_FIELDS[0x86]!, 1, 15) ?? 3;
  const pukRef = byteField(m, 0x87, PIN_FIELDS[0x87]!, 0x01, 0xff);
  if (pukRef === ref) bad(`${PIN_FIELDS[0x87]}: a PIN cannot be its own PUK`);
  const unblocks = byteField(m, 0x88, PIN_FIELDS[0x88]!, 0x00, 0xff);

  let pin: PinObject;
  try {
    pin = newPin({
      ref,
      value,
      minLength,
      maxLength,
      padding,
      ...(paddedLength !== undefined ? { paddedLength } : {}),
      maxTries,
      ...(pukRef !== undefined ? { pukRef } : {}),
      unblocks: unblocks === undefined || unblocks === 0xff ? -1 : unblocks,
    });
  } catch (e) {
    // newPin names the rule and the reference, never the value.
    bad(`${what} template: ${e instanceof Error ? e.message : String(e)}`);
  }
  const home = homeOf(ctx, ref);
  const i = home.pins.findIndex((p) => p.ref === ref);
  if (i >= 0) {
    ctx.channel.pins.delete(home.pins[i]!);
    ctx.nv.splice(home.pins, i, 1, pin);
  } else {
    ctx.nv.splice(home.pins, home.pins.length, 0, pin);
  }
}

function loadKey(ctx: CommandContext, data: Uint8Array): void {
  const what = 'key';
  const m = parseTemplate(data, KEY_FIELDS, what);
  const ref = byteField(m, 0x83, KEY_FIELDS[0x83]!, 0x01, 0xff) ?? bad(`${what} template: 83 (reference) is missing`);
  const code = byteField(m, 0x89, KEY_FIELDS[0x89]!, 0x00, 0xff) ?? bad(`${what} template: 89 (algorithm) is missing`);
  const algorithm: KeyAlgorithm | undefined = keyAlgorithmOf(code);
  if (algorithm === undefined) {
    bad(`${KEY_FIELDS[0x89]}: expected ${byteHex(KEY_ALGORITHM_CODES['3des'])} (3DES) or ${byteHex(KEY_ALGORITHM_CODES.aes)} (AES), got ${byteHex(code)}`);
  }
  const value = required(m, 0x80, KEY_FIELDS[0x80]!, what);
  const lengths = algorithm === '3des' ? [16, 24] : [16, 24, 32];
  if (!lengths.includes(value.length)) {
    bad(`${KEY_FIELDS[0x80]}: ${algorithm === '3des' ? '3DES' : 'AES'} needs ${lengths.join('/')} bytes, got ${value.length}`);
  }
  const maxTries = byteField(m, 0x86, KEY_FIELDS[0x86]!, 1, 15) ?? 10;
  let key: KeyObject;
  try {
    key = newKey({ ref, algorithm, value, maxTries });
  } catch (e) {
    bad(`${what} template: ${e instanceof Error ? e.message : String(e)}`);
  }
  const home = homeOf(ctx, ref);
  const i = home.keys.findIndex((k) => k.ref === ref);
  if (i >= 0) {
    ctx.channel.keys.delete(home.keys[i]!);
    ctx.nv.splice(home.keys, i, 1, key);
  } else {
    ctx.nv.splice(home.keys, home.keys.length, 0, key);
  }
}

function tagHex(tag: number): string {
  return tag > 0xff ? u16Hex(tag) : hexRef(tag);
}

/** GET DATA and PUT DATA (even INS). */
export const DATA_OBJECT_COMMANDS: InsTable = defineInsTable([INS.GET_DATA, GET_DATA], [INS.PUT_DATA, PUT_DATA]);
