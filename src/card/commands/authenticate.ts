/**
 * Challenge-response authentication of the terminal: GET CHALLENGE (ISO/IEC 7816-4:2013 §11.5.3)
 * and EXTERNAL AUTHENTICATE (§11.5.4) with the card's symmetric keys — including the transport
 * key that opens personalization.
 *
 * The challenge lives on the channel (transient) and is consumed by the next EXTERNAL
 * AUTHENTICATE attempt whatever its outcome, so a cryptogram can never be replayed and a wrong
 * guess cannot be retried against the same challenge. Key retry counters follow the same
 * decrement-first rule as PINs (see `pin.ts`).
 */
import { SW, StatusWordError, counterSw } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import type { ResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { byteHex, constantTimeEqual, zeroize } from '../../bytes/index.js';
import { externalAuthCryptogram } from '../../crypto/external-auth.js';
import { findKey, type CommandContext } from '../context.js';
import { defineInsTable, type CommandHandler, type InsTable } from '../dispatch.js';
import { hexRef, type KeyAlgorithm, type KeyObject } from '../security/objects.js';
import { restoreTries, spendTry } from './pin.js';

const EMPTY = new Uint8Array(0);

/** Longest challenge GET CHALLENGE hands out, also with an extended Le. */
export const MAX_CHALLENGE_LENGTH = 256;

/**
 * chipwright's algorithm reference codes: P1 of EXTERNAL AUTHENTICATE and tag 89 of the key
 * template loaded with PUT DATA 0102. ISO/IEC 7816-4 §11.5.1 leaves algorithm references
 * proprietary; 00 in P1 means "implicit" (the key's own algorithm).
 */
export const KEY_ALGORITHM_CODES: Readonly<Record<KeyAlgorithm, number>> = Object.freeze({ '3des': 0x01, aes: 0x02 });

/**
 * The algorithm an algorithm reference code names, if any.
 *
 * @example keyAlgorithmOf(0x02) // 'aes'
 */
export function keyAlgorithmOf(code: number): KeyAlgorithm | undefined {
  if (code === KEY_ALGORITHM_CODES['3des']) return '3des';
  if (code === KEY_ALGORITHM_CODES.aes) return 'aes';
  return undefined;
}

export { externalAuthCryptogram };

/**
 * GET CHALLENGE (INS 84), ISO/IEC 7816-4:2013 §11.5.3. P1-P2 = 0000 (6A86 otherwise); no data
 * (6700); Le is the challenge length, 1 to 256 (no Le, or more than 256 with an extended Le,
 * answers 6700). The bytes come from the card's RNG and replace any earlier challenge on this
 * channel.
 *
 * @example 00 84 00 00 08 → 8 random bytes, 9000
 */
const GET_CHALLENGE: CommandHandler = {
  name: 'GET CHALLENGE',
  run(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'GET CHALLENGE P1-P2 must be 0000');
    if (cmd.data.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'GET CHALLENGE takes no data');
    if (cmd.ne === 0) throw new StatusWordError(SW.WRONG_LENGTH, 'GET CHALLENGE needs Le (the challenge length)');
    if (cmd.ne > MAX_CHALLENGE_LENGTH) {
      throw new StatusWordError(SW.WRONG_LENGTH, `challenge length ${cmd.ne} above ${MAX_CHALLENGE_LENGTH}`);
    }
    const challenge = ctx.rng.bytes(cmd.ne);
    ctx.channel.challenge = challenge.slice();
    return challenge;
  },
};

/** The key P2 names and how a success is recorded. */
interface Target {
  readonly key: KeyObject;
  readonly transport: boolean;
}

/**
 * P2=00 during personalization is the card's transport key (CardState.transportKey); otherwise
 * the key with that reference from the current DF upwards. P2=00 outside personalization names
 * nothing (6A88): the transport key is dead once the card is issued.
 */
function resolveKey(ctx: CommandContext, p2: number): Target {
  if (p2 === 0x00) {
    if (ctx.lifeCycle !== 'personalization') {
      throw new StatusWordError(SW.REFERENCE_NOT_FOUND, 'the transport key (P2=00) is usable only during personalization');
    }
    return { key: ctx.state.transportKey, transport: true };
  }
  const key = findKey(ctx.channel.df, p2);
  if (key === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `no key ${hexRef(p2)} in scope of the current DF`);
  return { key, transport: false };
}

