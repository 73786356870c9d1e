/**
 * Checks on holder values that a JSON Schema cannot express. Each returns `undefined` when the
 * value is fine, or what is wrong with it in words (the caller adds where).
 *
 * @example maskedPanProblem('4111111111111111') // 'no digit is masked: …'
 */

/** A real calendar date in YYYY-MM-DD (no 31 April, no 29 February outside leap years). */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && y >= 1900;
}

/** Luhn check (ISO/IEC 7812-1 Annex B): what every payment card number passes. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * A masked primary account number as PCI DSS v4.0 requirement 3.4.1 allows it to be shown: 13–19
 * positions, visible digits only at the start (at most the 6-digit BIN, 8 digits for numbers of 16
 * or more) and at the end (at most 4), every other position masked with '*' or 'X'.
 *
 * @example maskedPanProblem('411111******1111') // undefined
 */
export function maskedPanProblem(pan: string): string | undefined {
  if (pan.length < 13 || pan.length > 19) return `a card number has 13 to 19 positions, got ${pan.length}`;
  const m = /^(\d*)([*X]+)(\d*)$/.exec(pan);
  if (m === null) {
    if (/^\d+$/.test(pan)) return 'no digit is masked: this is a full card number, which a holder document must never hold';
    return 'visible digits may only stand at the start and the end, with * or X between them';
  }
  const lead = m[1]!.length;
  const trail = m[3]!.length;
  const maxLead = pan.length >= 16 ? 8 : 6;
  if (lead > maxLead) return `at most the first ${maxLead} digits may be visible, ${lead} are`;
  if (trail > 4) return `at most the last 4 digits may be visible, ${trail} are`;
  return undefined;
}
