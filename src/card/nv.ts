/**
 * Non-volatile memory with an undo journal: the card's anti-tearing mechanism.
 *
 * Like Java Card transactions (JCRE spec §7) and the EEPROM "backup buffer" of real chip OSes,
 * every write to non-volatile state first records how to undo it. A command's writes become
 * durable together at {@link NvMemory.commit}; if power is cut before that, the journal is
 * replayed backwards at the next power-up, so the card holds exactly the state before the command.
 * Only the bytes or fields actually written are journalled — the card is never copied whole.
 *
 * Fault injection: {@link NvMemory.cutPowerAtWrite} makes the N-th write from now tear (a byte
 * write is done half-way) and throw {@link PowerLoss}, which the card turns into "no answer".
 */

/** The card lost power during a non-volatile write (fault injection or tearing test). */
export class PowerLoss extends Error {
  override readonly name = 'PowerLoss';
  constructor(readonly writeIndex: number) {
    super(`power cut at non-volatile write #${writeIndex}`);
  }
}

type Undo = () => void;

export class NvMemory {
  private journal: Undo[] = [];
  /** Non-volatile writes since the card was created or loaded (the tearing tests' clock). */
  writes = 0;
  private cutAt = 0;
  /** Incremented on each commit that had writes; lets callers save the image only on change. */
  generation = 0;

  /** Arms a power cut on the `n`-th write from now (1 = the next write). 0 disarms. */
  cutPowerAtWrite(n: number): void {
    this.cutAt = n > 0 ? this.writes + n : 0;
  }

  /** True while uncommitted writes are pending. */
  get dirty(): boolean {
    return this.journal.length > 0;
  }

  private tick(): boolean {
    this.writes++;
    return this.cutAt !== 0 && this.writes === this.cutAt;
  }

  private cut(): never {
    const n = this.writes;
    this.cutAt = 0;
    throw new PowerLoss(n);
  }

  /** Sets one field of a non-volatile object. */
  set<T extends object, K extends keyof T>(obj: T, key: K, value: T[K]): void {
    if (this.tick()) this.cut();
    const old = obj[key];
    // A field (or array slot) that did not exist is removed again, so rollback is exact.
    const had = Object.prototype.hasOwnProperty.call(obj, key);
    const length = Array.isArray(obj) ? obj.length : 0;
    this.journal.push(() => {
      if (had) obj[key] = old;
      else {
        delete obj[key];
        if (Array.isArray(obj)) obj.length = length;
      }
    });
    obj[key] = value;
  }

  /** Writes `src` into `buf` at `offset`; a torn write leaves the first half of the bytes. */
  writeBytes(buf: Uint8Array, offset: number, src: Uint8Array): void {
    // Checked before the write is counted: a caller's range error is a bug, not a write to tear.
    if (!Number.isInteger(offset) || offset < 0 || offset + src.length > buf.length) {
      throw new RangeError(`writeBytes: ${src.length} bytes at offset ${offset} outside a buffer of ${buf.length}`);
    }
    const torn = this.tick();
    const old = buf.slice(offset, offset + src.length);
    this.journal.push(() => buf.set(old, offset));
    if (torn) {
      buf.set(src.subarray(0, src.length >>> 1), offset);
      this.cut();
    }
    buf.set(src, offset);
  }

  /** Fills `length` bytes of `buf` from `offset` with `value` (ERASE BINARY). */
  fillBytes(buf: Uint8Array, offset: number, length: number, value: number): void {
    this.writeBytes(buf, offset, new Uint8Array(length).fill(value));
  }

  /** `Array.prototype.splice` on a non-volatile array (children, records, objects). */
  splice<T>(arr: T[], start: number, deleteCount: number, ...items: T[]): T[] {
    if (this.tick()) this.cut();
    // The undo needs the absolute index the splice acted at: a negative start counts from the end
    // and a start past the end appends, and both mean another place once the length has changed.
    const at = start < 0 ? Math.max(arr.length + start, 0) : Math.min(start, arr.length);
    const removed = arr.splice(at, deleteCount, ...items);
    this.journal.push(() => {
      arr.splice(at, items.length, ...removed);
    });
    return removed;
  }

  /** Makes every write since the last commit durable. */
  commit(): void {
    if (this.journal.length > 0) {
      this.journal = [];
      this.generation++;
    }
  }

  /** Undoes every write since the last commit, newest first (also what power-up recovery does). */
  rollback(): void {
    const j = this.journal;
    this.journal = [];
    for (let i = j.length - 1; i >= 0; i--) j[i]!();
  }
}
