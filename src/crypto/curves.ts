/**
 * Elliptic-curve groups for PACE (ICAO 9303-11 §4.4, §9.5) and, later, Chip Authentication: the
 * standardized domain parameters of ICAO 9303-11 §9.5.1 (= BSI TR-03110-3 §A.2.1.1, Table 4) that
 * @noble/curves ships, and explicit curves (`ECParameters`, RFC 3279 §2.3.5) built with its
 * `weierstrass()`.
 *
 * Speed: a variable-point multiplication in pure JavaScript (@noble/curves) costs several
 * milliseconds on a modest CPU, and a PACE handshake needs about a dozen of them. For the named
 * curves OpenSSL (through `node:crypto` ECDH) multiplies 2–10× faster but only hands out the
 * x-coordinate of k·P. {@link EcGroup.multiply} therefore asks OpenSSL for x(k·P) and
 * x(k·(P+G)) = x(k·P + k·G), and recovers y(k·P) with the Okeya–Sakurai formula (CHES 2001 §3,
 * "y-coordinate recovery"): given M = k·G = (xm, ym), Q = k·P = (x1, ?) and x2 = x(Q + M),
 *
 *     y1 = [x1³ + xm³ + a(x1 + xm) + 2b − (x2 + x1 + xm)(x1 − xm)²] / (2·ym)
 *
 * which is the point-addition law solved for y1. The result is checked against the curve
 * equation, and every degenerate case (Q = ±M, P = −G) falls back to noble, so the answer is the
 * same point either way — the tests compare both paths.
 *
 * Secrets: scalars arrive as `bigint` (which cannot be wiped); the byte copies made here for
 * OpenSSL are zeroized after use. No error message contains a scalar or a point.
 *
 * @example
 * const g = standardizedGroup(13)!; // brainpoolP256r1
 * const pk = g.encodePoint(g.baseMultiply(sk));
 */
import { createECDH } from 'node:crypto';
import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 } from '@noble/curves/misc.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { weierstrass, type WeierstrassPoint, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import { ByteInputError, zeroize } from '../bytes/index.js';

/** A curve point (projective internally; affine on encoding). */
export type EcPoint = WeierstrassPoint<bigint>;

/** An invalid point or scalar from outside (wrong encoding, not on the curve, infinity). */
export class EcPointError extends Error {
  override readonly name = 'EcPointError';
}

/** Curve constants of a short Weierstrass curve y² = x³ + ax + b over GF(p), group order n·h. */
export interface CurveParameters {
  readonly p: bigint;
  readonly a: bigint;
  readonly b: bigint;
  readonly n: bigint;
  readonly h: bigint;
  readonly Gx: bigint;
  readonly Gy: bigint;
}

/**
 * One elliptic-curve group with the operations PACE needs. All scalars are reduced mod n by the
 * caller and must be in [1, n−1].
 */
export interface EcGroup {
  /** "brainpoolP256r1", "NIST P-256", or "explicit" for custom parameters. */
  readonly name: string;
  readonly curve: CurveParameters;
  /** Bytes of one field element (the length of x, y and of the ECDH shared secret). */
  readonly fieldLength: number;
  /** Bytes of a scalar (private key): ⌈log₂ n / 8⌉. */
  readonly orderLength: number;
  readonly Point: WeierstrassPointCons<bigint>;
  /** k·G. */
  baseMultiply(k: bigint): EcPoint;
  /** k·P for a validated point P. */
  multiply(k: bigint, p: EcPoint): EcPoint;
  /** x(k·P), `fieldLength` bytes (the ECDH shared secret of ICAO 9303-11 §9.6, BSI TR-03111 §4.3.1). */
  sharedX(k: bigint, p: EcPoint): Uint8Array;
  /** Uncompressed encoding 04 ‖ x ‖ y (BSI TR-03111 §3.2.1). */
  encodePoint(p: EcPoint): Uint8Array;
  /**
   * Decodes an uncompressed point and checks it is on the curve and not the point at infinity
   * (ICAO 9303-11 §4.4.3.3 public key validation). Throws {@link EcPointError}.
   */
  decodePoint(bytes: Uint8Array): EcPoint;
}

/** Standardized domain parameter IDs of ICAO 9303-11 §9.5.1 Table 7 / BSI TR-03110-3 Table 4. */
export const STANDARDIZED_DOMAIN_PARAMETERS: Readonly<Record<number, string>> = Object.freeze({
  0: '1024-bit MODP Group with 160-bit Prime Order Subgroup',
  1: '2048-bit MODP Group with 224-bit Prime Order Subgroup',
  2: '2048-bit MODP Group with 256-bit Prime Order Subgroup',
  8: 'NIST P-192 (secp192r1)',
  9: 'brainpoolP192r1',
  10: 'NIST P-224 (secp224r1)',
  11: 'brainpoolP224r1',
  12: 'NIST P-256 (secp256r1)',
  13: 'brainpoolP256r1',
  14: 'brainpoolP320r1',
  15: 'NIST P-384 (secp384r1)',
  16: 'brainpoolP384r1',
  17: 'brainpoolP512r1',
  18: 'NIST P-521 (secp521r1)',
});

