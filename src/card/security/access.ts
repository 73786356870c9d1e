/**
 * Access rules: per file and operation, an expression over ALWAYS, NEVER, PIN(ref), KEY(ref), SM,
 * PACE, PACE(password), AND and OR — stored in the FCP as security attributes in the
 * ISO/IEC 7816-4:2013 §9.3 *expanded format* (FCP tag 'AB'), the one encoding chipwright reads and
 * writes.
 *
 * Encoding (one access-mode DO followed by one security-condition DO, repeated):
 *
 * | access mode DO            | operation                                            |
 * |---------------------------|------------------------------------------------------|
 * | `80 01 xx` AM byte (EF)   | b1 read, b2 update, b3 append (write), b4 deactivate, b5 activate, b6 terminate, b7 delete |
 * | `80 01 xx` AM byte (DF)   | b2/b3 create child (EF/DF), b4 deactivate, b5 activate, b6 terminate, b7 delete; b1 (delete child) is accepted as a synonym of b7 on the child |
 * | `84 01 0E` INS            | erase (ERASE BINARY), which has no AM-byte bit of its own |
 *
 * | security condition DO (table 33) | meaning                                       |
 * |----------------------------------|-----------------------------------------------|
 * | `90 00`                          | ALWAYS                                        |
 * | `97 00`                          | NEVER                                         |
 * | `A4 06 83 01 rr 95 01 08`        | PIN(rr): user authentication, knowledge based (usage qualifier 08) |
 * | `A4 06 83 01 rr 95 01 80`        | KEY(rr): external authentication with key rr (usage qualifier 80) |
 * | `B4 03 95 01 30`                 | SM: command and response under secure messaging (CCT, qualifier 30) |
 * | `A4 0D 80 08 04007F0007020204 95 01 C0` | PACE: a PACE session with any password is in force on the channel |
 * | `A4 10 80 08 04007F0007020204 83 01 pp 95 01 C0` | PACE(MRZ / CAN / PIN / PUK): … established with that password (pp = 01 / 02 / 03 / 04) |
 * | `A0 ..` / `AF ..`                | OR / AND of the nested condition DOs           |
 *
 * Why a PACE condition: `SM` also holds after BAC (two-key 3DES keyed by the low-entropy MRZ), which
 * must not open health or finance data. Its encoding is the authentication template (AT, 'A4') the
 * terminal itself sets up for PACE with MSE:Set AT (ICAO 9303-11 §4.4.4.1): DO 80, the
 * cryptographic mechanism reference (ISO/IEC 7816-4 table 55), holds the id-PACE arc
 * 0.4.0.127.0.7.2.2.4 (BSI TR-03110-3 §A.1.1.1) — every PACE protocol OID lies under it, so the
 * condition does not pin a cipher suite; DO 83, the password reference as in MSE:Set AT (01 MRZ,
 * 02 CAN, 03 PIN, 04 PUK), narrows it to one password; DO 95, the usage qualifier, is C0 (external
 * and internal authentication: mutual, as P1 = C1 of MSE:Set AT), which tells it apart from the
 * PIN (08) and KEY (80) templates. The condition holds while the PACE secure-messaging session is
 * in force on the channel (Chip Authentication after PACE keeps it) and ends with that session.
 *
 * A file without security attributes is open for use (read, update, erase, append: ALWAYS) but
 * not for its life cycle (delete, create, activate, deactivate, terminate: NEVER). When attributes
 * are present, an operation they do not mention is NEVER: forgetting a rule locks, never opens.
 */
import { ByteInputError, bytesToHex, concatBytes, equalBytes } from '../../bytes/index.js';
import { encodeTlv, parseTlvList, type Tlv, TlvError } from '../../tlv/ber.js';
import { PACE_PASSWORD_REFERENCE, passwordKindOf, type PacePasswordKind } from '../../crypto/pace.js';

export const ACCESS_OPS = [
  'read',
  'update',
  'erase',
  'append',
  'delete',
  'create',
  'activate',
  'deactivate',
  'terminate',
] as const;
export type AccessOp = (typeof ACCESS_OPS)[number];

