/**
 * The CBEFF biometric templates of DG2–DG4 (ICAO 9303-10 §4.7.2–4.7.4; ISO/IEC 7816-11 and
 * ISO/IEC 19785-1 patron format):
 *
 *     7F61 biometric information group template
 *       02   number of instances (1 byte)
 *       7F60 biometric information template, once per instance
 *         A1   biometric header template (BHT)
 *           80 ICAO header version (2, '0101')      optional
 *           81 biometric type (1–3)                 optional   02 face, 08 finger
 *           82 biometric subtype (1)                optional   finger position bits
 *           83 creation date and time (7)           optional
 *           85 validity period (8)                  optional
 *           86 creator of the reference data (2)    optional
 *           87 format owner (2)                     mandatory  0101 = ISO/IEC JTC 1/SC 37
 *           88 format type (2)                      mandatory  0008 face image, 0007 finger image, 0001 finger minutiae
 *         5F2E biometric data block
 *
 * Header elements are written in that order; decoding accepts any order. An enciphered block
 * (7F2E) is refused with a message: chipwright neither writes nor reads one.
 */
import { uintToBytes, readUintBE } from '../bytes/index.js';
import { encodeTlv, tlvConstructed, type Tlv } from '../tlv/ber.js';
import { LdsError } from './errors.js';
import { openTemplate } from './_template.js';

/** CBEFF biometric types (ISO/IEC 19785-1 Table 5, as ICAO 9303-10 uses them). */
export const BIOMETRIC_TYPE = { FACE: 0x02, FINGERPRINT: 0x08 } as const;
/** Format owner ISO/IEC JTC 1/SC 37 (IBIA registry). */
export const FORMAT_OWNER_SC37 = 0x0101;
/** SC 37 format types (IBIA registry): the ISO/IEC 19794 part a biometric data block follows. */
export const FORMAT_TYPE = { FINGER_MINUTIAE: 0x0001, FINGER_IMAGE: 0x0007, FACE_IMAGE: 0x0008 } as const;

export const TAG_BIOMETRIC_GROUP = 0x7f61;
export const TAG_BIOMETRIC_TEMPLATE = 0x7f60;
export const TAG_BIOMETRIC_HEADER = 0xa1;
export const TAG_BIOMETRIC_DATA = 0x5f2e;
export const TAG_BIOMETRIC_DATA_ENCIPHERED = 0x7f2e;

/** The biometric header template (A1). */
export interface BiometricHeader {
  /** DO 80: patron header version, normally 01 01. */
  readonly icaoVersion?: Uint8Array;
  /** DO 81: {@link BIOMETRIC_TYPE}. */
  readonly biometricType?: number;
  /** DO 82: for fingers, {@link fingerSubtype}. */
  readonly subtype?: number;
  /** DO 83: creation date and time, 7 bytes as stored. */
  readonly creationDate?: Uint8Array;
  /** DO 85: validity period, 8 bytes as stored. */
  readonly validityPeriod?: Uint8Array;
  /** DO 86: creator of the biometric reference data. */
  readonly creator?: Uint8Array;
  /** DO 87. */
  readonly formatOwner: number;
  /** DO 88. */
  readonly formatType: number;
}

/** One biometric information template: its header and its data block (bytes as stored). */
export interface BiometricTemplate {
  readonly header: BiometricHeader;
  readonly data: Uint8Array;
}

/** ICAO header version 01 01. */
export const ICAO_HEADER_VERSION: Uint8Array = new Uint8Array([0x01, 0x01]);

/**
 * CBEFF subtype of a finger (ISO/IEC 19785-1 §6.5.7): b1-b2 side (01 right, 10 left), b3-b5 the
 * finger (1 thumb … 5 little). Position codes are those of ISO/IEC 19794-2 (1–5 right, 6–10 left).
 *
 * @example fingerSubtype(7) // 0x0a: left index
 */
export function fingerSubtype(position: number): number {
  if (position < 1 || position > 10) return 0;
  const side = position <= 5 ? 0x01 : 0x02;
  const finger = ((position - 1) % 5) + 1;
  return (finger << 2) | side;
}

