/**
 * Status words (ISO/IEC 7816-4 §5.6, tables 5 and 6) and the one error type the card raises.
 *
 * Every card-facing failure is a {@link StatusWordError}; the card OS turns it into a response
 * APDU in exactly one place (`src/card/os.ts`).
 */
import { u16Hex } from '../bytes/index.js';

/** The status words chipwright's card emits or understands, named after their ISO meaning. */
export const SW = {
  OK: 0x9000,
  /** 61XX: SW2 bytes still available, fetch with GET RESPONSE (§5.6, §11.7.1). */
  BYTES_REMAINING: 0x6100,
  WARN_NV_UNCHANGED: 0x6200,
  WARN_EOF: 0x6282,
  WARN_FILE_DEACTIVATED: 0x6283,
  WARN_FCI_FORMAT: 0x6284,
  WARN_FILE_TERMINATED: 0x6285,
  WARN_NV_CHANGED: 0x6300,
  /** 63CX: counter X (retries left). */
  COUNTER: 0x63c0,
  EXEC_NV_UNCHANGED: 0x6400,
  MEMORY_FAILURE: 0x6581,
  WRONG_LENGTH: 0x6700,
  CLA_FUNCTION_NOT_SUPPORTED: 0x6800,
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  SM_NOT_SUPPORTED: 0x6882,
  LAST_COMMAND_OF_CHAIN_EXPECTED: 0x6883,
  CHAINING_NOT_SUPPORTED: 0x6884,
  COMMAND_NOT_ALLOWED: 0x6900,
  COMMAND_INCOMPATIBLE_WITH_FILE: 0x6981,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  COMMAND_NOT_ALLOWED_NO_EF: 0x6986,
  SM_DO_MISSING: 0x6987,
  SM_DO_INCORRECT: 0x6988,
  WRONG_PARAMS_DATA: 0x6a00,
  INCORRECT_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  RECORD_NOT_FOUND: 0x6a83,
  NOT_ENOUGH_MEMORY: 0x6a84,
  NC_INCONSISTENT_WITH_TLV: 0x6a85,
  INCORRECT_P1P2: 0x6a86,
  NC_INCONSISTENT_WITH_P1P2: 0x6a87,
  REFERENCE_NOT_FOUND: 0x6a88,
  FILE_EXISTS: 0x6a89,
  DF_NAME_EXISTS: 0x6a8a,
  WRONG_P1P2: 0x6b00,
  /** 6CXX: wrong Le; SW2 is the exact number of available bytes. */
  WRONG_LE: 0x6c00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  UNKNOWN: 0x6f00,
} as const;

const EXACT: ReadonlyMap<number, string> = new Map<number, string>([
  [0x9000, 'Normal processing'],
  [0x6200, 'Warning: no information given, non-volatile memory unchanged'],
  [0x6281, 'Warning: part of returned data may be corrupted'],
  [0x6282, 'Warning: end of file or record reached before reading Ne bytes'],
  [0x6283, 'Warning: selected file deactivated'],
  [0x6284, 'Warning: file control information not formatted according to 7816-4'],
  [0x6285, 'Warning: selected file in termination state'],
  [0x6286, 'Warning: no input data available from a sensor on the card'],
  [0x6300, 'Warning: verification failed / non-volatile memory changed'],
  [0x6381, 'Warning: file filled up by the last write'],
  [0x6400, 'Error: execution error, non-volatile memory unchanged'],
  [0x6401, 'Error: immediate response required by the card'],
  [0x6500, 'Error: non-volatile memory changed'],
  [0x6581, 'Error: memory failure'],
  [0x6700, 'Wrong length'],
  [0x6800, 'Functions in CLA not supported'],
  [0x6881, 'Logical channel not supported'],
  [0x6882, 'Secure messaging not supported'],
  [0x6883, 'Last command of the chain expected'],
  [0x6884, 'Command chaining not supported'],
  [0x6900, 'Command not allowed'],
  [0x6981, 'Command incompatible with file structure'],
  [0x6982, 'Security status not satisfied'],
  [0x6983, 'Authentication method blocked'],
  [0x6984, 'Reference data not usable'],
  [0x6985, 'Conditions of use not satisfied'],
  [0x6986, 'Command not allowed (no current EF)'],
  [0x6987, 'Expected secure messaging data objects missing'],
  [0x6988, 'Incorrect secure messaging data objects'],
  [0x6a00, 'Wrong parameters P1-P2'],
  [0x6a80, 'Incorrect parameters in the command data field'],
  [0x6a81, 'Function not supported'],
  [0x6a82, 'File or application not found'],
  [0x6a83, 'Record not found'],
  [0x6a84, 'Not enough memory space in the file'],
  [0x6a85, 'Nc inconsistent with TLV structure'],
  [0x6a86, 'Incorrect parameters P1-P2'],
  [0x6a87, 'Nc inconsistent with parameters P1-P2'],
  [0x6a88, 'Referenced data or reference data not found'],
  [0x6a89, 'File already exists'],
  [0x6a8a, 'DF name already exists'],
  [0x6b00, 'Wrong parameters P1-P2 (offset outside the EF)'],
  [0x6d00, 'Instruction code not supported or invalid'],
  [0x6e00, 'Class not supported'],
  [0x6f00, 'No precise diagnosis'],
]);

