/**
 * PIN management: VERIFY (ISO/IEC 7816-4:2013 §11.5.6), CHANGE REFERENCE DATA (§11.5.7) and
 * RESET RETRY COUNTER (§11.5.10), over the PIN/PUK objects of `security/objects.ts`.
 *
 * The anti-tearing rule every comparison here follows: the retry counter is decremented and that
 * write is committed *before* the presented value is compared; only a match writes the counter
 * back to its maximum. Cutting power at any point after the comparison therefore leaves the try
 * spent — an attacker who watches the timing or power trace of a wrong guess and pulls the card
 * before the counter is written gets no free tries. A malformed command (wrong length) is refused
 * before the counter is touched, so framing errors never cost the holder a try.
 *
 * Counters only go up through a successful comparison of that same object (VERIFY, CHANGE
 * REFERENCE DATA P1=00, the PUK inside RESET RETRY COUNTER) or through RESET RETRY COUNTER for the
 * PIN it unblocks. Status words: 63CX tries left after a failed comparison (§11.5.1), 6983 blocked,
 * 6A88 no such reference in scope, 6A80 a value of impossible length, 6982 a mode that needs a
 * prior verification on this channel.
 *
 * Nothing here puts PIN bytes into an error detail or an event; details name the object by label
 * and reference only.
 */
