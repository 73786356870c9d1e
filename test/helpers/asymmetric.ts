/**
 * Test helpers for the key store: RSA keys from published (n, e, d), keys generated once per test
 * file, reading an EF over any transport, a recording transport, and the secret-leak scan.
 */
import { createPrivateKey } from 'node:crypto';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/bytes/index.js';
import { parseResponseApdu } from '../../src/apdu/response.js';
import { bytesToBigint } from '../../src/crypto/curves.js';
import { generateRsaKeyPair, type RsaKeyPair } from '../../src/crypto/asymmetric.js';
import type { Transport } from '../../src/transport/types.js';

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  let x = b % m;
  let k = e;
  while (k > 0n) {
    if (k & 1n) r = (r * x) % m;
    x = (x * x) % m;
    k >>= 1n;
  }
  return r;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

function b64(v: bigint): string {
  let h = v.toString(16);
  if (h.length % 2) h = '0' + h;
  return Buffer.from(h, 'hex').toString('base64url');
}

/**
 * PKCS#8 of an RSA key published as (n, e, d) only: p and q are recovered from d·e − 1 (the
 * standard randomized factoring, here with small bases), as RFC 8017 keys carry them.
 */
export function rsaPkcs8FromExponents(nHex: string, eHex: string, dHex: string): Uint8Array {
  const n = bytesToBigint(hexToBytes(nHex));
  const e = bytesToBigint(hexToBytes(eHex));
  const d = bytesToBigint(hexToBytes(dHex));
  const k = d * e - 1n;
  let t = k;
  while ((t & 1n) === 0n) t >>= 1n;
  for (let g = 2n; g < 1000n; g++) {
    let x = modPow(g, t, n);
    for (let s = t; s < k; s <<= 1n) {
      const y = (x * x) % n;
      if (x !== 1n && x !== n - 1n && y === 1n) {
        const p = gcd(x - 1n, n);
        const q = n / p;
        const jwk = { kty: 'RSA', n: b64(n), e: b64(e), d: b64(d), p: b64(p), q: b64(q), dp: b64(d % (p - 1n)), dq: b64(d % (q - 1n)), qi: b64(inv(q, p)) };
        return new Uint8Array(createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'der' }));
      }
      x = y;
    }
  }
  throw new Error('could not factor the modulus');
}

const rsaCache = new Map<number, RsaKeyPair>();

/** An RSA key pair of `bits`, generated once per test file (RSA generation is slow). */
export function rsaKey(bits: number): RsaKeyPair {
  let k = rsaCache.get(bits);
  if (k === undefined) {
    k = generateRsaKeyPair(bits);
    rsaCache.set(bits, k);
  }
  return k;
}

/** The private parts of an RSA PKCS#8 key as hex (d, p, q, dp, dq, qi), for leak scans. */
export function rsaSecrets(pkcs8: Uint8Array): string[] {
  const jwk = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  return [jwk.d!, jwk.p!, jwk.q!, jwk.dp!, jwk.dq!, jwk.qi!].map((v) => bytesToHex(new Uint8Array(Buffer.from(v, 'base64url'))));
}

/**
 * True when `text` (hex, any case, possibly with spaces) contains any 16-byte window of a secret:
 * a leak of part of a key is a leak.
 */
export function leaks(text: string, secretsHex: readonly string[]): boolean {
  const hay = text.replace(/[\s:]/g, '').toUpperCase();
  for (const s of secretsHex) {
    const u = s.toUpperCase();
    for (let i = 0; i + 32 <= u.length; i += 16) if (hay.includes(u.slice(i, i + 32))) return true;
  }
  return false;
}

/** Reads a whole EF by its short file identifier (READ BINARY with SFI, then by offset). */
export async function readEf(t: Transport, sfi: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let first = parseResponseApdu(await t.transmit(new Uint8Array([0x00, 0xb0, 0x80 | sfi, 0x00, 0x00])));
  if (first.sw !== 0x9000 && first.sw !== 0x6282) throw new Error(`READ BINARY SFI ${sfi} answered ${first.sw.toString(16)}`);
  parts.push(first.data.slice());
  let offset = first.data.length;
  while (first.sw === 0x9000 && first.data.length === 256) {
    first = parseResponseApdu(await t.transmit(new Uint8Array([0x00, 0xb0, offset >> 8, offset & 0xff, 0x00])));
    if (first.sw === 0x6b00) break;
    if (first.sw !== 0x9000 && first.sw !== 0x6282) throw new Error(`READ BINARY at ${offset} answered ${first.sw.toString(16)}`);
    parts.push(first.data.slice());
    offset += first.data.length;
  }
  return concatBytes(...parts);
}

/** Records every APDU exchanged below it (hex), for byte-for-byte checks and leak scans. */
export class Recorder implements Transport {
  readonly log: { command: string; response: string }[] = [];
  constructor(private readonly inner: Transport) {}
  connect(): Promise<Uint8Array> {
    return this.inner.connect();
  }
  reset(): Promise<Uint8Array> {
    return this.inner.reset();
  }
  disconnect(): Promise<void> {
    return this.inner.disconnect();
  }
  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const r = await this.inner.transmit(apdu);
    this.log.push({ command: bytesToHex(apdu), response: bytesToHex(r) });
    return r;
  }
}

/** Passes everything through, but lets a test change a response on its way back. */
export class Tamper implements Transport {
  mutate: ((response: Uint8Array, command: Uint8Array) => Uint8Array) | null = null;
  constructor(private readonly inner: Transport) {}
  connect(): Promise<Uint8Array> {
    return this.inner.connect();
  }
  reset(): Promise<Uint8Array> {
    return this.inner.reset();
  }
  disconnect(): Promise<void> {
    return this.inner.disconnect();
  }
  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const r = await this.inner.transmit(apdu);
    return this.mutate ? this.mutate(r, apdu) : r;
  }
}
