/**
 * The face image record of ISO/IEC 19794-5:2005 — the biometric data block DG2 carries (ICAO
 * 9303-10 §4.7.2, which profiles this edition). All integers are big-endian.
 *
 *     Facial Record Header (14 bytes)      'FAC' 00 ‖ version '010' 00 ‖ record length (4) ‖ number of facial images (2)
 *     per image, Facial Information (20)   facial record data length (4) ‖ number of feature points (2) ‖ gender (1) ‖
 *                                          eye colour (1) ‖ hair colour (1) ‖ property mask (3) ‖ expression (2) ‖
 *                                          pose angle yaw, pitch, roll (3) ‖ pose angle uncertainty (3)
 *       Feature Points (8 each)            type (1) ‖ major code (4 bits) minor code (4 bits) ‖ x (2) ‖ y (2) ‖ reserved (2)
 *       Image Information (12)             face image type (1) ‖ image data type (1) ‖ width (2) ‖ height (2) ‖
 *                                          colour space (1) ‖ source type (1) ‖ device type (2) ‖ quality (2)
 *       Image Data                         JPEG (type 0) or JPEG 2000 (type 1)
 *
 * The facial record data length counts the 20 + 8·n + 12 bytes and the image; the record length
 * counts the header and every facial record. Both are checked when decoding, so a truncated or
 * padded block is an {@link LdsError} instead of a silently shortened image.
 *
 * @example
 * const bdb = encodeFaceRecord({ faces: [faceImage(jpegBytes, { width: 240, height: 320 })] });
 * decodeFaceRecord(bdb).faces[0].image // the JPEG bytes
 */
import { Cursor, Writer } from './_cursor.js';
import { LdsError } from './errors.js';

/** 'FAC' 00 and version '010' 00 (ISO/IEC 19794-5:2005 §5.4). */
const FORMAT_ID = 0x46414300;
const VERSION = 0x30313000;
const HEADER_LENGTH = 14;
const INFO_LENGTH = 20;
const FEATURE_POINT_LENGTH = 8;
const IMAGE_INFO_LENGTH = 12;

/** Image data type (§5.7.2): how the image bytes are compressed. */
export const FACE_IMAGE_DATA_TYPE = { JPEG: 0, JPEG2000: 1 } as const;
/** Face image type (§5.7.1): basic, full frontal, token frontal. */
export const FACE_IMAGE_TYPE = { BASIC: 0, FULL_FRONTAL: 1, TOKEN_FRONTAL: 2 } as const;
/** Gender (§5.5.3): unspecified, male, female, unknown. */
export const FACE_GENDER = { UNSPECIFIED: 0, MALE: 1, FEMALE: 2, UNKNOWN: 0xff } as const;

/** A feature point (§5.6): MPEG-4 feature point code major.minor at pixel (x, y). */
export interface FeaturePoint {
  /** 1 = a 2D MPEG-4 feature point; other values reserved. */
  readonly type: number;
  /** Major code 0–15 (e.g. 12 for the eyes: 12.1 left eye centre, 12.2 right eye centre). */
  readonly major: number;
  readonly minor: number;
  readonly x: number;
  readonly y: number;
  /** 2 reserved bytes, kept so a record re-encodes to the same bytes. */
  readonly reserved: number;
}

/** One facial image with its descriptors. */
export interface FacialRecord {
  readonly gender: number;
  readonly eyeColour: number;
  readonly hairColour: number;
  /** Property mask, 24 bits (glasses, moustache, …; §5.5.6). */
  readonly propertyMask: number;
  /** Expression, 16 bits (§5.5.7). */
  readonly expression: number;
  /** Yaw, pitch, roll as encoded (1 byte each, §5.5.8). */
  readonly poseAngle: readonly [number, number, number];
  readonly poseAngleUncertainty: readonly [number, number, number];
  readonly featurePoints: readonly FeaturePoint[];
  readonly imageType: number;
  /** {@link FACE_IMAGE_DATA_TYPE}: 0 JPEG, 1 JPEG 2000. */
  readonly imageDataType: number;
  readonly width: number;
  readonly height: number;
  /** Colour space (§5.7.5): 0 unspecified, 1 24-bit RGB, 2 YUV422, 3 8-bit greyscale. */
  readonly colourSpace: number;
  /** Source type (§5.7.6): 2 digital still camera, 6 static scanner … */
  readonly sourceType: number;
  readonly deviceType: number;
  readonly quality: number;
  readonly image: Uint8Array;
}

