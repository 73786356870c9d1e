/** Response APDU codec (ISO/IEC 7816-4 §5.1: response data field followed by SW1-SW2). */
import { ByteInputError, u16Hex, bytesToHex } from '../bytes/index.js';

export interface ResponseApdu {
  readonly data: Uint8Array;
  readonly sw: number;
}

/** Splits a response into data and status word; fewer than two bytes is an error. */
export function parseResponseApdu(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) {
    throw new ByteInputError(`response: expected at least SW1-SW2 (2 bytes), got ${bytes.length}`);
  }
  const n = bytes.length - 2;
  return { data: bytes.subarray(0, n), sw: (bytes[n]! << 8) | bytes[n + 1]! };
}

/** Data followed by SW1-SW2. */
export function encodeResponseApdu(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data);
  out[data.length] = (sw >>> 8) & 0xff;
  out[data.length + 1] = sw & 0xff;
  return out;
}

/** Status word only. */
export function swBytes(sw: number): Uint8Array {
  return new Uint8Array([(sw >>> 8) & 0xff, sw & 0xff]);
}

/** The form `chipwright send` prints: upper-case hex without spaces, SW included. */
export function responseHex(r: ResponseApdu): string {
  return bytesToHex(r.data) + u16Hex(r.sw);
}
