/**
 * File control information (ISO/IEC 7816-4:2013 §7.4): the FCP template ('62') describing a file,
 * the FMD template ('64'), and the FCI template ('6F') that carries both. CREATE FILE takes an FCP
 * template; SELECT returns whichever P2 asks for.
 *
 * FCP data objects used (table 12 of the standard):
 * `80` data bytes · `82` file descriptor (FDB, data coding byte '21', max record size, number of
 * records) · `83` FID · `84` DF name · `88` short EF identifier (b8–b4) · `8A` life-cycle status ·
 * `AB` security attributes in expanded format (see `security/access.ts`).
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import { concatBytes, readUintBE, u16, uintToBytes } from '../../bytes/index.js';
import { encodeTlv, findTlv, parseTlvList, type Tlv } from '../../tlv/ber.js';
import { decodeAccessRules, encodeAccessRules, type AccessRules } from '../security/access.js';
import {
  LCS,
  newDf,
  newRecordEf,
  newTransparentEf,
  type EfStructure,
  type FileNode,
} from './file.js';

/** File descriptor bytes (ISO/IEC 7816-4 §7.4.5, table 14). */
export const FDB = {
  DF: 0x38,
  TRANSPARENT: 0x01,
  LINEAR_FIXED: 0x02,
  LINEAR_VARIABLE: 0x04,
  CYCLIC: 0x06,
} as const;

/**
 * chipwright's proprietary FCP data object '85' (ISO/IEC 7816-4 table 12: "proprietary information
 * not encoded in BER-TLV"), one byte of flags: b1 = the EF is encrypted at rest and readable only
 * under secure messaging. Other bits are reserved (6A80 when set).
 */
export const FILE_FLAG_ENCRYPTED = 0x01;

/** Data coding byte '21': data unit of one byte, proprietary write behaviour (the common value). */
const DATA_CODING = 0x21;

const STRUCTURE_FDB: Readonly<Record<EfStructure, number>> = {
  transparent: FDB.TRANSPARENT,
  'linear-fixed': FDB.LINEAR_FIXED,
  'linear-variable': FDB.LINEAR_VARIABLE,
  cyclic: FDB.CYCLIC,
};

/** The contents (without the '62' header) of a file's FCP. */
export function fcpContents(f: FileNode): Uint8Array {
  const parts: Uint8Array[] = [];
  if (f.kind === 'DF') {
    parts.push(encodeTlv(0x82, new Uint8Array([FDB.DF, DATA_CODING])));
    parts.push(encodeTlv(0x83, u16(f.fid)));
    if (f.name) parts.push(encodeTlv(0x84, f.name));
  } else if (f.structure === 'transparent') {
    parts.push(encodeTlv(0x80, uintToBytes(f.data.length, 2)));
    parts.push(encodeTlv(0x82, new Uint8Array([FDB.TRANSPARENT, DATA_CODING])));
    parts.push(encodeTlv(0x83, u16(f.fid)));
  } else {
    parts.push(encodeTlv(0x80, uintToBytes(f.recordSize * f.maxRecords, 2)));
    const rs = f.recordSize;
    parts.push(
      encodeTlv(0x82, new Uint8Array([STRUCTURE_FDB[f.structure], DATA_CODING, rs >>> 8, rs & 0xff, f.maxRecords])),
    );
    parts.push(encodeTlv(0x83, u16(f.fid)));
  }
  if (f.kind === 'EF' && f.sfi !== undefined) parts.push(encodeTlv(0x88, new Uint8Array([f.sfi << 3])));
  if (f.kind === 'EF' && f.encrypted === true) parts.push(encodeTlv(0x85, new Uint8Array([FILE_FLAG_ENCRYPTED])));
  parts.push(encodeTlv(0x8a, new Uint8Array([f.lcs])));
  if (f.rules !== undefined) parts.push(encodeTlv(0xab, encodeAccessRules(f.rules, f.kind === 'DF')));
  return concatBytes(...parts);
}