export interface FaceRecord {
  readonly faces: readonly FacialRecord[];
}

/**
 * A facial record for `image` with the descriptors of an ICAO portrait: full frontal, digital
 * still camera, pose 0, nothing else specified. Width and height come from the caller (see
 * `imageInfo` in `image-info.ts`).
 */
export function faceImage(
  image: Uint8Array,
  opts: { width: number; height: number; imageDataType?: number; gender?: number; featurePoints?: readonly FeaturePoint[]; colourSpace?: number },
): FacialRecord {
  return {
    gender: opts.gender ?? FACE_GENDER.UNSPECIFIED,
    eyeColour: 0,
    hairColour: 0,
    propertyMask: 0,
    expression: 0,
    poseAngle: [0, 0, 0],
    poseAngleUncertainty: [0, 0, 0],
    featurePoints: opts.featurePoints ?? [],
    imageType: FACE_IMAGE_TYPE.FULL_FRONTAL,
    imageDataType: opts.imageDataType ?? FACE_IMAGE_DATA_TYPE.JPEG,
    width: opts.width,
    height: opts.height,
    colourSpace: opts.colourSpace ?? 1,
    sourceType: 2,
    deviceType: 0,
    quality: 0,
    image,
  };
}

function encodeFacial(w: Writer, f: FacialRecord, i: number): void {
  const what = `face ${i + 1}`;
  if (f.featurePoints.length > 0xffff) throw new LdsError(`ISO/IEC 19794-5 ${what}: at most 65535 feature points`);
  if (f.imageDataType !== FACE_IMAGE_DATA_TYPE.JPEG && f.imageDataType !== FACE_IMAGE_DATA_TYPE.JPEG2000) {
    throw new LdsError(`ISO/IEC 19794-5 ${what}: image data type ${f.imageDataType} is not 0 (JPEG) or 1 (JPEG 2000), which ICAO 9303-10 allows`);
  }
  const length = INFO_LENGTH + FEATURE_POINT_LENGTH * f.featurePoints.length + IMAGE_INFO_LENGTH + f.image.length;
  w.u32(length, `${what} facial record data length`)
    .u16(f.featurePoints.length, `${what} number of feature points`)
    .u8(f.gender, `${what} gender`)
    .u8(f.eyeColour, `${what} eye colour`)
    .u8(f.hairColour, `${what} hair colour`)
    .u24(f.propertyMask, `${what} property mask`)
    .u16(f.expression, `${what} expression`);
  for (const [k, v] of f.poseAngle.entries()) w.u8(v, `${what} pose angle ${k}`);
  for (const [k, v] of f.poseAngleUncertainty.entries()) w.u8(v, `${what} pose angle uncertainty ${k}`);
  for (const [k, p] of f.featurePoints.entries()) {
    const pw = `${what} feature point ${k + 1}`;
    if (!Number.isInteger(p.major) || p.major < 0 || p.major > 15 || !Number.isInteger(p.minor) || p.minor < 0 || p.minor > 15) {
      throw new LdsError(`ISO/IEC 19794-5 ${pw}: major and minor codes must be 0..15, got ${p.major}.${p.minor}`);
    }
    w.u8(p.type, `${pw} type`).u8((p.major << 4) | p.minor, `${pw} code`).u16(p.x, `${pw} x`).u16(p.y, `${pw} y`).u16(p.reserved, `${pw} reserved`);
  }
  w.u8(f.imageType, `${what} face image type`)
    .u8(f.imageDataType, `${what} image data type`)
    .u16(f.width, `${what} width`)
    .u16(f.height, `${what} height`)
    .u8(f.colourSpace, `${what} colour space`)
    .u8(f.sourceType, `${what} source type`)
    .u16(f.deviceType, `${what} device type`)
    .u16(f.quality, `${what} quality`)
    .bytes(f.image);
}