import { SW, StatusWordError, counterSw } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import type { ResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { constantTimeEqual, zeroize } from '../../bytes/index.js';
import { findPin, type CommandContext } from '../context.js';
import { defineInsTable, type CommandHandler, type InsTable } from '../dispatch.js';
import { hexRef, unpadPin, type PinObject } from '../security/objects.js';

const EMPTY = new Uint8Array(0);

/** An authentication object with a retry counter (PIN, PUK or symmetric key): `tries` left of `maxTries`. */
export interface RetryCounted {
  tries: number;
  readonly maxTries: number;
}

/**
 * Spends one try and makes that durable at once (`nv.commit()`), before any comparison — the
 * anti-tearing rule above. Used by VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER and
 * EXTERNAL AUTHENTICATE alike.
 *
 * @example spendTry(ctx, pin); if (!matches) throw new StatusWordError(counterSw(pin.tries));
 */
export function spendTry(ctx: CommandContext, obj: RetryCounted): void {
  ctx.nv.set(obj, 'tries', Math.max(0, obj.tries - 1));
  ctx.nv.commit();
}

/**
 * Restores the counter after a match (journalled; the caller commits, together with whatever
 * else the success changes).
 *
 * @example restoreTries(ctx, key); ctx.nv.commit(); ctx.channel.keys.add(key);
 */
export function restoreTries(ctx: CommandContext, obj: RetryCounted): void {
  ctx.nv.set(obj, 'tries', obj.maxTries);
}

function name(p: PinObject): string {
  return `${p.label} ${hexRef(p.ref)}`;
}

/** The PIN a P2 reference names, resolved from the channel's current DF upwards (6A88). */
function requirePin(ctx: CommandContext, ref: number): PinObject {
  const p = findPin(ctx.channel.df, ref);
  if (p === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `no PIN ${hexRef(ref)} in scope of the current DF`);
  return p;
}

/** 6983 once the counter is at zero (ISO/IEC 7816-4 §11.5.1: authentication method blocked). */
function requireUnblocked(p: PinObject): void {
  if (p.tries <= 0) throw new StatusWordError(SW.AUTH_METHOD_BLOCKED, `${name(p)} is blocked`);
}

/** What the terminal sent, unpadded, or 6A80 when no PIN of this object can have that length. */
function presented(p: PinObject, sent: Uint8Array, field: string): Uint8Array {
  const v = unpadPin(p, sent);
  if (v === undefined) {
    throw new StatusWordError(SW.INCORRECT_DATA, `${field}: ${sent.length} bytes is not a valid length for ${name(p)}`);
  }
  return v;
}

/**
 * Length of the first part of a two-part data field (old‖new, PUK‖new): the stored value's length
 * for unpadded objects, else the padded length — the only split both sides can agree on.
 */
function firstPartLength(p: PinObject): number {
  return p.padding === 'none' ? p.value.length : p.paddedLength;
}

/**
 * Compares in constant time. Both sides are laid out in a fixed-width buffer (length byte, then
 * the value, zero-filled to maxLength), so the time does not depend on the stored PIN's length
 * either, only on the object's public maxLength.
 */
function pinMatches(p: PinObject, v: Uint8Array): boolean {
  const width = Math.max(p.maxLength, p.value.length, v.length) + 1;
  const a = new Uint8Array(width);
  const b = new Uint8Array(width);
  a[0] = v.length;
  a.set(v, 1);
  b[0] = p.value.length;
  b.set(p.value, 1);
  const equal = constantTimeEqual(a, b);
  zeroize(a);
  zeroize(b);
  return equal;
}

/**
 * One comparison with the decrement-first rule: spends a try (committed), compares, and on a
 * mismatch drops the object's status on this channel and throws 63CX with the tries left (63C0 at
 * the last one, after which the object answers 6983). On a match the counter is restored but not
 * committed: the caller adds its own success writes and commits them together.
 */
function compare(ctx: CommandContext, p: PinObject, v: Uint8Array): void {
  spendTry(ctx, p);
  if (!pinMatches(p, v)) {
    ctx.channel.pins.delete(p);
    throw new StatusWordError(counterSw(p.tries), `${name(p)}: comparison failed`);
  }
  restoreTries(ctx, p);
}

/** Replaces a PIN's value (journalled); returns the old buffer for zeroizing after commit. */
function setValue(ctx: CommandContext, p: PinObject, v: Uint8Array): Uint8Array {
  const old = p.value;
  ctx.nv.set(p, 'value', v.slice());
  return old;
}

/**
 * Commits and only then wipes the replaced value: before the commit the journal may still need
 * the old buffer to roll back (power cut), after it nothing references it.
 */
function commitAndWipe(ctx: CommandContext, old: Uint8Array | undefined): void {
  ctx.nv.commit();
  if (old !== undefined) zeroize(old);
}

/** VERIFY without data: the verification state, not an attempt (ISO/IEC 7816-4 §11.5.6). */
function verificationStatus(ctx: CommandContext, p: PinObject): ResponseApdu {
  if (ctx.channel.pins.has(p)) return { data: EMPTY, sw: SW.OK };
  requireUnblocked(p);
  return { data: EMPTY, sw: counterSw(p.tries) };
}

/**
 * VERIFY (INS 20), ISO/IEC 7816-4:2013 §11.5.6.
 *
 * - P1=00, P2 = PIN reference (b8=1 specific to its DF, b8=0 global), resolved from the current DF
 *   upwards (6A88 if none).
 * - No data: 9000 if the PIN is verified on this channel, else 63CX (X = tries left), 6983 if
 *   blocked. No try is used.
 * - Data: the PIN, bare or padded to the object's padded length. A length no PIN of this object
 *   can have answers 6A80 without using a try. Otherwise the try is spent and committed first,
 *   then compared: match → counter back to max, PIN verified on this channel; mismatch → 63CX with
 *   the new count and the PIN's status on this channel is dropped (a failed attempt must not leave
 *   an earlier verification standing).
 * - P1=FF (added in the 2013 edition): reset the verification status of that PIN on this channel;
 *   the data field shall be absent (6700 otherwise).
 *
 * @example 00 20 00 81 04 31323334 → 9000 | 63C2 | 6983
 */
const VERIFY: CommandHandler = {
  name: 'VERIFY',
  run(cmd: CommandApdu, ctx: CommandContext): ResponseApdu | void {
    if (cmd.p1 === 0xff) {
      const p = requirePin(ctx, cmd.p2);
      if (cmd.data.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'VERIFY P1=FF takes no data');
      ctx.channel.pins.delete(p);
      return;
    }
    if (cmd.p1 !== 0x00) throw new StatusWordError(SW.INCORRECT_P1P2, 'VERIFY P1 must be 00 or FF');
    const p = requirePin(ctx, cmd.p2);
    if (cmd.data.length === 0) return verificationStatus(ctx, p);
    requireUnblocked(p);
    const v = presented(p, cmd.data, 'verification data');
    compare(ctx, p, v);
    ctx.nv.commit();
    ctx.channel.pins.add(p);
  },
};

/**
 * CHANGE REFERENCE DATA (INS 24), ISO/IEC 7816-4:2013 §11.5.7.
 *
 * - P1=00: data = current PIN ‖ new PIN. The current PIN takes the stored value's length when the
 *   object is unpadded, else its padded length; the rest is the new PIN (bare or padded). The
 *   current PIN is compared like VERIFY (decrement first, 63CX / 6983). Both lengths are checked
 *   before any try is spent (6A80).
 * - P1=01: data = new PIN only; the PIN must already be verified on this channel (6982). Nothing is
 *   compared, so the retry counter is left as it is (counters only rise after a comparison).
 * - Success stores the new value, and the PIN counts as verified on this channel.
 *
 * @example 00 24 00 81 08 31323334 35363738 → 9000
 */
const CHANGE_REFERENCE_DATA: CommandHandler = {
  name: 'CHANGE REFERENCE DATA',
  run(cmd: CommandApdu, ctx: CommandContext): void {
    if (cmd.p1 !== 0x00 && cmd.p1 !== 0x01) {
      throw new StatusWordError(SW.INCORRECT_P1P2, 'CHANGE REFERENCE DATA P1 must be 00 or 01');
    }
    const p = requirePin(ctx, cmd.p2);
    requireUnblocked(p);
    let old: Uint8Array | undefined;
    if (cmd.p1 === 0x01) {
      if (!ctx.channel.pins.has(p)) {
        throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, `${name(p)} not verified on this channel`);
      }
      const next = presented(p, cmd.data, 'new reference data');
      old = setValue(ctx, p, next);
    } else {
      const n = firstPartLength(p);
      if (cmd.data.length <= n) {
        throw new StatusWordError(SW.INCORRECT_DATA, `data: expected current (${n} bytes) and new reference data`);
      }
      const current = presented(p, cmd.data.subarray(0, n), 'current reference data');
      const next = presented(p, cmd.data.subarray(n), 'new reference data');
      compare(ctx, p, current);
      old = setValue(ctx, p, next);
    }
    commitAndWipe(ctx, old);
    ctx.channel.pins.add(p);
  },
};

