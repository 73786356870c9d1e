/**
 * The card file system's objects (ISO/IEC 7816-4 §7.1): the MF, DFs (with an optional DF name,
 * i.e. an AID), and EFs with transparent, linear fixed, linear variable or cyclic structure.
 *
 * These are plain non-volatile objects; every change goes through {@link NvMemory} so it is
 * journalled. `parent` links are transient (rebuilt when an image loads).
 */
import { assertRulesApply, type AccessRules } from '../security/access.js';
import type { PinObject, KeyObject, AsymmetricKeyObject } from '../security/objects.js';

/**
 * Life-cycle status byte (ISO/IEC 7816-4 §7.4.10, table 15): the values chipwright uses.
 * b1 of an operational state distinguishes activated (05) from deactivated (04).
 */
export const LCS = {
  CREATION: 0x01,
  INITIALISATION: 0x03,
  ACTIVATED: 0x05,
  DEACTIVATED: 0x04,
  TERMINATED: 0x0c,
} as const;

export type EfStructure = 'transparent' | 'linear-fixed' | 'linear-variable' | 'cyclic';

interface FileBase {
  /** File identifier (ISO/IEC 7816-4 §7.1.1); 3F00 is reserved for the MF. */
  fid: number;
  /** Life-cycle status byte. */
  lcs: number;
  /** Access rules; `undefined` = no security attributes (unprotected). */
  rules: AccessRules | undefined;
  /** Transient link to the parent DF (null for the MF). */
  parent: DedicatedFile | null;
}

/** A BER-TLV data object stored in a DF for GET DATA / PUT DATA (ISO/IEC 7816-4 §11.4). */
export interface DataObject {
  tag: number;
  value: Uint8Array;
}

export interface DedicatedFile extends FileBase {
  readonly kind: 'DF';
  /** DF name (AID), 1–16 bytes (ISO/IEC 7816-4 §7.1.1). */
  name: Uint8Array | undefined;
  children: FileNode[];
  /** PIN/PUK objects owned by this DF (global references live in the MF). */
  pins: PinObject[];
  /** Symmetric keys owned by this DF. */
  keys: KeyObject[];
  dataObjects: DataObject[];
  /**
   * Asymmetric key objects (AA, CA, signature and decipherment keys) owned by this DF: the card's
   * key store. Absent until the first key is stored here (`card/protocols/key-store.ts`).
   */
  asymmetricKeys?: AsymmetricKeyObject[];
}

export interface TransparentEf extends FileBase {
  readonly kind: 'EF';
  readonly structure: 'transparent';
  sfi: number | undefined;
  /** Fixed allocation; `data.length` is the file size. */
  data: Uint8Array;
  /** Kept encrypted at rest and readable only under secure messaging (see `image.ts`). */
  encrypted?: boolean;
}

export interface RecordEf extends FileBase {
  readonly kind: 'EF';
  readonly structure: 'linear-fixed' | 'linear-variable' | 'cyclic';
  sfi: number | undefined;
  /** Maximum (variable) or exact (fixed, cyclic) record length. */
  recordSize: number;
  maxRecords: number;
  /** Records in record-number order: records[0] is record 1 (for cyclic: the newest). */
  records: Uint8Array[];
  /** Kept encrypted at rest and readable only under secure messaging (see `image.ts`). */
  encrypted?: boolean;
}

export type ElementaryFile = TransparentEf | RecordEf;
export type FileNode = DedicatedFile | ElementaryFile;

export const MF_FID = 0x3f00;

/** A new DF (not attached). */
export function newDf(fid: number, name?: Uint8Array, rules?: AccessRules): DedicatedFile {
  assertRulesApply(rules, true);
  return {
    kind: 'DF',
    fid,
    name,
    lcs: LCS.ACTIVATED,
    rules,
    parent: null,
    children: [],
    pins: [],
    keys: [],
    dataObjects: [],
  };
}

/** The DF a file lives in (itself for a DF). */
export function owningDf(f: FileNode): DedicatedFile {
  return f.kind === 'DF' ? f : f.parent!;
}

/** Bytes a file occupies, for the card's capacity accounting. */
export function fileFootprint(f: FileNode): number {
  if (f.kind === 'DF') return 32 + f.children.reduce((n, c) => n + fileFootprint(c), 0);
  if (f.structure === 'transparent') return 32 + f.data.length;
  return 32 + f.recordSize * f.maxRecords;
}

/** True when `f` and every DF above it are usable (not deactivated, not terminated). */
export function lifeCycleUsable(f: FileNode): boolean {
  for (let x: FileNode | null = f; x !== null; x = x.parent) {
    if (x.lcs !== LCS.ACTIVATED && x.lcs !== LCS.CREATION && x.lcs !== LCS.INITIALISATION) return false;
  }
  return true;
}

export function isTerminated(f: FileNode): boolean {
  return (f.lcs & 0xfc) === 0x0c;
}

/** Path of FIDs from the MF (exclusive) to `f`, for traces and the image. */
export function pathOf(f: FileNode): number[] {
  const p: number[] = [];
  for (let x: FileNode | null = f; x !== null && x.parent !== null; x = x.parent) p.unshift(x.fid);
  return p;
}

/** "3F00/DF01/0101" for people. */
export function formatPath(f: FileNode): string {
  return ['3F00', ...pathOf(f).map((n) => n.toString(16).toUpperCase().padStart(4, '0'))].join('/');
}

/** A new transparent EF of `size` bytes (erased to 00), not attached. */
export function newTransparentEf(
  fid: number,
  size: number,
  opts: { sfi?: number; rules?: AccessRules; data?: Uint8Array; encrypted?: boolean } = {},
): TransparentEf {
  assertRulesApply(opts.rules, false);
  const data = new Uint8Array(size);
  if (opts.data) data.set(opts.data.subarray(0, size));
  return {
    kind: 'EF',
    structure: 'transparent',
    fid,
    sfi: opts.sfi,
    lcs: LCS.ACTIVATED,
    rules: opts.rules,
    parent: null,
    data,
    ...(opts.encrypted === true ? { encrypted: true } : {}),
  };
}

/** A new record EF (linear fixed, linear variable or cyclic), not attached. */
export function newRecordEf(
  fid: number,
  structure: RecordEf['structure'],
  recordSize: number,
  maxRecords: number,
  opts: { sfi?: number; rules?: AccessRules; records?: Uint8Array[]; encrypted?: boolean } = {},
): RecordEf {
  assertRulesApply(opts.rules, false);
  return {
    kind: 'EF',
    structure,
    fid,
    sfi: opts.sfi,
    lcs: LCS.ACTIVATED,
    rules: opts.rules,
    parent: null,
    recordSize,
    maxRecords,
    records: (opts.records ?? []).map((r) => r.slice()),
    ...(opts.encrypted === true ? { encrypted: true } : {}),
  };
}