export type Condition =
  | { readonly kind: 'always' }
  | { readonly kind: 'never' }
  | { readonly kind: 'pin'; readonly ref: number }
  | { readonly kind: 'key'; readonly ref: number }
  | { readonly kind: 'sm' }
  /** A PACE session is in force; `password` (when given) is the password it was established with. */
  | { readonly kind: 'pace'; readonly password?: PacePasswordKind }
  | { readonly kind: 'and'; readonly of: readonly Condition[] }
  | { readonly kind: 'or'; readonly of: readonly Condition[] };

export const ALWAYS: Condition = Object.freeze({ kind: 'always' });
export const NEVER: Condition = Object.freeze({ kind: 'never' });
export const SM_REQUIRED: Condition = Object.freeze({ kind: 'sm' });
/** PACE with any password (ICAO 9303-11 §4.4). */
export const PACE_REQUIRED: Condition = Object.freeze({ kind: 'pace' });
/** PACE established with `password`, e.g. `pace('can')` for "PACE(CAN)". */
export const pace = (password?: PacePasswordKind): Condition =>
  Object.freeze(password === undefined ? { kind: 'pace' } : { kind: 'pace', password });
export const pin = (ref: number): Condition => Object.freeze({ kind: 'pin', ref });
export const key = (ref: number): Condition => Object.freeze({ kind: 'key', ref });
export const and = (...of: Condition[]): Condition => Object.freeze({ kind: 'and', of });
export const or = (...of: Condition[]): Condition => Object.freeze({ kind: 'or', of });

/** Rules per operation. `undefined` (no attributes at all) means open for use, closed for life cycle. */
export type AccessRules = Readonly<Partial<Record<AccessOp, Condition>>>;

const USE_OPS: ReadonlySet<AccessOp> = new Set(['read', 'update', 'erase', 'append']);

/** The rule in force for `op` (see the module comment for files without attributes). */
export function ruleFor(rules: AccessRules | undefined, op: AccessOp): Condition {
  if (rules === undefined) return USE_OPS.has(op) ? ALWAYS : NEVER;
  return rules[op] ?? NEVER;
}

/** What a condition is evaluated against: the channel's security status for one file. */
export interface SecurityFacts {
  pinVerified(ref: number): boolean;
  keyAuthenticated(ref: number): boolean;
  readonly secureMessaging: boolean;
  /**
   * The password of the PACE session in force on the channel, `undefined` without one. Optional
   * so that a fact source that knows nothing of PACE refuses every PACE condition (fails closed).
   */
  readonly pacePassword?: PacePasswordKind | undefined;
}

/** Evaluates a condition (pure). */
export function satisfies(c: Condition, facts: SecurityFacts): boolean {
  switch (c.kind) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'pin':
      return facts.pinVerified(c.ref);
    case 'key':
      return facts.keyAuthenticated(c.ref);
    case 'sm':
      return facts.secureMessaging;
    case 'pace': {
      const used = facts.pacePassword;
      return used !== undefined && (c.password === undefined || c.password === used);
    }
    case 'and':
      return c.of.every((x) => satisfies(x, facts));
    case 'or':
      return c.of.some((x) => satisfies(x, facts));
  }
}

/** "PIN(81) AND SM" — for traces, the README and error messages. */
/**
 * The PIN references a condition names, in order (a "PIN always" key re-verifies them; a
 * terminal verifies the first before using a key).
 *
 * @example conditionPins(parseCondition('PACE AND PIN(03) AND SM')) // [3]
 */
export function conditionPins(c: Condition, out: number[] = []): number[] {
  if (c.kind === 'pin') out.push(c.ref);
  else if (c.kind === 'and' || c.kind === 'or') for (const x of c.of) conditionPins(x, out);
  return out;
}

export function formatCondition(c: Condition): string {
  const h = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
  switch (c.kind) {
    case 'always':
      return 'ALWAYS';
    case 'never':
      return 'NEVER';
    case 'pin':
      return `PIN(${h(c.ref)})`;
    case 'key':
      return `KEY(${h(c.ref)})`;
    case 'sm':
      return 'SM';
    case 'pace':
      return c.password === undefined ? 'PACE' : `PACE(${c.password.toUpperCase()})`;
    case 'and':
    case 'or':
      return `(${c.of.map(formatCondition).join(c.kind === 'and' ? ' AND ' : ' OR ')})`;
  }
}

