/**
 * Instruction codes of the interindustry commands (ISO/IEC 7816-4 §5.4.2 table 4, ISO/IEC 7816-8,
 * ISO/IEC 7816-9), named for traces. The card's dispatch table uses these constants.
 */
export const INS = {
  DEACTIVATE_FILE: 0x04,
  ERASE_RECORDS: 0x0c,
  ERASE_BINARY: 0x0e,
  ERASE_BINARY_ODD: 0x0f,
  PERFORM_SCQL: 0x10,
  PERFORM_TRANSACTION: 0x12,
  PERFORM_USER_OPERATION: 0x14,
  VERIFY: 0x20,
  VERIFY_ODD: 0x21,
  MANAGE_SECURITY_ENVIRONMENT: 0x22,
  CHANGE_REFERENCE_DATA: 0x24,
  DISABLE_VERIFICATION: 0x26,
  ENABLE_VERIFICATION: 0x28,
  PERFORM_SECURITY_OPERATION: 0x2a,
  RESET_RETRY_COUNTER: 0x2c,
  ACTIVATE_FILE: 0x44,
  GENERATE_ASYMMETRIC_KEY_PAIR: 0x46,
  MANAGE_CHANNEL: 0x70,
  EXTERNAL_AUTHENTICATE: 0x82,
  GET_CHALLENGE: 0x84,
  GENERAL_AUTHENTICATE: 0x86,
  GENERAL_AUTHENTICATE_ODD: 0x87,
  INTERNAL_AUTHENTICATE: 0x88,
  SEARCH_BINARY: 0xa0,
  SEARCH_RECORD: 0xa2,
  SELECT: 0xa4,
  READ_BINARY: 0xb0,
  READ_BINARY_ODD: 0xb1,
  READ_RECORDS: 0xb2,
  READ_RECORDS_ODD: 0xb3,
  GET_RESPONSE: 0xc0,
  ENVELOPE: 0xc2,
  GET_DATA: 0xca,
  GET_DATA_ODD: 0xcb,
  WRITE_BINARY: 0xd0,
  WRITE_RECORD: 0xd2,
  UPDATE_BINARY: 0xd6,
  UPDATE_BINARY_ODD: 0xd7,
  PUT_DATA: 0xda,
  PUT_DATA_ODD: 0xdb,
  UPDATE_RECORD: 0xdc,
  UPDATE_RECORD_ODD: 0xdd,
  CREATE_FILE: 0xe0,
  APPEND_RECORD: 0xe2,
  DELETE_FILE: 0xe4,
  TERMINATE_DF: 0xe6,
  TERMINATE_EF: 0xe8,
  TERMINATE_CARD_USAGE: 0xfe,
} as const;

const NAMES: readonly (string | undefined)[] = (() => {
  const names: (string | undefined)[] = new Array(256).fill(undefined);
  for (const [k, v] of Object.entries(INS)) {
    if (names[v] === undefined) names[v] = k.replace(/_ODD$/, '').replace(/_/g, ' ');
  }
  return names;
})();

/** "READ BINARY" for 0xB0; `INS 5A` for codes no standard here names. */
export function insName(ins: number): string {
  return NAMES[ins & 0xff] ?? `INS ${(ins & 0xff).toString(16).toUpperCase().padStart(2, '0')}`;
}