function encodeHeader(h: BiometricHeader): Uint8Array {
  const parts: Uint8Array[] = [];
  if (h.icaoVersion !== undefined) parts.push(encodeTlv(0x80, h.icaoVersion));
  if (h.biometricType !== undefined) parts.push(encodeTlv(0x81, uintToBytes(h.biometricType)));
  if (h.subtype !== undefined) parts.push(encodeTlv(0x82, uintToBytes(h.subtype)));
  if (h.creationDate !== undefined) parts.push(encodeTlv(0x83, h.creationDate));
  if (h.validityPeriod !== undefined) parts.push(encodeTlv(0x85, h.validityPeriod));
  if (h.creator !== undefined) parts.push(encodeTlv(0x86, h.creator));
  if (h.formatOwner > 0xffff || h.formatType > 0xffff) throw new LdsError('biometric header: format owner and type are 2 bytes each');
  parts.push(encodeTlv(0x87, uintToBytes(h.formatOwner, 2)), encodeTlv(0x88, uintToBytes(h.formatType, 2)));
  return tlvConstructed(TAG_BIOMETRIC_HEADER, ...parts);
}

/** The 7F61 group for `templates` (one 7F60 each, numbered by DO 02). */
export function encodeBiometricGroup(templates: readonly BiometricTemplate[]): Uint8Array {
  if (templates.length > 255) throw new LdsError(`biometric group: at most 255 templates, got ${templates.length}`);
  const bits = templates.map((t) => tlvConstructed(TAG_BIOMETRIC_TEMPLATE, encodeHeader(t.header), encodeTlv(TAG_BIOMETRIC_DATA, t.data)));
  return tlvConstructed(TAG_BIOMETRIC_GROUP, encodeTlv(0x02, new Uint8Array([templates.length])), ...bits);
}

function one(list: readonly Tlv[], tag: number, what: string, required: true): Tlv;
function one(list: readonly Tlv[], tag: number, what: string, required: false): Tlv | undefined;
function one(list: readonly Tlv[], tag: number, what: string, required: boolean): Tlv | undefined {
  const found = list.filter((t) => t.tag === tag);
  if (found.length > 1) throw new LdsError(`${what}: DO ${tag.toString(16).toUpperCase()} appears ${found.length} times`);
  if (required && found.length === 0) throw new LdsError(`${what}: DO ${tag.toString(16).toUpperCase()} is missing`);
  return found[0];
}

function int(t: Tlv | undefined, what: string, max: number): number | undefined {
  if (t === undefined) return undefined;
  if (t.value.length < 1 || t.value.length > max) throw new LdsError(`${what}: DO ${t.tag.toString(16).toUpperCase()} must be 1..${max} bytes`);
  return readUintBE(t.value);
}

const HEADER_TAGS: ReadonlySet<number> = new Set([0x80, 0x81, 0x82, 0x83, 0x85, 0x86, 0x87, 0x88]);

function decodeHeader(t: Tlv, what: string): BiometricHeader {
  const kids = t.children ?? [];
  for (const k of kids) {
    if (!HEADER_TAGS.has(k.tag)) throw new LdsError(`${what} header: DO ${k.tag.toString(16).toUpperCase()} is not a biometric header element ICAO 9303-10 uses`);
  }
  const copy = (x: Tlv | undefined): Uint8Array | undefined => x?.value.slice();
  const h: { -readonly [K in keyof BiometricHeader]: BiometricHeader[K] } = {
    formatOwner: int(one(kids, 0x87, `${what} header`, true), `${what} header`, 2)!,
    formatType: int(one(kids, 0x88, `${what} header`, true), `${what} header`, 2)!,
  };
  const v = copy(one(kids, 0x80, what, false));
  if (v !== undefined) h.icaoVersion = v;
  const bt = int(one(kids, 0x81, what, false), `${what} header`, 3);
  if (bt !== undefined) h.biometricType = bt;
  const st = int(one(kids, 0x82, what, false), `${what} header`, 1);
  if (st !== undefined) h.subtype = st;
  const cd = copy(one(kids, 0x83, what, false));
  if (cd !== undefined) h.creationDate = cd;
  const vp = copy(one(kids, 0x85, what, false));
  if (vp !== undefined) h.validityPeriod = vp;
  const cr = copy(one(kids, 0x86, what, false));
  if (cr !== undefined) h.creator = cr;
  return h;
}