/**
 * Parses the textual form used by profiles and the CLI: `ALWAYS`, `NEVER`, `PIN(81)`, `KEY(01)`,
 * `SM`, `PACE`, `PACE(MRZ)`, `PACE(CAN)`, `PACE(PIN)`, `PACE(PUK)`, combined with `AND`/`OR` (AND
 * binds tighter) and parentheses. PIN and KEY references are hex; words are case-insensitive.
 *
 * @example parseCondition('PACE AND PIN(03) AND SM')
 */
export function parseCondition(text: string): Condition {
  const tokens = text.match(/\(|\)|[A-Za-z]+\s*\(\s*[0-9A-Za-z]{1,3}\s*\)|[A-Za-z]+/g) ?? [];
  const joined = tokens.join('').replace(/\s/g, '');
  if (joined !== text.replace(/\s/g, '')) throw new Error(`access rule "${text}": unexpected characters`);
  let i = 0;
  const peek = (): string | undefined => tokens[i]?.toUpperCase();
  const primary = (): Condition => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`access rule "${text}": ends early`);
    if (t === '(') {
      const c = orExpr();
      if (tokens[i++] !== ')') throw new Error(`access rule "${text}": missing ")"`);
      return c;
    }
    const m = /^([A-Za-z]+)\s*(?:\(\s*([0-9A-Za-z]{1,3})\s*\))?$/.exec(t);
    const word = m?.[1]?.toUpperCase();
    const arg = m?.[2];
    const ref = arg !== undefined && /^[0-9A-Fa-f]{1,2}$/.test(arg) ? parseInt(arg, 16) : undefined;
    if (arg === undefined) {
      if (word === 'ALWAYS') return ALWAYS;
      if (word === 'NEVER') return NEVER;
      if (word === 'SM') return SM_REQUIRED;
      if (word === 'PACE') return PACE_REQUIRED;
    } else if (word === 'PACE') {
      const password = arg.toLowerCase();
      if (Object.hasOwn(PACE_PASSWORD_REFERENCE, password)) return pace(password as PacePasswordKind);
      throw new Error(`access rule "${text}": "${t}": PACE names its password as MRZ, CAN, PIN or PUK`);
    }
    if (word === 'PIN' && ref !== undefined) return pin(ref);
    if (word === 'KEY' && ref !== undefined) return key(ref);
    throw new Error(
      `access rule "${text}": "${t}" is not ALWAYS, NEVER, SM, PACE, PACE(MRZ|CAN|PIN|PUK), PIN(hex ref) or KEY(hex ref)`,
    );
  };
  const andExpr = (): Condition => {
    const parts = [primary()];
    while (peek() === 'AND') {
      i++;
      parts.push(primary());
    }
    return parts.length === 1 ? parts[0]! : and(...parts);
  };
  const orExpr = (): Condition => {
    const parts = [andExpr()];
    while (peek() === 'OR') {
      i++;
      parts.push(andExpr());
    }
    return parts.length === 1 ? parts[0]! : or(...parts);
  };
  const c = orExpr();
  if (i !== tokens.length) throw new Error(`access rule "${text}": unexpected "${tokens[i]}"`);
  return c;
}

// --- ISO/IEC 7816-4 expanded format -------------------------------------------------------------

const EF_BITS: Readonly<Partial<Record<AccessOp, number>>> = {
  read: 0x01,
  update: 0x02,
  append: 0x04,
  deactivate: 0x08,
  activate: 0x10,
  terminate: 0x20,
  delete: 0x40,
};
const DF_BITS: Readonly<Partial<Record<AccessOp, number>>> = {
  create: 0x06,
  deactivate: 0x08,
  activate: 0x10,
  terminate: 0x20,
  delete: 0x40,
};
const INS_ERASE_BINARY = 0x0e;

/**
 * Refuses rules for operations the file kind does not have (e.g. `read` on a DF, `create` on an
 * EF): they cannot be encoded in the FCP and would make SELECT and saving fail later.
 */