/** FCP template '62'. */
export function encodeFcp(f: FileNode): Uint8Array {
  return encodeTlv(0x62, fcpContents(f));
}

/** FMD template '64': the DF name as application identifier ('4F') where there is one. */
export function encodeFmd(f: FileNode): Uint8Array {
  return encodeTlv(0x64, f.kind === 'DF' && f.name ? encodeTlv(0x4f, f.name) : new Uint8Array(0));
}

/**
 * FCI template '6F' (§7.4.1): the FCP and FMD data objects side by side, not nested templates.
 * The FMD's only object here, the application identifier '4F', would repeat the DF name already
 * present as '84', so the FCI carries the name once.
 */
export function encodeFci(f: FileNode): Uint8Array {
  return encodeTlv(0x6f, fcpContents(f));
}

function bad(field: string): never {
  throw new StatusWordError(SW.INCORRECT_DATA, `FCP ${field}`);
}

function one(list: readonly Tlv[], tag: number): Tlv | undefined {
  const t = findTlv(list, tag);
  if (t !== undefined && list.filter((x) => x.tag === tag).length > 1) bad(`tag ${tag.toString(16)} repeated`);
  return t;
}

/**
 * Builds a detached file from an FCP template for CREATE FILE (ISO/IEC 7816-9 §7.1.1). Malformed
 * templates answer 6A80 (incorrect data) or 6A85 (not TLV); the detail names the data object.
 *
 * - `82` is required: FDB '38' (or '78', shareable) = DF; b6–b4 = 000 or 001 with b3–b1 = 001
 *   transparent, 010/011 linear fixed, 100/101 linear variable, 110/111 cyclic (TLV variants are
 *   accepted).
 * - `83` is required (the FID); `80` gives a transparent EF's size (default 0); record EFs take
 *   max record size and number of records from `82` (FDB, data coding, size on 1 or 2 bytes,
 *   count on 1 or 2 bytes after a 2-byte size — as OpenSC reads it); when `82` has no count
 *   (3 or 4 bytes), it is `80` divided by the record size.
 * - `88` one byte gives the SFI in b8–b4; absent or empty means no SFI (chipwright does not apply
 *   ISO's implicit "low five bits of the FID" rule, which makes SFIs collide silently).
 * - `8A` sets the initial life-cycle status (01, 03, 04 or 05; default 05 activated).
 */
