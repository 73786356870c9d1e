/**
 * Elliptic-curve groups for PACE (ICAO 9303-11 §4.4, §9.5) and Chip Authentication (§6.2): the
 * standardized domain parameters of ICAO 9303-11 §9.5.1 (= BSI TR-03110-3 §A.2.1.1, Table 4) that
 * @noble/curves ships, and explicit curves (`ECParameters`, RFC 3279 §2.3.5) built with its
 * `weierstrass()`.
 *
 * Speed: a scalar multiplication in pure JavaScript (@noble/curves) costs 1–4 ms on brainpoolP256r1
 * and a PACE handshake needs eight of them, so on the named curves OpenSSL (`node:crypto`) does
 * them; noble keeps decoding, validation and point addition. Node exposes three OpenSSL routes,
 * each a constant-time Montgomery ladder in OpenSSL 3 (`ossl_ec_scalar_mul_ladder`) — that is why
 * they are used for the secret scalars here instead of noble's `multiplyUnsafe`:
 *
 * - k·G, full point: `ECDH.setPrivateKey` computes the public key (≈ 0.3 ms on brainpoolP256r1).
 * - k·P, full point, "explicit generator": a SEC 1 `ECPrivateKey` (SEC 1 v2 §C.4) whose
 *   `ECParameters` (§C.2) are the curve's own p, a, b, n, h = 1 but with P as the base point.
 *   OpenSSL derives the public key k·P on import; `createPublicKey().export()` hands it back
 *   (≈ 0.65 ms: the ladder plus ≈ 0.35 ms of DER decoding and encoding in OpenSSL's framework; the private key's own SEC 1 export would cost a tenth of
 *   the SubjectPublicKeyInfo export, but OpenSSL leaves out a public key its import did not have). Exact because every point ≠ O of a prime-order curve (h = 1, all named curves
 *   here) generates the whole group, so (p, a, b, P, n, 1) are valid domain parameters.
 * - x(k·P) only: `ECDH.computeSecret`. Node checks the whole key pair before each call
 *   (`EC_KEY_check_key`: n·Q and k·G once more), so it costs about three ladders (≈ 0.9 ms) and the
 *   explicit-generator route beats it for x-only results too.
 *
 * Constant time: every secret scalar goes through one of these ladders. What noble still does with
 * secret-derived values — the addition M + R in `mappedPublicKey`, y recovery below — is BigInt
 * arithmetic whose timing is not data-independent; the scalars themselves never reach it.
 *
 * NIST P-256 is the exception: OpenSSL multiplies on the named P-256 with a dedicated
 * implementation (ecp_nistz256, ≈ 0.04 ms for k·G, 0.14 ms for x(k·P)) that a custom base point
 * does not reach, so P-256 gets k·P from two x-only results and y-coordinate recovery
 * (Okeya–Sakurai, CHES 2001 §3): with M = k·G = (xm, ym), Q = k·P = (x1, ?), x2 = x(k·(P + G)) =
 * x(Q + M),
 *
 *     y1 = [x1³ + xm³ + a(x1 + xm) + 2b − (x2 + x1 + xm)(x1 − xm)²] / (2·ym)
 *
 * which is the point-addition law solved for y1. That route is also the fallback when an OpenSSL
 * refuses explicit parameters; its degenerate cases (Q = ±M, P = −G) fall back to noble. Every
 * route yields the same point — test/curves.test.ts compares them with noble's `multiply`.
 *
 * Secrets: scalars arrive as `bigint` (which cannot be wiped); the byte copies made here for
 * OpenSSL (raw scalars and the DER holding one) are zeroized after use. No error message contains
 * a scalar or a point.
 *
 * @example
 * const g = standardizedGroup(13)!; // brainpoolP256r1
 * const pk = g.encodePoint(g.baseMultiply(sk));
 */
import { createECDH, createPrivateKey, createPublicKey } from 'node:crypto';
import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 } from '@noble/curves/misc.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { weierstrass, type WeierstrassPoint, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import { ByteInputError, zeroize } from '../bytes/index.js';
import { derExplicit, derInteger, derOctetString, derOid, derSequence } from '../tlv/der.js';

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

/**
 * How a named curve gets k·P for a variable point P (module comment): through an explicit-generator
 * key, or from x-only ECDH results and y recovery (P-256, whose named-curve code is far faster).
 */
type VariableBase = 'explicit-generator' | 'x-only';