function isAuthenticated(ctx: CommandContext, t: Target): boolean {
  return t.transport ? ctx.channel.persoAuthenticated : ctx.channel.keys.has(t.key);
}

function setAuthenticated(ctx: CommandContext, t: Target, yes: boolean): void {
  if (t.transport) ctx.channel.persoAuthenticated = yes;
  else if (yes) ctx.channel.keys.add(t.key);
  else ctx.channel.keys.delete(t.key);
}

/**
 * EXTERNAL AUTHENTICATE (INS 82), ISO/IEC 7816-4:2013 §11.5.4.
 *
 * - P1 = algorithm reference: 00 implicit (the key's), else a {@link KEY_ALGORITHM_CODES} value
 *   that must match the key (6A86 otherwise).
 * - P2 = key reference; 00 = the transport key, during personalization only (6A88 after).
 * - No data: like VERIFY, reports the status without an attempt — 9000 if this key authenticated
 *   on this channel, else 63CX, 6983 if blocked (the absence of data is allowed by §11.5.4 for
 *   exactly this). It needs no challenge and leaves the pending one in place.
 * - Data: the cryptogram of {@link externalAuthCryptogram} over the challenge from the last GET
 *   CHALLENGE on this channel. The challenge is consumed first, whatever the outcome (6985 when
 *   there is none). Blocked key → 6983; wrong cryptogram length → 6700 without using a try;
 *   otherwise a try is spent and committed before the constant-time comparison. Mismatch → 63CX
 *   (and this key's status on the channel is dropped); match → counter restored and the key
 *   authenticated on this channel, which is what access rules `KEY(ref)` test (for the transport
 *   key: `persoAuthenticated`, which opens the personalization commands).
 *
 * @example 00 84 00 00 08 → challenge; 00 82 00 00 08 <3DES-CBC(transport key, challenge)> → 9000
 */
const EXTERNAL_AUTHENTICATE: CommandHandler = {
  name: 'EXTERNAL AUTHENTICATE',
  run(cmd: CommandApdu, ctx: CommandContext): ResponseApdu | void {
    const ch = ctx.channel;
    const attempt = cmd.data.length > 0;
    const challenge = attempt ? ch.challenge : null;
    if (attempt) ch.challenge = null;

    const t = resolveKey(ctx, cmd.p2);
    const key = t.key;
    if (cmd.p1 !== 0x00 && keyAlgorithmOf(cmd.p1) !== key.algorithm) {
      throw new StatusWordError(SW.INCORRECT_P1P2, `algorithm reference ${byteHex(cmd.p1)} does not fit ${key.label} ${hexRef(key.ref)}`);
    }
    if (!attempt) {
      if (isAuthenticated(ctx, t)) return { data: EMPTY, sw: SW.OK };
      if (key.tries <= 0) throw new StatusWordError(SW.AUTH_METHOD_BLOCKED, `${key.label} ${hexRef(key.ref)} is blocked`);
      return { data: EMPTY, sw: counterSw(key.tries) };
    }
    if (challenge === null) {
      throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'no challenge pending on this channel (GET CHALLENGE first)');
    }
    if (key.tries <= 0) throw new StatusWordError(SW.AUTH_METHOD_BLOCKED, `${key.label} ${hexRef(key.ref)} is blocked`);

    const expected = externalAuthCryptogram(key.algorithm, key.value, challenge);
    try {
      if (cmd.data.length !== expected.length) {
        throw new StatusWordError(SW.WRONG_LENGTH, `cryptogram: expected ${expected.length} bytes, got ${cmd.data.length}`);
      }
      spendTry(ctx, key);
      if (!constantTimeEqual(cmd.data, expected)) {
        setAuthenticated(ctx, t, false);
        throw new StatusWordError(counterSw(key.tries), `${key.label} ${hexRef(key.ref)}: cryptogram mismatch`);
      }
    } finally {
      zeroize(expected);
    }
    restoreTries(ctx, key);
    ctx.nv.commit();
    setAuthenticated(ctx, t, true);
  },
};

/**
 * GET CHALLENGE and EXTERNAL AUTHENTICATE.
 *
 * @example mergeInsTables(AUTHENTICATION_COMMANDS, ...) // as commands/index.ts does
 */
export const AUTHENTICATION_COMMANDS: InsTable = defineInsTable(
  [INS.GET_CHALLENGE, GET_CHALLENGE],
  [INS.EXTERNAL_AUTHENTICATE, EXTERNAL_AUTHENTICATE],
);
