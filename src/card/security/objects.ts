/**
 * Authentication objects (ISO/IEC 7816-4 §7.5, §11.5): PINs/PUKs with retry counters and symmetric
 * keys for EXTERNAL AUTHENTICATE. They live in the DF that owns their reference; a reference with
 * b8 = 0 is global (owned by the MF), b8 = 1 is specific to its DF (ISO/IEC 7816-4 §7.5.2).
 */
import { ByteInputError } from '../../bytes/index.js';
import { ALWAYS, NEVER, type Condition } from './access.js';

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

// --- asymmetric keys (the card's key store) -------------------------------------------------------

/**
 * What an asymmetric key may be used for; each command checks its own usage before anything else:
 * PSO COMPUTE DIGITAL SIGNATURE `sign`, PSO DECIPHER `decipher` (RSA) or `key-agreement` (ECDH),
 * INTERNAL AUTHENTICATE for client authentication `authenticate`, Active Authentication
 * (ICAO 9303-11 §6.1) `active-authentication`, Chip Authentication (§6.2) `chip-authentication`.
 */
export const ASYMMETRIC_KEY_USAGES = ['sign', 'decipher', 'key-agreement', 'authenticate', 'active-authentication', 'chip-authentication'] as const;
export type AsymmetricKeyUsage = (typeof ASYMMETRIC_KEY_USAGES)[number];

/**
 * An asymmetric key slot of the card's key store (ISO/IEC 7816-8 §5: a private key referenced by
 * MSE DO 84). The slot's kind, size, usage and rules are fixed at personalization; GENERATE
 * ASYMMETRIC KEY PAIR (or loading) fills `publicKey` / `privateKey`. No command ever returns
 * `privateKey`; traces and errors name the key by `ref` and `label` only.
 */
export interface AsymmetricKeyObject {
  /** Key reference (MSE DO 84, INTERNAL AUTHENTICATE P2), 00–FF, unique in its DF. */
  readonly ref: number;
  /** Human label for traces ("signature key"); never key material. */
  label: string;
  readonly type: 'rsa' | 'ec';
  /** RSA modulus length in bits (1024–4096, whole bytes); undefined for EC. */
  readonly bits: number | undefined;
  /** Named curve ('P-256', 'brainpoolP256r1', … see `crypto/asymmetric.ts`); undefined for RSA. */
  readonly curve: string | undefined;
  readonly usage: readonly AsymmetricKeyUsage[];
  /** Algorithm references (MSE DO 80, `card/protocols/mse.ts`) allowed; empty = every one that fits. */
  readonly algorithms: readonly number[];
  /** Condition for using the private key (the access-rule grammar: PIN, KEY, SM, AND, OR). */
  readonly use: Condition;
  /** Condition for GENERATE ASYMMETRIC KEY PAIR on this slot. */
  readonly generate: Condition;
  /**
   * "PIN always": each use of the private key consumes the verification of every PIN that `use`
   * names, so the next use needs a new VERIFY (a signature PIN entered per signature).
   */
  readonly pinAlways: boolean;
  /** Private-key operations done so far (a signature counter); journalled like every write. */
  uses: number;
  /** SubjectPublicKeyInfo (DER); undefined while the slot is empty. */
  publicKey: Uint8Array | undefined;
  /** PKCS#8 DER (RSA) or the scalar d (EC); undefined while the slot is empty. */
  privateKey: Uint8Array | undefined;
}

export interface AsymmetricKeySpec {
  ref: number;
  type: 'rsa' | 'ec';
  /** RSA modulus bits (default 2048). */
  bits?: number;
  /** EC curve (default 'P-256'). */
  curve?: string;
  usage: readonly AsymmetricKeyUsage[];
  label?: string;
  algorithms?: readonly number[];
  /** Default ALWAYS. */
  use?: Condition;
  /** Default NEVER (a channel authenticated with the transport key may still generate during personalization). */
  generate?: Condition;
  pinAlways?: boolean;
}

/**
 * An empty key slot, checked (the values named in the message are public parameters only). Key
 * material is filled by `storeAsymmetricKey` / `generateInSlot` (`card/protocols/key-store.ts`),
 * which check it against the slot.
 *
 * @example newAsymmetricKey({ ref: 0x01, type: 'ec', curve: 'P-256', usage: ['sign'], use: pin(0x81), pinAlways: true })
 */
export function newAsymmetricKey(spec: AsymmetricKeySpec): AsymmetricKeyObject {
  const name = `asymmetric key ${hexRef(spec.ref)}`;
  if (!Number.isInteger(spec.ref) || spec.ref < 0 || spec.ref > 0xff) throw new ByteInputError(`${name}: ref must be a byte`);
  if (spec.type !== 'rsa' && spec.type !== 'ec') throw new ByteInputError(`${name}: type must be 'rsa' or 'ec'`);
  const bits = spec.type === 'rsa' ? (spec.bits ?? 2048) : undefined;
  if (bits !== undefined && (!Number.isInteger(bits) || bits < 1024 || bits > 4096 || bits % 8 !== 0)) {
    throw new ByteInputError(`${name}: RSA bits must be 1024..4096 in whole bytes, got ${bits}`);
  }
  if (spec.type === 'rsa' && spec.curve !== undefined) throw new ByteInputError(`${name}: an RSA key has no curve`);
  if (spec.type === 'ec' && spec.bits !== undefined) throw new ByteInputError(`${name}: an EC key has a curve, not bits`);
  const usage = [...new Set(spec.usage)];
  if (usage.length === 0 || usage.some((u) => !(ASYMMETRIC_KEY_USAGES as readonly string[]).includes(u))) {
    throw new ByteInputError(`${name}: usage must name one or more of ${ASYMMETRIC_KEY_USAGES.join(', ')}`);
  }
  const algorithms = [...(spec.algorithms ?? [])];
  if (algorithms.some((a) => !Number.isInteger(a) || a < 0 || a > 0xff)) throw new ByteInputError(`${name}: algorithm references are bytes`);
  return {
    ref: spec.ref,
    label: spec.label ?? 'key',
    type: spec.type,
    bits,
    curve: spec.type === 'ec' ? (spec.curve ?? 'P-256') : undefined,
    usage,
    algorithms,
    use: spec.use ?? ALWAYS,
    generate: spec.generate ?? NEVER,
    pinAlways: spec.pinAlways ?? false,
    uses: 0,
    publicKey: undefined,
    privateKey: undefined,
  };
}