/** Named curves available here: standardized ID → (noble point constructor, OpenSSL name). */
const NAMED: ReadonlyMap<number, { name: string; Point: WeierstrassPointCons<bigint>; openssl: string }> = new Map([
  [12, { name: 'NIST P-256', Point: p256.Point, openssl: 'prime256v1' }],
  [13, { name: 'brainpoolP256r1', Point: brainpoolP256r1.Point, openssl: 'brainpoolP256r1' }],
  [15, { name: 'NIST P-384', Point: p384.Point, openssl: 'secp384r1' }],
  [16, { name: 'brainpoolP384r1', Point: brainpoolP384r1.Point, openssl: 'brainpoolP384r1' }],
  [17, { name: 'brainpoolP512r1', Point: brainpoolP512r1.Point, openssl: 'brainpoolP512r1' }],
  [18, { name: 'NIST P-521', Point: p521.Point, openssl: 'secp521r1' }],
]);

/** IDs of the standardized elliptic-curve domain parameters this module implements. */
export const SUPPORTED_CURVE_IDS: readonly number[] = Object.freeze([...NAMED.keys()]);

const cache = new Map<number, EcGroup>();

/**
 * The group for a standardized domain parameter ID, or `undefined` when it is not an elliptic
 * curve chipwright implements (the MODP groups 0–2 and the 192/224/320-bit curves are not).
 *
 * @example standardizedGroup(13)?.name // 'brainpoolP256r1'
 */
export function standardizedGroup(id: number): EcGroup | undefined {
  const hit = cache.get(id);
  if (hit !== undefined) return hit;
  const named = NAMED.get(id);
  if (named === undefined) return undefined;
  const g = new OpensslGroup(named.name, named.Point, named.openssl);
  cache.set(id, g);
  return g;
}

/**
 * A group from explicit curve parameters (PACEDomainParameterInfo with `ECParameters`, BSI
 * TR-03110-3 §A.2.1.2), computed entirely with @noble/curves. The parameters are checked the way
 * noble checks them (G on the curve, field sizes); primality of p and n is the issuer's concern.
 *
 * @example customGroup({ p, a, b, n, h: 1n, Gx, Gy })
 */
export function customGroup(params: CurveParameters): EcGroup {
  let Point: WeierstrassPointCons<bigint>;
  try {
    Point = weierstrass({ ...params });
  } catch (e) {
    throw new ByteInputError(`curve parameters: ${e instanceof Error ? e.message : String(e)}`);
  }
  return new NobleGroup('explicit', Point);
}

/** Pure-JavaScript implementation (every operation through @noble/curves). */
class NobleGroup implements EcGroup {
  readonly curve: CurveParameters;
  readonly fieldLength: number;
  readonly orderLength: number;

  constructor(
    readonly name: string,
    readonly Point: WeierstrassPointCons<bigint>,
  ) {
    const c = Point.CURVE();
    this.curve = { p: c.p, a: c.a, b: c.b, n: c.n, h: c.h, Gx: c.Gx, Gy: c.Gy };
    this.fieldLength = Point.Fp.BYTES;
    this.orderLength = Point.Fn.BYTES;
  }

  baseMultiply(k: bigint): EcPoint {
    return this.Point.BASE.multiply(k);
  }

  multiply(k: bigint, p: EcPoint): EcPoint {
    return p.multiply(k);
  }

  sharedX(k: bigint, p: EcPoint): Uint8Array {
    const q = p.multiply(k);
    if (q.is0()) throw new EcPointError('shared secret is the point at infinity');
    return this.Point.Fp.toBytes(q.toAffine().x);
  }

  encodePoint(p: EcPoint): Uint8Array {
    if (p.is0()) throw new EcPointError('cannot encode the point at infinity');
    return p.toBytes(false);
  }

  decodePoint(bytes: Uint8Array): EcPoint {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 1 + 2 * this.fieldLength || bytes[0] !== 0x04) {
      throw new EcPointError(
        `public key: expected an uncompressed point (04 ‖ x ‖ y, ${1 + 2 * this.fieldLength} bytes) on ${this.name}`,
      );
    }
    let p: EcPoint;
    try {
      p = this.Point.fromBytes(bytes);
      p.assertValidity();
    } catch {
      throw new EcPointError(`public key: not a point on ${this.name}`);
    }
    if (p.is0()) throw new EcPointError('public key: the point at infinity');
    return p;
  }
}

