/**
 * The Logical Data Structure's files (ICAO Doc 9303-10, 8th ed. 2021, §3.6 and Table 35): each
 * data group's tag (the outer template of its file and the entry of EF.COM's tag list), its file
 * identifier and short EF identifier under the eMRTD application.
 *
 * @example LDS_DATA_GROUPS[2] // { number: 2, name: 'DG2', tag: 0x75, fid: 0x0102, sfi: 2 }
 */

export interface LdsFileInfo {
  readonly name: string;
  /** Outer template tag of the file's content. */
  readonly tag: number;
  readonly fid: number;
  readonly sfi: number;
}

export interface DataGroupInfo extends LdsFileInfo {
  /** 1–16. */
  readonly number: number;
}

const DG_TAGS = [0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70] as const;

/** DG1…DG16 by number (index 0 unused). */
export const LDS_DATA_GROUPS: readonly (DataGroupInfo | undefined)[] = Object.freeze([
  undefined,
  ...DG_TAGS.map((tag, i) => Object.freeze({ number: i + 1, name: `DG${i + 1}`, tag, fid: 0x0101 + i, sfi: i + 1 })),
]);

/** EF.COM (§4.6.1): LDS version, Unicode version, tag list. */
export const EF_COM: LdsFileInfo = Object.freeze({ name: 'EF.COM', tag: 0x60, fid: 0x011e, sfi: 0x1e });
/** EF.SOD (§4.6.2): the document security object. */
export const EF_SOD: LdsFileInfo = Object.freeze({ name: 'EF.SOD', tag: 0x77, fid: 0x011d, sfi: 0x1d });
/** EF.CardAccess in the MF (ICAO 9303-10 §3.11.3): SecurityInfos for PACE, read without protection. */
export const EF_CARD_ACCESS = Object.freeze({ name: 'EF.CardAccess', fid: 0x011c, sfi: 0x1c });

/** The eMRTD application identifier (ICAO 9303-10 §3.10.1). */
export const LDS1_AID: Uint8Array = new Uint8Array([0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01]);

/** A data group's description by number, or a RangeError for anything but 1–16. */
export function dataGroup(n: number): DataGroupInfo {
  const dg = LDS_DATA_GROUPS[n];
  if (dg === undefined) throw new RangeError(`data group number must be 1..16, got ${n}`);
  return dg;
}

/** The data group whose template tag is `tag` (EF.COM's tag list), if any. */
export function dataGroupOfTag(tag: number): DataGroupInfo | undefined {
  const i = (DG_TAGS as readonly number[]).indexOf(tag);
  return i < 0 ? undefined : LDS_DATA_GROUPS[i + 1];
}