/**
 * The templates of a 7F61 group found inside a data group's children. `what` names the data
 * group in messages ("DG2").
 */
export function decodeBiometricGroup(group: Tlv, what: string): BiometricTemplate[] {
  if (group.tag !== TAG_BIOMETRIC_GROUP) throw new LdsError(`${what}: expected the biometric information group template 7F61`);
  const kids = group.children ?? [];
  const count = int(one(kids, 0x02, what, true), what, 1)!;
  const bits = kids.filter((k) => k.tag === TAG_BIOMETRIC_TEMPLATE);
  const others = kids.filter((k) => k.tag !== TAG_BIOMETRIC_TEMPLATE && k.tag !== 0x02);
  if (others.length > 0) throw new LdsError(`${what}: unexpected DO ${others[0]!.tag.toString(16).toUpperCase()} in 7F61`);
  if (bits.length !== count) throw new LdsError(`${what}: DO 02 announces ${count} biometric templates, ${bits.length} present`);
  return bits.map((bit, i) => {
    const w = `${what} template ${i + 1}`;
    const parts = bit.children ?? [];
    const header = decodeHeader(one(parts, TAG_BIOMETRIC_HEADER, w, true), w);
    if (parts.some((p) => p.tag === TAG_BIOMETRIC_DATA_ENCIPHERED)) {
      throw new LdsError(`${w}: the biometric data block is enciphered (7F2E), which chipwright does not read`);
    }
    const data = one(parts, TAG_BIOMETRIC_DATA, w, true);
    if (parts.length !== 2) throw new LdsError(`${w}: expected exactly A1 and 5F2E in 7F60`);
    return { header, data: data.value.slice() };
  });
}

/** A biometric data group (DG2 '75', DG3 '63') holding one 7F61 group of `templates`. */
export function biometricDataGroup(tag: number, templates: readonly BiometricTemplate[]): Uint8Array {
  return tlvConstructed(tag, encodeBiometricGroup(templates));
}

/** The ISO/IEC 19794 format a data group's templates must have, named for messages. */
export interface BiometricFormat {
  /** Format type under owner 0101 (ISO/IEC JTC 1/SC 37), e.g. {@link FORMAT_TYPE}.FACE_IMAGE. */
  readonly type: number;
  /** "ISO/IEC 19794-5 face image". */
  readonly name: string;
  /** Said after a refusal, e.g. why another format of the same modality is not read. */
  readonly note?: string;
}

/**
 * Decodes a biometric data group (ICAO 9303-10 §4.7.2–4.7.4): the file's template `tag` holding
 * exactly one 7F61 group, every template of which has format owner 0101 and `format.type`; each
 * data block is decoded by `decodeRecord`, whose {@link LdsError}s are prefixed with the template.
 * `what` names the data group in messages ("DG2").
 *
 * @example decodeBiometricDataGroup(dg2, 0x75, 'DG2', { type: 0x0008, name: 'face' }, decodeFaceRecord)
 */
export function decodeBiometricDataGroup<R>(
  bytes: Uint8Array,
  tag: number,
  what: string,
  format: BiometricFormat,
  decodeRecord: (data: Uint8Array) => R,
): { readonly template: BiometricTemplate; readonly record: R }[] {
  const t = openTemplate(bytes, tag, what);
  if (t.children!.length !== 1) throw new LdsError(`${what}: expected exactly one biometric information group template (7F61)`);
  const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
  return decodeBiometricGroup(t.children![0]!, what).map((template, i) => {
    const h = template.header;
    if (h.formatOwner !== FORMAT_OWNER_SC37 || h.formatType !== format.type) {
      const note = format.note === undefined ? '' : `; ${format.note}`;
      throw new LdsError(`${what} template ${i + 1}: format ${hex4(h.formatOwner)}/${hex4(h.formatType)} is not 0101/${hex4(format.type)} (${format.name})${note}`);
    }
    try {
      return { template, record: decodeRecord(template.data) };
    } catch (e) {
      if (e instanceof LdsError) throw new LdsError(`${what} template ${i + 1}: ${e.message}`);
      throw e;
    }
  });
}