export function assertRulesApply(rules: AccessRules | undefined, isDf: boolean): void {
  if (rules === undefined) return;
  const bits = isDf ? DF_BITS : EF_BITS;
  for (const op of Object.keys(rules) as AccessOp[]) {
    if (!(ACCESS_OPS as readonly string[]).includes(op)) {
      throw new ByteInputError(`access rule "${op}": not an operation (${ACCESS_OPS.join(', ')})`);
    }
    if (bits[op] === undefined && !(op === 'erase' && !isDf)) {
      throw new ByteInputError(`access rule "${op}" does not apply to ${isDf ? 'a DF' : 'an EF'}`);
    }
  }
}

/** id-PACE, 0.4.0.127.0.7.2.2.4 (BSI TR-03110-3 §A.1.1.1): the arc every PACE protocol OID is under. */
const ID_PACE = new Uint8Array([0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x04]);
/** Usage qualifiers (DO 95) of the AT security conditions: PIN, KEY, PACE (see the module comment). */
const UQ_PIN = 0x08;
const UQ_KEY = 0x80;
const UQ_PACE = 0xc0;

/** Encodes one security condition DO (table 33). */
export function encodeCondition(c: Condition): Uint8Array {
  switch (c.kind) {
    case 'always':
      return new Uint8Array([0x90, 0x00]);
    case 'never':
      return new Uint8Array([0x97, 0x00]);
    case 'pin':
      return new Uint8Array([0xa4, 0x06, 0x83, 0x01, c.ref, 0x95, 0x01, UQ_PIN]);
    case 'key':
      return new Uint8Array([0xa4, 0x06, 0x83, 0x01, c.ref, 0x95, 0x01, UQ_KEY]);
    case 'sm':
      return new Uint8Array([0xb4, 0x03, 0x95, 0x01, 0x30]);
    case 'pace':
      return encodeTlv(
        0xa4,
        concatBytes(
          encodeTlv(0x80, ID_PACE),
          c.password === undefined ? new Uint8Array(0) : new Uint8Array([0x83, 0x01, PACE_PASSWORD_REFERENCE[c.password]]),
          new Uint8Array([0x95, 0x01, UQ_PACE]),
        ),
      );
    case 'and':
      return encodeTlv(0xaf, concatBytes(...c.of.map(encodeCondition)));
    case 'or':
      return encodeTlv(0xa0, concatBytes(...c.of.map(encodeCondition)));
  }
}

function decodeCondition(t: Tlv): Condition {
  switch (t.tag) {
    case 0x90:
      return ALWAYS;
    case 0x97:
      return NEVER;
    case 0xa4:
      return decodeAt(t);
    case 0xb4:
      return SM_REQUIRED;
    case 0xa0:
    case 0xaf: {
      const of = (t.children ?? []).map(decodeCondition);
      if (of.length === 0) throw new TlvError('empty AND/OR template', 0);
      return t.tag === 0xa0 ? or(...of) : and(...of);
    }
    default:
      throw new TlvError(`unsupported security condition DO ${t.tag.toString(16).toUpperCase()}`, 0);
  }
}

/**
 * An authentication template: PIN(ref) or KEY(ref) (exactly DOs 83 and 95), or PACE (DO 80 = id-PACE,
 * optional 83 = password reference, 95 = C0). Strict: another DO, a DO twice or another mechanism
 * is an error, so a template meaning more than we read never loads as a weaker condition.
 */