/**
 * The ISO meaning of a status word, for traces and error messages.
 *
 * @example describeSw(0x63c2) // 'Verification failed, 2 tries left'
 */
export function describeSw(sw: number): string {
  const exact = EXACT.get(sw);
  if (exact !== undefined) return exact;
  const sw1 = sw >>> 8;
  const sw2 = sw & 0xff;
  if (sw1 === 0x61) return `${sw2 === 0 ? '256 or more' : sw2} bytes still available (GET RESPONSE)`;
  if (sw1 === 0x6c) return `Wrong Le field: ${sw2 === 0 ? 256 : sw2} bytes available`;
  if (sw1 === 0x63 && (sw2 & 0xf0) === 0xc0) {
    const n = sw2 & 0x0f;
    return `Verification failed, ${n} ${n === 1 ? 'try' : 'tries'} left`;
  }
  if (sw1 === 0x62 && sw2 >= 0x02 && sw2 <= 0x80) return `Warning: ${sw2} bytes of triggering data`;
  if (sw1 === 0x62 || sw1 === 0x63) return 'Warning (unspecified)';
  if (sw1 === 0x64 || sw1 === 0x65) return 'Execution error';
  if (sw1 === 0x67) return 'Wrong length';
  if (sw1 === 0x68) return 'Functions in CLA not supported';
  if (sw1 === 0x69) return 'Command not allowed';
  if (sw1 === 0x6a) return 'Wrong parameters P1-P2';
  return 'Unknown status word';
}

/** "6982 Security status not satisfied" — the form traces and reports print. */
export function formatSw(sw: number): string {
  return `${u16Hex(sw)} ${describeSw(sw)}`;
}

/** True for 9000, 61XX and the 62XX/63XX warnings (ISO/IEC 7816-4 §5.6: processing completed). */
export function isSuccessSw(sw: number): boolean {
  const sw1 = sw >>> 8;
  return sw === 0x9000 || sw1 === 0x61 || sw1 === 0x62 || sw1 === 0x63;
}

/**
 * A card-facing failure carrying the status word to answer. `detail` is for the trace only; it is
 * never sent to the terminal and must not contain secrets.
 */
export class StatusWordError extends Error {
  override readonly name = 'StatusWordError';
  constructor(
    readonly sw: number,
    readonly detail?: string,
  ) {
    super(detail ? `${formatSw(sw)}: ${detail}` : formatSw(sw));
  }
}

/** Throws `StatusWordError(sw)`; an expression-position helper for guards. */
export function fail(sw: number, detail?: string): never {
  throw new StatusWordError(sw, detail);
}

/** 63CX with X = tries left (capped at 15, the nibble's range). */
export function counterSw(triesLeft: number): number {
  return 0x63c0 | Math.min(15, Math.max(0, triesLeft));
}
