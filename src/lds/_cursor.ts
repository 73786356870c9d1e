/**
 * Big-endian fixed-layout reading and writing for the ISO/IEC 19794 biometric records, whose
 * headers are packed binary fields rather than TLV. Every read is bounds-checked and a short
 * record is an {@link LdsError} naming the record and the field being read.
 */
import { concatBytes } from '../bytes/index.js';
import { LdsError } from './errors.js';

export class Cursor {
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    /** Prefix for messages: "ISO/IEC 19794-5 face record". */
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new LdsError(`${this.what}: ${field} needs ${n} byte(s) at offset ${this.pos}, only ${this.bytes.length - this.pos} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = (this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u24(field: string): number {
    this.need(3, field);
    const v = (this.bytes[this.pos]! << 16) | (this.bytes[this.pos + 1]! << 8) | this.bytes[this.pos + 2]!;
    this.pos += 3;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  /** A copy of the next `n` bytes. */
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Collects big-endian fields; `range` checks name the field when a value does not fit. */
export class Writer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly what: string) {}

  get length(): number {
    return this.size;
  }

  private check(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new LdsError(`${this.what}: ${field} must be an integer 0..${max}, got ${v}`);
  }

  u8(v: number, field: string): this {
    this.check(v, 0xff, field);
    return this.bytes(new Uint8Array([v]));
  }

  u16(v: number, field: string): this {
    this.check(v, 0xffff, field);
    return this.bytes(new Uint8Array([v >>> 8, v & 0xff]));
  }

  u24(v: number, field: string): this {
    this.check(v, 0xffffff, field);
    return this.bytes(new Uint8Array([v >>> 16, (v >>> 8) & 0xff, v & 0xff]));
  }

  u32(v: number, field: string): this {
    this.check(v, 0xffffffff, field);
    return this.bytes(new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]));
  }

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  done(): Uint8Array {
    return concatBytes(...this.parts);
  }
}