function decodeAt(t: Tlv): Condition {
  const kids = t.children ?? [];
  const tags = kids.map((k) => k.tag);
  if (new Set(tags).size !== tags.length) throw new TlvError('AT: a DO appears twice', 0);
  const uq = childByte(t, 0x95);
  if (tags.includes(0x80)) {
    const mech = kids.find((k) => k.tag === 0x80)!.value;
    if (!equalBytes(mech, ID_PACE)) throw new TlvError(`AT mechanism reference ${bytesToHex(mech)} is not id-PACE (04007F0007020204)`, 0);
    if (uq !== UQ_PACE) throw new TlvError(`AT for PACE: usage qualifier ${uq.toString(16).toUpperCase()} is not C0`, 0);
    if (tags.some((x) => x !== 0x80 && x !== 0x83 && x !== 0x95)) throw new TlvError('AT for PACE: only DOs 80, 83 and 95', 0);
    if (!tags.includes(0x83)) return PACE_REQUIRED;
    const ref = childByte(t, 0x83);
    const password = passwordKindOf(ref);
    if (password === undefined) throw new TlvError(`AT for PACE: password reference ${ref} is not 01 (MRZ), 02 (CAN), 03 (PIN) or 04 (PUK)`, 0);
    return pace(password);
  }
  if (tags.length !== 2) throw new TlvError('AT for PIN/KEY: exactly DOs 83 and 95', 0);
  const ref = childByte(t, 0x83);
  if (uq === UQ_PIN) return pin(ref);
  if (uq === UQ_KEY) return key(ref);
  throw new TlvError(`AT usage qualifier ${uq.toString(16)} is not 08 (PIN), 80 (key) or C0 (PACE)`, 0);
}

function childByte(t: Tlv, tag: number): number {
  const c = t.children?.find((x) => x.tag === tag);
  if (c === undefined || c.value.length !== 1) {
    throw new TlvError(`template ${t.tag.toString(16).toUpperCase()} needs a one-byte ${tag.toString(16).toUpperCase()}`, 0);
  }
  return c.value[0]!;
}

function sameCondition(a: Condition, b: Condition): boolean {
  return formatCondition(a) === formatCondition(b);
}

/**
 * Encodes rules as the value of FCP tag 'AB' (without the AB header). Operations with the same
 * condition share one AM byte; erase on an EF gets its own command-header DO.
 */
export function encodeAccessRules(rules: AccessRules, isDf: boolean): Uint8Array {
  const bits = isDf ? DF_BITS : EF_BITS;
  const groups: { am: number; cond: Condition }[] = [];
  const parts: Uint8Array[] = [];
  for (const op of ACCESS_OPS) {
    const c = rules[op];
    if (c === undefined) continue;
    const bit = bits[op];
    if (bit === undefined) {
      if (op === 'erase' && !isDf) {
        parts.push(new Uint8Array([0x84, 0x01, INS_ERASE_BINARY]), encodeCondition(c));
        continue;
      }
      throw new Error(`access rule "${op}" does not apply to ${isDf ? 'a DF' : 'an EF'}`);
    }
    const g = groups.find((x) => sameCondition(x.cond, c));
    if (g) g.am |= bit;
    else groups.push({ am: bit, cond: c });
  }
  const out: Uint8Array[] = [];
  for (const g of groups) out.push(new Uint8Array([0x80, 0x01, g.am]), encodeCondition(g.cond));
  return concatBytes(...out, ...parts);
}

/**
 * Decodes the value of FCP tag 'AB'. Strict: an AM DO without a following SC DO, unknown AM DOs
 * or SC DOs raise `TlvError`, so a card image or CREATE FILE never carries rules we misread.
 */
export function decodeAccessRules(value: Uint8Array, isDf: boolean): AccessRules {
  const list = parseTlvList(value);
  const bits = isDf ? DF_BITS : EF_BITS;
  const rules: Partial<Record<AccessOp, Condition>> = {};
  for (let i = 0; i < list.length; i += 2) {
    const am = list[i]!;
    const sc = list[i + 1];
    if (sc === undefined) throw new TlvError('access mode DO without a security condition DO', 0);
    const cond = decodeCondition(sc);
    if (am.tag === 0x80) {
      if (am.value.length !== 1) throw new TlvError('AM byte DO 80 must be one byte', 0);
      const b = am.value[0]!;
      for (const op of ACCESS_OPS) {
        const bit = bits[op];
        if (bit !== undefined && (b & bit) !== 0) rules[op] = cond;
      }
      if (isDf && (b & 0x01) !== 0 && rules.delete === undefined) rules.delete = cond;
    } else if (am.tag === 0x84 && am.value.length === 1 && am.value[0] === INS_ERASE_BINARY && !isDf) {
      rules.erase = cond;
    } else {
      throw new TlvError(`unsupported access mode DO ${am.tag.toString(16).toUpperCase()}`, 0);
    }
  }
  return rules;
}