/** Named curves available here: standardized ID → (noble point constructor, OpenSSL name). */
const NAMED: ReadonlyMap<number, { name: string; Point: WeierstrassPointCons<bigint>; openssl: string; variable: VariableBase }> = new Map([
  [12, { name: 'NIST P-256', Point: p256.Point, openssl: 'prime256v1', variable: 'x-only' }],
  [13, { name: 'brainpoolP256r1', Point: brainpoolP256r1.Point, openssl: 'brainpoolP256r1', variable: 'explicit-generator' }],
  [15, { name: 'NIST P-384', Point: p384.Point, openssl: 'secp384r1', variable: 'explicit-generator' }],
  [16, { name: 'brainpoolP384r1', Point: brainpoolP384r1.Point, openssl: 'brainpoolP384r1', variable: 'explicit-generator' }],
  [17, { name: 'brainpoolP512r1', Point: brainpoolP512r1.Point, openssl: 'brainpoolP512r1', variable: 'explicit-generator' }],
  [18, { name: 'NIST P-521', Point: p521.Point, openssl: 'secp521r1', variable: 'explicit-generator' }],
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
  const g = new OpensslGroup(named.name, named.Point, named.openssl, named.variable);
  cache.set(id, g);
  return g;
}

/**
 * The named group on the x-only route whatever the curve — what an OpenSSL that refuses explicit
 * parameters leaves; a separate instance, for tests that compare the routes.
 *
 * @example xOnlyGroup(13)!.multiply(k, p) // same point as standardizedGroup(13)!.multiply(k, p)
 */
export function xOnlyGroup(id: number): EcGroup | undefined {
  const named = NAMED.get(id);
  return named === undefined ? undefined : new OpensslGroup(named.name, named.Point, named.openssl, 'x-only');
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
    const known = encodings.get(p);
    if (known !== undefined) return known.slice();
    if (p.is0()) throw new EcPointError('cannot encode the point at infinity');
    // Normalized first: noble's toBytes() inverts Z twice (validity check, then encoding), and an
    // inversion costs as much as the rest of a point addition.
    const bytes = this.Point.fromAffine(p.toAffine()).toBytes(false);
    encodings.set(p, bytes.slice());
    return bytes;
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
    encodings.set(p, bytes.slice());
    return p;
  }

  /** A point from an uncompressed encoding OpenSSL produced, remembering that encoding. */
  protected fromOpenssl(bytes: Uint8Array): EcPoint {
    const p = this.Point.fromBytes(bytes);
    encodings.set(p, bytes.slice());
    return p;
  }
}

/**
 * Encodings already known, by point: most points of a handshake arrive as bytes (from the peer or
 * from OpenSSL) and are encoded again later (tokens, the next OpenSSL call), which would cost a
 * field-to-bytes conversion each time. Points are immutable, so the encoding cannot go stale.
 */
const encodings = new WeakMap<EcPoint, Uint8Array>();

/**
 * Named curves: OpenSSL for the multiplications (the routes of the module comment), noble for
 * decoding, validation, addition and the fallbacks.
 */
class OpensslGroup extends NobleGroup {
  /** The explicit-generator key skeleton; `null` once OpenSSL refused explicit parameters. */
  #explicit: ExplicitKeyTemplate | null | undefined;

  constructor(
    name: string,
    Point: WeierstrassPointCons<bigint>,
    private readonly openssl: string,
    variable: VariableBase,
  ) {
    super(name, Point);
    this.#explicit = variable === 'explicit-generator' ? undefined : null;
  }

  /** An OpenSSL ECDH context holding `k`; setting the key computes k·G, returned as `m`. */
  private context(k: bigint): { ecdh: ReturnType<typeof createECDH>; m: EcPoint } {
    const d = scalarBytes(k, this.orderLength);
    try {
      const ecdh = createECDH(this.openssl);
      ecdh.setPrivateKey(d);
      return { ecdh, m: this.fromOpenssl(ecdh.getPublicKey()) };
    } finally {
      zeroize(d);
    }
  }

  override baseMultiply(k: bigint): EcPoint {
    return this.context(k).m;
  }

  override sharedX(k: bigint, p: EcPoint): Uint8Array {
    const q = this.explicitMultiply(k, p);
    if (q !== undefined) return q.slice(1, 1 + this.fieldLength);
    const { ecdh } = this.context(k);
    return new Uint8Array(ecdh.computeSecret(this.encodePoint(p)));
  }

  override multiply(k: bigint, p: EcPoint): EcPoint {
    const q = this.explicitMultiply(k, p);
    if (q !== undefined) return this.fromOpenssl(q);
    const { ecdh, m } = this.context(k);
    const pg = p.add(this.Point.BASE);
    if (pg.is0()) return super.multiply(k, p);
    const x1 = bytesToBigint(ecdh.computeSecret(this.encodePoint(p)));
    const x2 = bytesToBigint(ecdh.computeSecret(this.encodePoint(pg)));
    const y1 = recoverY(this.Point, this.curve, m, x1, x2);
    if (y1 === undefined) return super.multiply(k, p);
    return this.Point.fromAffine({ x: x1, y: y1 });
  }