/**
 * RESET RETRY COUNTER (INS 2C), ISO/IEC 7816-4:2013 §11.5.10. P2 = the PIN to unblock; the PUK is
 * the object named by the PIN's `pukRef` (6A88 if it has none or it is not in scope).
 *
 * | P1 | data             | PUK                                   | PIN value |
 * |----|------------------|---------------------------------------|-----------|
 * | 00 | PUK ‖ new PIN    | compared (decrement first)            | replaced  |
 * | 01 | PUK              | compared (decrement first)            | kept      |
 * | 02 | new PIN          | must be verified on this channel (6982) | replaced |
 * | 03 | absent (6700)    | must be verified on this channel (6982) | kept     |
 *
 * The PUK's length in P1=00 is its stored length (unpadded) or padded length. The PUK has its own
 * retry counter with the same rules (63CX on mismatch, 6983 blocked). On success the PIN's counter
 * is set to its maximum and the PUK's `unblocksLeft` is decremented (−1 = unlimited).
 *
 * Choices where ISO leaves room:
 * - A PUK whose unblock allowance is used up answers 6983 (authentication method blocked), checked
 *   before the PUK's counter is touched: the PUK is as unusable as a blocked one, and terminals
 *   already handle 6983.
 * - The PUK comparison here does not make the PUK "verified" on the channel, and the PIN is left
 *   unverified: the holder proved knowledge of the PUK for this command only, and a new PIN value
 *   must be presented with VERIFY before it grants access.
 *
 * @example 00 2C 00 81 0C 3132333435363738 39393939 → 9000
 */
const RESET_RETRY_COUNTER: CommandHandler = {
  name: 'RESET RETRY COUNTER',
  run(cmd: CommandApdu, ctx: CommandContext): void {
    if (cmd.p1 > 0x03) throw new StatusWordError(SW.INCORRECT_P1P2, 'RESET RETRY COUNTER P1 must be 00..03');
    const pin = requirePin(ctx, cmd.p2);
    if (pin.pukRef === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `${name(pin)} has no PUK`);
    const puk = findPin(ctx.channel.df, pin.pukRef);
    if (puk === undefined) {
      throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `PUK ${hexRef(pin.pukRef)} of ${name(pin)} not in scope`);
    }
    requireUnblocked(puk);
    if (puk.unblocksLeft === 0) throw new StatusWordError(SW.AUTH_METHOD_BLOCKED, `${name(puk)}: no unblocks left`);

    let pukValue: Uint8Array | undefined;
    let next: Uint8Array | undefined;
    switch (cmd.p1) {
      case 0x00: {
        const n = firstPartLength(puk);
        if (cmd.data.length <= n) {
          throw new StatusWordError(SW.INCORRECT_DATA, `data: expected the PUK (${n} bytes) and the new PIN`);
        }
        pukValue = presented(puk, cmd.data.subarray(0, n), 'PUK');
        next = presented(pin, cmd.data.subarray(n), 'new PIN');
        break;
      }
      case 0x01:
        pukValue = presented(puk, cmd.data, 'PUK');
        break;
      case 0x02:
        requireVerifiedPuk(ctx, puk);
        next = presented(pin, cmd.data, 'new PIN');
        break;
      default:
        if (cmd.data.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'RESET RETRY COUNTER P1=03 takes no data');
        requireVerifiedPuk(ctx, puk);
    }

    if (pukValue !== undefined) compare(ctx, puk, pukValue);
    restoreTries(ctx, pin);
    const old = next !== undefined ? setValue(ctx, pin, next) : undefined;
    if (puk.unblocksLeft > 0) ctx.nv.set(puk, 'unblocksLeft', puk.unblocksLeft - 1);
    commitAndWipe(ctx, old);
    ctx.channel.pins.delete(pin);
  },
};

function requireVerifiedPuk(ctx: CommandContext, puk: PinObject): void {
  if (!ctx.channel.pins.has(puk)) {
    throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, `${name(puk)} not verified on this channel`);
  }
}

/**
 * VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER (even INS only; the odd INS 21 with a
 * verification DO is not supported and answers 6D00).
 *
 * @example mergeInsTables(PIN_COMMANDS, ...) // as commands/index.ts does
 */
export const PIN_COMMANDS: InsTable = defineInsTable(
  [INS.VERIFY, VERIFY],
  [INS.CHANGE_REFERENCE_DATA, CHANGE_REFERENCE_DATA],
  [INS.RESET_RETRY_COUNTER, RESET_RETRY_COUNTER],
);
