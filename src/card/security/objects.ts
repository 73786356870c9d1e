/**
 * Authentication objects (ISO/IEC 7816-4 §7.5, §11.5): PINs/PUKs with retry counters and symmetric
 * keys for EXTERNAL AUTHENTICATE. They live in the DF that owns their reference; a reference with
 * b8 = 0 is global (owned by the MF), b8 = 1 is specific to its DF (ISO/IEC 7816-4 §7.5.2).
 */
import { ByteInputError } from '../../bytes/index.js';

/**
 * How PIN bytes are padded to a fixed length before comparison. `none`: compared as given;
 * `ff` / `00`: the terminal may send the PIN bare or padded to `paddedLength`, both match.
 */
export type PinPadding = 'none' | 'ff' | '00';

export interface PinObject {
  /** Reference as used in P2 of VERIFY (b8 = specific). */
  readonly ref: number;
  /** Human label for traces ("PIN", "PUK", "signature PIN"); never the value. */
  label: string;
  /** The reference data, unpadded. */
  value: Uint8Array;
  minLength: number;
  maxLength: number;
  padding: PinPadding;
  /** Length after padding (used when `padding` is not `none`). */
  paddedLength: number;
  maxTries: number;
  tries: number;
  /** Reference of the PUK that unblocks this PIN (RESET RETRY COUNTER), if any. */
  pukRef: number | undefined;
  /** For a PUK: how many unblocks remain (-1 = unlimited). */
  unblocksLeft: number;
}

export type KeyAlgorithm = '3des' | 'aes';

export interface KeyObject {
  readonly ref: number;
  label: string;
  algorithm: KeyAlgorithm;
  /** Secret value; never logged, never returned by any command. */
  value: Uint8Array;
  maxTries: number;
  tries: number;
}

export interface PinSpec {
  ref: number;
  value: Uint8Array;
  label?: string;
  minLength?: number;
  maxLength?: number;
  padding?: PinPadding;
  paddedLength?: number;
  maxTries?: number;
  pukRef?: number;
  unblocks?: number;
}

/** Builds a PIN object, checking the spec (the PIN value is never put in the message). */
export function newPin(spec: PinSpec): PinObject {
  const minLength = spec.minLength ?? 4;
  const maxLength = spec.maxLength ?? Math.max(minLength, 12);
  const padding = spec.padding ?? 'none';
  const paddedLength = spec.paddedLength ?? (padding === 'none' ? 0 : maxLength);
  const maxTries = spec.maxTries ?? 3;
  if (spec.ref < 0 || spec.ref > 0xff) throw new ByteInputError(`pin.ref: expected a byte, got ${spec.ref}`);
  if (minLength < 1 || maxLength < minLength || maxLength > 64) {
    throw new ByteInputError(`pin ${hexRef(spec.ref)}: lengths ${minLength}..${maxLength} are not 1 <= min <= max <= 64`);
  }
  if (spec.value.length < minLength || spec.value.length > maxLength) {
    throw new ByteInputError(`pin ${hexRef(spec.ref)}: value length must be ${minLength}..${maxLength}`);
  }
  if (padding !== 'none' && paddedLength < maxLength) {
    throw new ByteInputError(`pin ${hexRef(spec.ref)}: paddedLength ${paddedLength} shorter than maxLength ${maxLength}`);
  }
  if (maxTries < 1 || maxTries > 15) throw new ByteInputError(`pin ${hexRef(spec.ref)}: maxTries must be 1..15`);
  return {
    ref: spec.ref,
    label: spec.label ?? 'PIN',
    value: spec.value.slice(),
    minLength,
    maxLength,
    padding,
    paddedLength,
    maxTries,
    tries: maxTries,
    pukRef: spec.pukRef,
    unblocksLeft: spec.unblocks ?? -1,
  };
}

export interface KeySpec {
  ref: number;
  algorithm: KeyAlgorithm;
  value: Uint8Array;
  label?: string;
  maxTries?: number;
}

export function newKey(spec: KeySpec): KeyObject {
  const lengths = spec.algorithm === '3des' ? [16, 24] : [16, 24, 32];
  if (!lengths.includes(spec.value.length)) {
    throw new ByteInputError(`key ${hexRef(spec.ref)}: ${spec.algorithm} needs ${lengths.join('/')} bytes, got ${spec.value.length}`);
  }
  const maxTries = spec.maxTries ?? 10;
  return {
    ref: spec.ref,
    label: spec.label ?? 'key',
    algorithm: spec.algorithm,
    value: spec.value.slice(),
    maxTries,
    tries: maxTries,
  };
}

/**
 * Strips the PIN's padding from what the terminal sent, so both the bare and the padded form
 * verify. Returns `undefined` when the length cannot be a PIN of this object (wrong length).
 */
export function unpadPin(pin: PinObject, sent: Uint8Array): Uint8Array | undefined {
  let v = sent;
  if (pin.padding !== 'none' && sent.length === pin.paddedLength) {
    const pad = pin.padding === 'ff' ? 0xff : 0x00;
    let end = sent.length;
    while (end > 0 && sent[end - 1] === pad) end--;
    v = sent.subarray(0, end);
  }
  if (v.length < pin.minLength || v.length > pin.maxLength) return undefined;
  return v;
}

export function hexRef(ref: number): string {
  return ref.toString(16).toUpperCase().padStart(2, '0');
}
