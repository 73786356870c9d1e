/**
 * The finger minutiae record of ISO/IEC 19794-2:2005 (record format, §7) — the biometric data
 * block chipwright puts in DG3. All integers are big-endian.
 *
 *     Record header (24 bytes)   'FMR' 00 ‖ version ' 20' 00 ‖ record length (4) ‖ capture equipment
 *                                compliance (4 bits) and ID (12 bits) ‖ image width (2) ‖ image height (2) ‖
 *                                x resolution (2) ‖ y resolution (2) (pixels per cm) ‖ number of finger views (1) ‖ reserved 00
 *     per finger view (4 bytes)  finger position (1) ‖ view number (4 bits) impression type (4 bits) ‖
 *                                finger quality (1) ‖ number of minutiae (1)
 *       minutiae (6 each)        type (2 bits) x (14 bits) ‖ reserved (2 bits) y (14 bits) ‖ angle (1) ‖ quality (1)
 *       extended data            block length (2) ‖ data (0 = none)
 *
 * Angles are in units of 360/256 degrees, counter-clockwise from the x axis (§7.4.1.4); minutia
 * types are 01 ridge ending, 10 bifurcation, 00 other. Finger positions are those of ISO/IEC
 * 19794-2 Table 2 ({@link FINGER_POSITIONS}).
 *
 * @example
 * const fmr = encodeFingerMinutiaeRecord({ ...FMR_DEFAULTS, views: [{ position: 1, viewNumber: 0, impressionType: 0, quality: 80,
 *   minutiae: [{ type: 'ending', x: 100, y: 120, angle: 64, quality: 90 }], extendedData: new Uint8Array(0) }] });
 */
import { Cursor, Writer } from './_cursor.js';
import { LdsError } from './errors.js';

const FORMAT_ID = 0x464d5200; // 'FMR' 00
const VERSION = 0x20323000; // ' 20' 00
const HEADER_LENGTH = 24;

/**
 * Finger positions (ISO/IEC 19794-2:2005 Table 2, shared with 19794-4): the index is the code.
 * chipwright's holder documents use these names.
 */
export const FINGER_POSITIONS = [
  'unknown',
  'right-thumb',
  'right-index',
  'right-middle',
  'right-ring',
  'right-little',
  'left-thumb',
  'left-index',
  'left-middle',
  'left-ring',
  'left-little',
] as const;
export type FingerPositionName = (typeof FINGER_POSITIONS)[number];

/** Impression types (§7.4.1.2): 0 live-scan plain, 1 live-scan rolled, 2/3 non-live-scan, 8 swipe. */
export const IMPRESSION_TYPES = {
  'live-scan-plain': 0,
  'live-scan-rolled': 1,
  'nonlive-scan-plain': 2,
  'nonlive-scan-rolled': 3,
  swipe: 8,
} as const;
export type ImpressionTypeName = keyof typeof IMPRESSION_TYPES;

const MINUTIA_TYPES = ['other', 'ending', 'bifurcation'] as const;
export type MinutiaType = (typeof MINUTIA_TYPES)[number];

export interface Minutia {
  readonly type: MinutiaType;
  /** Pixels from the left, 0–16383. */
  readonly x: number;
  /** Pixels from the top, 0–16383. */
  readonly y: number;
  /** 0–255 in units of 1.40625°. */
  readonly angle: number;
  /** 0–100 (0 = not reported). */
  readonly quality: number;
}

export interface FingerView {
  /** 0–10, see {@link FINGER_POSITIONS}. */
  readonly position: number;
  /** 0–15: several views of one finger are numbered. */
  readonly viewNumber: number;
  readonly impressionType: number;
  /** 0–100. */
  readonly quality: number;
  readonly minutiae: readonly Minutia[];
  /** Extended data (ridge counts, cores and deltas, §7.5) kept as bytes; empty = none. */
  readonly extendedData: Uint8Array;
}

export interface FingerMinutiaeRecord {
  /** Capture equipment certification flags, 4 bits. */
  readonly equipmentCompliance: number;
  /** Capture device type ID, 12 bits (0 = unreported). */
  readonly equipmentId: number;
  readonly imageWidth: number;
  readonly imageHeight: number;
  /** Pixels per centimetre (197 ≈ 500 dpi). */
  readonly resolutionX: number;
  readonly resolutionY: number;
  readonly views: readonly FingerView[];
}

/** Header values of a record from a 500 dpi sensor with nothing else reported. */
export const FMR_DEFAULTS = {
  equipmentCompliance: 0,
  equipmentId: 0,
  imageWidth: 0,
  imageHeight: 0,
  resolutionX: 197,
  resolutionY: 197,
} as const;