export function fileFromFcp(template: Uint8Array): FileNode {
  let top: Tlv[];
  try {
    top = parseTlvList(template);
  } catch {
    throw new StatusWordError(SW.NC_INCONSISTENT_WITH_TLV, 'FCP is not BER-TLV');
  }
  if (top.length !== 1 || top[0]!.tag !== 0x62) bad('template must be one 62 object');
  const list = top[0]!.children ?? [];
  const d = one(list, 0x82);
  if (d === undefined || d.value.length < 1) bad('82 (file descriptor) missing');
  const fidTlv = one(list, 0x83);
  if (fidTlv === undefined || fidTlv.value.length !== 2) bad('83 (FID) must be 2 bytes');
  const fid = readUintBE(fidTlv.value);
  if (fid === 0x3f00 || fid === 0x3fff || fid === 0xffff) bad(`83 FID ${fid.toString(16)} is reserved`);
  const fdb = d.value[0]!;
  const lcsTlv = one(list, 0x8a);
  let lcs: number = LCS.ACTIVATED;
  if (lcsTlv !== undefined) {
    const v = lcsTlv.value[0];
    if (lcsTlv.value.length !== 1 || (v !== 0x01 && v !== 0x03 && v !== 0x04 && v !== 0x05)) {
      bad('8A life-cycle status must be 01, 03, 04 or 05');
    }
    lcs = v;
  }
  // FDB '38' (b7 = 1: shareable) is a DF; other values with b6-b4 = 111 are RFU (table 14).
  const isDf = (fdb & 0xbf) === 0x38;
  let rules: AccessRules | undefined;
  const ab = one(list, 0xab);
  if (ab !== undefined) {
    try {
      rules = decodeAccessRules(ab.value, isDf);
    } catch (e) {
      bad(`AB security attributes: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (isDf) {
    const nameTlv = one(list, 0x84);
    if (nameTlv !== undefined && (nameTlv.value.length < 1 || nameTlv.value.length > 16)) {
      bad('84 DF name must be 1..16 bytes');
    }
    const df = newDf(fid, nameTlv?.value.slice(), rules);
    df.lcs = lcs;
    return df;
  }
  if ((fdb & 0x80) !== 0 || (fdb & 0x38) > 0x08) bad(`82 file descriptor byte ${fdb.toString(16)} not supported`);
  const sfiTlv = one(list, 0x88);
  let sfi: number | undefined;
  if (sfiTlv !== undefined && sfiTlv.value.length > 0) {
    const b = sfiTlv.value[0]!;
    if (sfiTlv.value.length !== 1 || (b & 0x07) !== 0 || b >>> 3 === 0 || b >>> 3 === 0x1f) {
      bad('88 short EF identifier must be one byte, SFI 1..30 in b8-b4');
    }
    sfi = b >>> 3;
  }
  const flagsTlv = one(list, 0x85);
  let encrypted = false;
  if (flagsTlv !== undefined) {
    if (flagsTlv.value.length !== 1 || (flagsTlv.value[0]! & ~FILE_FLAG_ENCRYPTED) !== 0) {
      bad('85 flags must be one byte, only b1 (encrypted at rest) may be set');
    }
    encrypted = (flagsTlv.value[0]! & FILE_FLAG_ENCRYPTED) !== 0;
  }
  const kind = fdb & 0x07;
  if (kind === 1) {
    const sizeTlv = one(list, 0x80);
    const size = sizeTlv === undefined ? 0 : sizeTlv.value.length >= 1 && sizeTlv.value.length <= 3 ? readUintBE(sizeTlv.value) : bad('80 size must be 1..3 bytes');
    if (size > 0x7fff) bad('80 size above 32767 (largest offset READ BINARY B0 can reach)');
    const ef = newTransparentEf(fid, size, { sfi, rules, encrypted });
    ef.lcs = lcs;
    return ef;
  }
  const structure: EfStructure | undefined =
    kind === 2 || kind === 3 ? 'linear-fixed' : kind === 4 || kind === 5 ? 'linear-variable' : kind === 6 || kind === 7 ? 'cyclic' : undefined;
  if (structure === undefined) bad(`82 file descriptor byte ${fdb.toString(16)} not supported`);
  // '82' = FDB, data coding byte, max record size (1 or 2 bytes), number of records (1 or 2
  // bytes, only after a 2-byte size): lengths 3/4 carry no count, which then comes from '80'.
  const v = d.value;
  if (v.length < 3 || v.length > 6) {
    bad('82 for a record EF needs FDB, data coding and max record size (and number of records or 80)');
  }
  const recordSize = v.length === 3 ? v[2]! : (v[2]! << 8) | v[3]!;
  let maxRecords: number;
  if (v.length === 5) maxRecords = v[4]!;
  else if (v.length === 6) maxRecords = (v[4]! << 8) | v[5]!;
  else {
    const sizeTlv = one(list, 0x80);
    if (sizeTlv === undefined || sizeTlv.value.length < 1 || sizeTlv.value.length > 3 || recordSize < 1) {
      return bad('82 has no number of records and 80 gives no file size to derive it from');
    }
    maxRecords = Math.floor(readUintBE(sizeTlv.value) / recordSize);
  }
  if (recordSize < 1 || recordSize > 255 || maxRecords < 1 || maxRecords > 254) {
    bad('82 record size must be 1..255 and number of records 1..254');
  }
  const ef = newRecordEf(fid, structure, recordSize, maxRecords, { sfi, rules, encrypted });
  ef.lcs = lcs;
  return ef;
}