/** Encodes a face record (header and every facial record). */
export function encodeFaceRecord(record: FaceRecord): Uint8Array {
  if (record.faces.length > 0xffff) throw new LdsError('ISO/IEC 19794-5 record: at most 65535 facial images');
  const body = new Writer('ISO/IEC 19794-5 record');
  record.faces.forEach((f, i) => encodeFacial(body, f, i));
  const w = new Writer('ISO/IEC 19794-5 record');
  w.u32(FORMAT_ID, 'format identifier').u32(VERSION, 'version').u32(HEADER_LENGTH + body.length, 'record length');
  w.u16(record.faces.length, 'number of facial images').bytes(body.done());
  return w.done();
}

/** Decodes a face record, checking identifier, version and both lengths. */
export function decodeFaceRecord(bytes: Uint8Array): FaceRecord {
  const what = 'ISO/IEC 19794-5 record';
  const c = new Cursor(bytes, what);
  if (c.u32('format identifier') !== FORMAT_ID) throw new LdsError(`${what}: format identifier is not 'FAC' 00`);
  const version = c.u32('version');
  if (version !== VERSION) throw new LdsError(`${what}: version ${version.toString(16).toUpperCase()} is not '010' 00 (ISO/IEC 19794-5:2005)`);
  const length = c.u32('record length');
  if (length !== bytes.length) throw new LdsError(`${what}: record length says ${length} bytes, the block has ${bytes.length}`);
  const count = c.u16('number of facial images');
  const faces: FacialRecord[] = [];
  for (let i = 0; i < count; i++) {
    const fw = `${what} face ${i + 1}`;
    // The facial record data length bounds this face: its fields are read from that slice only.
    const start = c.offset;
    const dataLength = c.u32('facial record data length');
    if (dataLength < INFO_LENGTH + IMAGE_INFO_LENGTH || start + dataLength > bytes.length) {
      throw new LdsError(`${fw}: facial record data length ${dataLength} does not fit the record`);
    }
    const f = new Cursor(bytes.subarray(start + 4, start + dataLength), fw);
    const nPoints = f.u16('number of feature points');
    const gender = f.u8('gender');
    const eyeColour = f.u8('eye colour');
    const hairColour = f.u8('hair colour');
    const propertyMask = f.u24('property mask');
    const expression = f.u16('expression');
    const poseAngle = [f.u8('yaw'), f.u8('pitch'), f.u8('roll')] as const;
    const poseAngleUncertainty = [f.u8('yaw uncertainty'), f.u8('pitch uncertainty'), f.u8('roll uncertainty')] as const;
    const featurePoints: FeaturePoint[] = [];
    for (let k = 0; k < nPoints; k++) {
      const type = f.u8('feature point type');
      const code = f.u8('feature point code');
      featurePoints.push({ type, major: code >>> 4, minor: code & 0x0f, x: f.u16('feature point x'), y: f.u16('feature point y'), reserved: f.u16('feature point reserved') });
    }
    const imageType = f.u8('face image type');
    const imageDataType = f.u8('image data type');
    if (imageDataType !== FACE_IMAGE_DATA_TYPE.JPEG && imageDataType !== FACE_IMAGE_DATA_TYPE.JPEG2000) {
      throw new LdsError(`${fw}: image data type ${imageDataType} is not 0 (JPEG) or 1 (JPEG 2000)`);
    }
    const width = f.u16('width');
    const height = f.u16('height');
    const colourSpace = f.u8('colour space');
    const sourceType = f.u8('source type');
    const deviceType = f.u16('device type');
    const quality = f.u16('quality');
    const image = f.take(f.remaining, 'image data');
    faces.push({
      gender, eyeColour, hairColour, propertyMask, expression, poseAngle, poseAngleUncertainty, featurePoints,
      imageType, imageDataType, width, height, colourSpace, sourceType, deviceType, quality, image,
    });
    c.skip(dataLength - 4, 'facial record');
  }
  if (c.remaining !== 0) throw new LdsError(`${what}: ${c.remaining} byte(s) after the last facial record`);
  return { faces };
}