/**
 * Named curves: OpenSSL for the multiplications (x-only, y recovered as in the module comment),
 * noble for decoding, validation, addition and the fallbacks.
 */
class OpensslGroup extends NobleGroup {
  constructor(
    name: string,
    Point: WeierstrassPointCons<bigint>,
    private readonly openssl: string,
  ) {
    super(name, Point);
  }

  /** An OpenSSL ECDH context holding `k`; setting the key computes k·G, returned as `m`. */
  private context(k: bigint): { ecdh: ReturnType<typeof createECDH>; m: EcPoint } {
    const d = scalarBytes(k, this.orderLength);
    try {
      const ecdh = createECDH(this.openssl);
      ecdh.setPrivateKey(d);
      const pub = ecdh.getPublicKey();
      return { ecdh, m: this.Point.fromBytes(pub) };
    } finally {
      zeroize(d);
    }
  }

  override baseMultiply(k: bigint): EcPoint {
    return this.context(k).m;
  }

  override sharedX(k: bigint, p: EcPoint): Uint8Array {
    const { ecdh } = this.context(k);
    return new Uint8Array(ecdh.computeSecret(this.encodePoint(p)));
  }

  override multiply(k: bigint, p: EcPoint): EcPoint {
    const { ecdh, m } = this.context(k);
    const pg = p.add(this.Point.BASE);
    if (pg.is0()) return super.multiply(k, p);
    const x1 = bytesToBigint(ecdh.computeSecret(this.encodePoint(p)));
    const x2 = bytesToBigint(ecdh.computeSecret(this.encodePoint(pg)));
    const y1 = recoverY(this.Point, this.curve, m, x1, x2);
    if (y1 === undefined) return super.multiply(k, p);
    return this.Point.fromAffine({ x: x1, y: y1 });
  }
}

/**
 * y of Q = (x1, y1) from M = (xm, ym) and x2 = x(Q + M) (Okeya–Sakurai); `undefined` when Q = ±M
 * (the addition law does not apply) or the result fails the curve equation.
 */
function recoverY(
  Point: WeierstrassPointCons<bigint>,
  c: CurveParameters,
  m: EcPoint,
  x1: bigint,
  x2: bigint,
): bigint | undefined {
  const F = Point.Fp;
  const { x: xm, y: ym } = m.toAffine();
  if (x1 === xm || ym === 0n) return undefined;
  const d = F.sub(x1, xm);
  const num = F.sub(
    F.add(F.add(F.add(F.pow(x1, 3n), F.pow(xm, 3n)), F.mul(c.a, F.add(x1, xm))), F.mul(2n, c.b)),
    F.mul(F.add(F.add(x2, x1), xm), F.sqr(d)),
  );
  const y1 = F.mul(num, F.inv(F.mul(2n, ym)));
  const rhs = F.add(F.add(F.pow(x1, 3n), F.mul(c.a, x1)), c.b);
  return F.eql(F.sqr(y1), rhs) ? y1 : undefined;
}

/**
 * Big-endian unsigned bytes → bigint (OS2I, BSI TR-03111 §3.1.2).
 *
 * @example bytesToBigint(hexToBytes('0100')) // 256n
 */
export function bytesToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < bytes.length; i++) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/**
 * A scalar as exactly `length` big-endian bytes (I2OS, BSI TR-03111 §3.1.2); the caller zeroizes.
 *
 * @example scalarBytes(256n, 4) // 00 00 01 00
 */
export function scalarBytes(k: bigint, length: number): Uint8Array {
  if (k < 0n || k >= 1n << BigInt(8 * length)) throw new ByteInputError(`scalar: does not fit in ${length} bytes`);
  const out = new Uint8Array(length);
  let v = k;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Draws a uniformly random scalar in [1, n−1] from `draw` (rejection sampling over ⌈log₂ n⌉-bit
 * candidates). A replayed byte sequence whose first candidate is in range — every published
 * ephemeral key is — is used exactly as given, which is what lets worked examples replay.
 *
 * @example randomScalar(group, (n) => card.rng.bytes(n))
 */
export function randomScalar(group: Pick<EcGroup, 'curve' | 'orderLength'>, draw: (n: number) => Uint8Array): bigint {
  const n = group.curve.n;
  const bits = n.toString(2).length;
  const excess = group.orderLength * 8 - bits;
  for (let i = 0; i < 1000; i++) {
    const b = draw(group.orderLength);
    if (excess > 0) b[0] = b[0]! & (0xff >>> excess);
    const k = bytesToBigint(b);
    zeroize(b);
    if (k > 0n && k < n) return k;
  }
  throw new Error('randomScalar: the random source keeps returning out-of-range values');
}