/** Encodes a finger minutiae record. */
export function encodeFingerMinutiaeRecord(r: FingerMinutiaeRecord): Uint8Array {
  const what = 'ISO/IEC 19794-2 record';
  if (r.views.length > 255) throw new LdsError(`${what}: at most 255 finger views, got ${r.views.length}`);
  const body = new Writer(what);
  r.views.forEach((v, i) => {
    const vw = `view ${i + 1}`;
    if (v.position > 10) throw new LdsError(`${what} ${vw}: finger position ${v.position} is not 0..10`);
    if (v.viewNumber > 15 || v.impressionType > 15) throw new LdsError(`${what} ${vw}: view number and impression type are 4 bits each`);
    if (v.quality > 100) throw new LdsError(`${what} ${vw}: finger quality ${v.quality} is above 100`);
    if (v.minutiae.length > 255) throw new LdsError(`${what} ${vw}: at most 255 minutiae, got ${v.minutiae.length}`);
    body.u8(v.position, `${vw} finger position`)
      .u8((v.viewNumber << 4) | v.impressionType, `${vw} view number / impression type`)
      .u8(v.quality, `${vw} finger quality`)
      .u8(v.minutiae.length, `${vw} number of minutiae`);
    v.minutiae.forEach((m, k) => {
      const mw = `${vw} minutia ${k + 1}`;
      const type = MINUTIA_TYPES.indexOf(m.type);
      if (type < 0) throw new LdsError(`${what} ${mw}: type "${String(m.type)}" is not ${MINUTIA_TYPES.join(', ')}`);
      if (m.x > 0x3fff || m.y > 0x3fff) throw new LdsError(`${what} ${mw}: x and y must be 0..16383`);
      if (m.quality > 100) throw new LdsError(`${what} ${mw}: quality ${m.quality} is above 100`);
      body.u16((type << 14) | m.x, `${mw} x`).u16(m.y, `${mw} y`).u8(m.angle, `${mw} angle`).u8(m.quality, `${mw} quality`);
    });
    body.u16(v.extendedData.length, `${vw} extended data length`).bytes(v.extendedData);
  });
  if (r.equipmentCompliance > 15 || r.equipmentId > 0xfff) throw new LdsError(`${what}: capture equipment compliance is 4 bits, its ID 12 bits`);
  const w = new Writer(what);
  w.u32(FORMAT_ID, 'format identifier')
    .u32(VERSION, 'version')
    .u32(HEADER_LENGTH + body.length, 'record length')
    .u16((r.equipmentCompliance << 12) | r.equipmentId, 'capture equipment')
    .u16(r.imageWidth, 'image width')
    .u16(r.imageHeight, 'image height')
    .u16(r.resolutionX, 'x resolution')
    .u16(r.resolutionY, 'y resolution')
    .u8(r.views.length, 'number of finger views')
    .u8(0, 'reserved')
    .bytes(body.done());
  return w.done();
}

/** Decodes and checks a finger minutiae record (identifier, version, length, reserved bits, ranges). */
export function decodeFingerMinutiaeRecord(bytes: Uint8Array): FingerMinutiaeRecord {
  const what = 'ISO/IEC 19794-2 record';
  const c = new Cursor(bytes, what);
  if (c.u32('format identifier') !== FORMAT_ID) throw new LdsError(`${what}: format identifier is not 'FMR' 00`);
  const version = c.u32('version');
  if (version !== VERSION) throw new LdsError(`${what}: version ${version.toString(16).toUpperCase()} is not ' 20' 00 (ISO/IEC 19794-2:2005)`);
  const length = c.u32('record length');
  if (length !== bytes.length) throw new LdsError(`${what}: record length says ${length} bytes, the block has ${bytes.length}`);
  const equipment = c.u16('capture equipment');
  const imageWidth = c.u16('image width');
  const imageHeight = c.u16('image height');
  const resolutionX = c.u16('x resolution');
  const resolutionY = c.u16('y resolution');
  const count = c.u8('number of finger views');
  if (c.u8('reserved') !== 0) throw new LdsError(`${what}: reserved header byte is not 00`);
  const views: FingerView[] = [];
  for (let i = 0; i < count; i++) {
    const vw = `${what} view ${i + 1}`;
    const position = c.u8('finger position');
    if (position > 10) throw new LdsError(`${vw}: finger position ${position} is not 0..10`);
    const vi = c.u8('view number / impression type');
    const quality = c.u8('finger quality');
    if (quality > 100) throw new LdsError(`${vw}: finger quality ${quality} is above 100`);
    const n = c.u8('number of minutiae');
    const minutiae: Minutia[] = [];
    for (let k = 0; k < n; k++) {
      const tx = c.u16('minutia type and x');
      const ry = c.u16('minutia y');
      const type = MINUTIA_TYPES[tx >>> 14];
      if (type === undefined) throw new LdsError(`${vw} minutia ${k + 1}: type bits 11 are reserved`);
      if (ry >>> 14 !== 0) throw new LdsError(`${vw} minutia ${k + 1}: reserved bits of y are not 00`);
      const angle = c.u8('minutia angle');
      const mq = c.u8('minutia quality');
      if (mq > 100) throw new LdsError(`${vw} minutia ${k + 1}: quality ${mq} is above 100`);
      minutiae.push({ type, x: tx & 0x3fff, y: ry, angle, quality: mq });
    }
    const extendedData = c.take(c.u16('extended data length'), 'extended data');
    views.push({ position, viewNumber: vi >>> 4, impressionType: vi & 0x0f, quality, minutiae, extendedData });
  }
  if (c.remaining !== 0) throw new LdsError(`${what}: ${c.remaining} byte(s) after the last finger view`);
  return { equipmentCompliance: equipment >>> 12, equipmentId: equipment & 0xfff, imageWidth, imageHeight, resolutionX, resolutionY, views };
}

/** Degrees (0 ≤ d < 360) → the record's angle unit (360/256 degrees), rounded. */
export function angleFromDegrees(degrees: number): number {
  return Math.round((((degrees % 360) + 360) % 360) / (360 / 256)) % 256;
}

/** The record's angle unit → degrees. */
export function angleToDegrees(angle: number): number {
  return angle * (360 / 256);
}
