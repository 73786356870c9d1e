/**
 * What a face record needs to know about an image: its format (JPEG, ISO/IEC 10918-1; or JPEG
 * 2000, ISO/IEC 15444-1 as a JP2 file or a bare codestream) and its size, read from the headers
 * without decoding pixels.
 *
 * @example imageInfo(jpegBytes) // { format: 'jpeg', width: 240, height: 320, components: 3 }
 */
import { LdsError } from './errors.js';

export interface ImageInfo {
  readonly format: 'jpeg' | 'jpeg2000';
  readonly width: number;
  readonly height: number;
  /** Colour components (1 grey, 3 colour). */
  readonly components: number;
}

const JP2_SIGNATURE = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u32(b: Uint8Array, i: number): number {
  return b[i]! * 0x1000000 + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
}

/** The image format from the first bytes, or undefined. */
export function imageFormat(bytes: Uint8Array): ImageInfo['format'] | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 12 && JP2_SIGNATURE.every((v, i) => bytes[i] === v)) return 'jpeg2000';
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0x4f && bytes[2] === 0xff && bytes[3] === 0x51) return 'jpeg2000';
  return undefined;
}

/** JPEG: the first start-of-frame segment (ISO/IEC 10918-1 §B.2.2). */
function jpegInfo(b: Uint8Array): ImageInfo {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw new LdsError(`JPEG: expected a marker at byte ${i}`);
    const m = b[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0xd9 || m === 0xda) break;
    const len = u16(b, i + 2);
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (i + 10 > b.length) break;
      return { format: 'jpeg', height: u16(b, i + 5), width: u16(b, i + 7), components: b[i + 9]! };
    }
    i += 2 + len;
  }
  throw new LdsError('JPEG: no start-of-frame segment before the scan');
}

/** JPEG 2000: the JP2 image header box (15444-1 §I.5.3.1) or the codestream's SIZ marker (§A.5.1). */
function jp2Info(b: Uint8Array): ImageInfo {
  if (b[0] === 0xff) {
    if (b.length < 42) throw new LdsError('JPEG 2000: codestream too short for its SIZ segment');
    const x = u32(b, 8) - u32(b, 16);
    const y = u32(b, 12) - u32(b, 20);
    return { format: 'jpeg2000', width: x, height: y, components: u16(b, 40) };
  }
  const walk = (start: number, end: number): ImageInfo | undefined => {
    let i = start;
    while (i + 8 <= end) {
      let len = u32(b, i);
      const type = String.fromCharCode(b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!);
      let header = 8;
      if (len === 1) {
        len = u32(b, i + 12);
        header = 16;
      } else if (len === 0) len = end - i;
      if (len < header || i + len > end) return undefined;
      if (type === 'jp2h') return walk(i + header, i + len);
      if (type === 'ihdr' && len >= header + 10) {
        return { format: 'jpeg2000', height: u32(b, i + header), width: u32(b, i + header + 4), components: u16(b, i + header + 8) };
      }
      i += len;
    }
    return undefined;
  };
  const info = walk(0, b.length);
  if (info === undefined) throw new LdsError('JPEG 2000: no image header box (jp2h/ihdr)');
  return info;
}

/** Format and size of a JPEG or JPEG 2000 image; an {@link LdsError} for anything else. */
export function imageInfo(bytes: Uint8Array): ImageInfo {
  const format = imageFormat(bytes);
  if (format === 'jpeg') return jpegInfo(bytes);
  if (format === 'jpeg2000') return jp2Info(bytes);
  throw new LdsError('image: neither JPEG (FF D8 FF) nor JPEG 2000 (a JP2 signature box or FF 4F FF 51)');
}
