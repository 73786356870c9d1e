/**
 * Internal: the 32-bit integers of the purse's records. `bytes/` has `u16` and `readUintBE` but no
 * 4-byte writer or signed reader; these two belong there and move when its owner adds them.
 */
import { readUintBE, uintToBytes } from '../../bytes/index.js';

/** Four bytes, big-endian, of 0..2^32-1 (negative numbers as their two's complement). */
export function u32(v: number): Uint8Array {
  return uintToBytes(v >>> 0, 4);
}

/** A two's-complement 32-bit integer (amounts). */
export function readInt32(b: Uint8Array, offset = 0): number {
  return readUintBE(b, offset, 4) | 0;
}