  /**
   * k·P encoded (04 ‖ x ‖ y) through a key whose explicit domain parameters have P as base point
   * (module comment); `undefined` when this curve does not take that route or OpenSSL refuses
   * explicit parameters (then never tried again for this group).
   */
  private explicitMultiply(k: bigint, p: EcPoint): Uint8Array | undefined {
    if (this.#explicit === undefined) this.#explicit = explicitKeyTemplate(this.curve, this.fieldLength, this.orderLength);
    const t = this.#explicit;
    if (t === null) return undefined;
    const der = t.der.slice();
    const d = scalarBytes(k, this.orderLength);
    der.set(d, t.scalarAt);
    zeroize(d);
    der.set(this.encodePoint(p), t.baseAt);
    let spki: Uint8Array;
    try {
      const key = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'sec1' });
      spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
    } catch {
      // Built without explicit-curve support (OPENSSL_NO_EC_EXPLICIT_CURVES) or a policy that
      // refuses them: the x-only route gives the same point.
      this.#explicit = null;
      return undefined;
    } finally {
      zeroize(der);
    }
    // SubjectPublicKeyInfo (RFC 5480 §2.2) ends with the BIT STRING subjectPublicKey: no unused
    // bits, then the point 04 ‖ x ‖ y (SEC 1 §2.3.3). Anything else (a compressed form): x-only route.
    const len = 1 + 2 * this.fieldLength;
    if (spki.length < len + 1 || spki[spki.length - len] !== 0x04 || spki[spki.length - len - 1] !== 0x00) {
      this.#explicit = null;
      return undefined;
    }
    const q = new Uint8Array(spki.subarray(spki.length - len));
    // For sharedX the point is the ECDH secret: wipe OpenSSL's copy that we were handed. (The key
    // objects keep the scalar inside OpenSSL until collected; OpenSSL clears it when freeing.)
    spki.fill(0);
    return q;
  }
}

/** A DER `ECPrivateKey` with explicit parameters and two holes: the scalar and the base point. */
interface ExplicitKeyTemplate {
  readonly der: Uint8Array;
  /** Offset of the `privateKey` octets (`orderLength` bytes). */
  readonly scalarAt: number;
  /** Offset of the base point 04 ‖ x ‖ y. */
  readonly baseAt: number;
}

/**
 * SEC 1 v2 §C.4 `ECPrivateKey { version 1, privateKey, [0] ECParameters }` with the explicit
 * `ECParameters` of §C.2 (`version 1, fieldID prime-field p, curve {a, b}, base, order, cofactor 1`)
 * — cofactor 1 stated, so OpenSSL takes its constant-time ladder instead of guessing h. The public
 * key [1] is left out so that OpenSSL computes it.
 */
function explicitKeyTemplate(c: CurveParameters, fieldLength: number, orderLength: number): ExplicitKeyTemplate {
  // Base point (0, 0) as the hole: 04 and zeros, filled in per multiplication.
  const explicitParams = derExplicit(0, encodeEcParameters({ ...c, Gx: 0n, Gy: 0n, h: 1n }, fieldLength));
  const der = derSequence(derInteger(1), derOctetString(new Uint8Array(orderLength)), explicitParams);
  // The scalar ends right before [0]; the base point ends right before order and cofactor, which
  // end the DER.
  const tailLength = derInteger(c.n).length + derInteger(1n).length;
  const scalarAt = der.length - explicitParams.length - orderLength;
  const baseAt = der.length - tailLength - (1 + 2 * fieldLength);
  return { der, scalarAt, baseAt };
}

/** id-prime-field (RFC 3279 §2.3.5, ANSI X9.62). */
export const PRIME_FIELD_OID = '1.2.840.10045.1.1';

/**
 * DER of ECParameters (RFC 3279 §2.3.5: version 1, prime field p, curve a and b, base point,
 * order, cofactor) with explicit prime-field parameters, field elements as `fieldLength`-byte
 * octet strings (BSI TR-03111 §3.1.3) — the form DG14s carry and explicit-generator keys use.
 *
 * @example encodeEcParameters(curve, 32) // 30 81 E0 02 01 01 30 2C 06 07 2A8648CE3D0101 …
 */
export function encodeEcParameters(curve: CurveParameters, fieldLength: number): Uint8Array {
  const base = new Uint8Array(1 + 2 * fieldLength);
  base[0] = 0x04;
  base.set(scalarBytes(curve.Gx, fieldLength), 1);
  base.set(scalarBytes(curve.Gy, fieldLength), 1 + fieldLength);
  return derSequence(
    derInteger(1),
    derSequence(derOid(PRIME_FIELD_OID), derInteger(curve.p)),
    derSequence(derOctetString(scalarBytes(curve.a, fieldLength)), derOctetString(scalarBytes(curve.b, fieldLength))),
    derOctetString(base),
    derInteger(curve.n),
    derInteger(curve.h),
  );
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
