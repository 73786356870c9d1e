/**
 * Command data fields that carry BER-TLV data objects (MSE, GENERAL AUTHENTICATE, GENERATE
 * ASYMMETRIC KEY PAIR, ...), parsed once for the card: data that is not well-formed BER-TLV is
 * the command's fault, so it becomes status word 6A80 "incorrect parameters in the command data
 * field" (ISO/IEC 7816-4 §5.6, Table 6), never an exception out of the card.
 */
import { SW, StatusWordError } from '../apdu/status.js';
import { parseTlv, parseTlvList, TlvError, type Tlv } from '../tlv/ber.js';

function orIncorrectData<T>(parse: () => T, what: string): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TlvError) throw new StatusWordError(SW.INCORRECT_DATA, `${what}: ${e.message}`);
    throw e;
  }
}

/**
 * The data field as exactly one BER-TLV object; otherwise 6A80 with `what` named in the log.
 *
 * @example commandTlv(cmd.data, 'GENERAL AUTHENTICATE data').tag // 0x7c
 */
export function commandTlv(data: Uint8Array, what: string): Tlv {
  return orIncorrectData(() => parseTlv(data), what);
}

/**
 * The data field as a list of BER-TLV objects (empty data: none); otherwise 6A80.
 *
 * @example commandTlvList(cmd.data, 'MSE:SET data').map((d) => d.tag) // [0x80, 0x84]
 */
export function commandTlvList(data: Uint8Array, what: string): Tlv[] {
  return orIncorrectData(() => parseTlvList(data), what);
}
