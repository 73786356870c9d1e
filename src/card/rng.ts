/**
 * The card's random source. Secure (OpenSSL via `node:crypto`) by default; for conformance replay
 * it is fed a byte sequence that it hands out first, in the order protocols ask for it, and then
 * continues securely. Because the card draws only when a protocol needs randomness (GET
 * CHALLENGE, key generation, nonces), a published worked example replays byte for byte.
 */
import { randomFillSync } from 'node:crypto';

/** Secure bytes are drawn from OpenSSL in blocks of this size (one call per block, not per use). */
const POOL_SIZE = 4096;

export class CardRng {
  private queue: Uint8Array;
  private pos = 0;
  private readonly pool = new Uint8Array(POOL_SIZE);
  private poolPos = POOL_SIZE;

  constructor(seed?: Uint8Array) {
    this.queue = seed ? seed.slice() : new Uint8Array(0);
  }

  /** Appends bytes to hand out before falling back to the secure source. */
  feed(bytes: Uint8Array): void {
    const rest = this.queue.subarray(this.pos);
    const q = new Uint8Array(rest.length + bytes.length);
    q.set(rest);
    q.set(bytes, rest.length);
    this.queue = q;
    this.pos = 0;
  }

  /** Bytes of the fed sequence not yet used. */
  get remainingFed(): number {
    return this.queue.length - this.pos;
  }

  /** `n` random bytes: fed bytes first, then the secure source. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    const fromQueue = Math.min(n, this.queue.length - this.pos);
    if (fromQueue > 0) {
      out.set(this.queue.subarray(this.pos, this.pos + fromQueue));
      this.pos += fromQueue;
    }
    if (fromQueue < n) this.secure(out, fromQueue);
    return out;
  }

  private secure(out: Uint8Array, from: number): void {
    let o = from;
    while (o < out.length) {
      if (this.poolPos === POOL_SIZE) {
        randomFillSync(this.pool);
        this.poolPos = 0;
      }
      const take = Math.min(out.length - o, POOL_SIZE - this.poolPos);
      out.set(this.pool.subarray(this.poolPos, this.poolPos + take), o);
      // Bytes handed out are wiped from the pool so they exist in one place only.
      this.pool.fill(0, this.poolPos, this.poolPos + take);
      this.poolPos += take;
      o += take;
    }
  }
}
