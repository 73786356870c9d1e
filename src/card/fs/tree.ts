/**
 * Navigating and changing the file tree (ISO/IEC 7816-4 §7.1–7.3): lookup by FID, path, DF name
 * and short EF identifier, and attaching/detaching files through the journalled NV memory.
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import { equalBytes, startsWith } from '../../bytes/index.js';
import type { NvMemory } from '../nv.js';
import { assertRulesApply } from '../security/access.js';
import { MF_FID, fileFootprint, type DedicatedFile, type ElementaryFile, type FileNode } from './file.js';

export function childByFid(df: DedicatedFile, fid: number): FileNode | undefined {
  const c = df.children;
  for (let i = 0; i < c.length; i++) if (c[i]!.fid === fid) return c[i];
  return undefined;
}

export function mfOf(f: FileNode): DedicatedFile {
  let x = f;
  while (x.parent !== null) x = x.parent;
  return x as DedicatedFile;
}

/**
 * SELECT P1=00 (ISO/IEC 7816-4 §11.2.2): the FID must be unambiguous among the current DF, its
 * children, its parent and the parent's children. Searched in that order; 3F00 is always the MF.
 */
export function findByFid(current: DedicatedFile, fid: number): FileNode | undefined {
  if (fid === MF_FID) return mfOf(current);
  if (current.fid === fid) return current;
  const child = childByFid(current, fid);
  if (child) return child;
  const parent = current.parent;
  if (parent) {
    if (parent.fid === fid) return parent;
    return childByFid(parent, fid);
  }
  return undefined;
}

/** Follows a path of FIDs from `start` (SELECT P1=08/09). A DF in the middle is required. */
export function resolvePath(start: DedicatedFile, path: readonly number[]): FileNode | undefined {
  let f: FileNode = start;
  for (const fid of path) {
    if (f.kind !== 'DF') return undefined;
    const next: FileNode | undefined = fid === 0x3fff ? f : childByFid(f, fid);
    if (!next) return undefined;
    f = next;
  }
  return f;
}

/** All DFs whose name starts with `prefix`, in tree pre-order (first/next occurrence order). */
export function dfsByName(mf: DedicatedFile, prefix: Uint8Array): DedicatedFile[] {
  const out: DedicatedFile[] = [];
  const walk = (df: DedicatedFile): void => {
    if (df.name && startsWith(df.name, prefix)) out.push(df);
    for (const c of df.children) if (c.kind === 'DF') walk(c);
  };
  walk(mf);
  return out;
}

export function dfByExactName(mf: DedicatedFile, name: Uint8Array): DedicatedFile | undefined {
  return dfsByName(mf, name).find((d) => d.name !== undefined && equalBytes(d.name, name));
}

/** The EF with short identifier `sfi` directly under `df` (ISO/IEC 7816-4 §7.2.2). */
export function efBySfi(df: DedicatedFile, sfi: number): ElementaryFile | undefined {
  const c = df.children;
  for (let i = 0; i < c.length; i++) {
    const f = c[i]!;
    if (f.kind === 'EF' && f.sfi === sfi) return f;
  }
  return undefined;
}

/** Bytes used by all files, for the capacity check of CREATE FILE. */
export function usedBytes(mf: DedicatedFile): number {
  return fileFootprint(mf);
}

/**
 * Attaches `child` under `parent`. FIDs are unique among siblings and differ from the parent's
 * (6A89), DF names are unique card-wide (6A8A), SFIs unique within the DF (6A89).
 */
export function attach(nv: NvMemory, parent: DedicatedFile, child: FileNode): void {
  assertRulesApply(child.rules, child.kind === 'DF');
  if (child.fid === MF_FID || child.fid === 0x3fff || child.fid === 0xffff || child.fid === parent.fid) {
    throw new StatusWordError(SW.FILE_EXISTS, `FID ${child.fid.toString(16)} is reserved or the parent's`);
  }
  if (childByFid(parent, child.fid)) {
    throw new StatusWordError(SW.FILE_EXISTS, `FID ${child.fid.toString(16)} exists`);
  }
  if (child.kind === 'DF' && child.name && dfByExactName(mfOf(parent), child.name)) {
    throw new StatusWordError(SW.DF_NAME_EXISTS);
  }
  if (child.kind === 'EF' && child.sfi !== undefined && efBySfi(parent, child.sfi)) {
    throw new StatusWordError(SW.FILE_EXISTS, `SFI ${child.sfi} in use`);
  }
  child.parent = parent;
  nv.splice(parent.children, parent.children.length, 0, child);
}

/** Removes `f` (and everything under it) from its parent. */
export function detach(nv: NvMemory, f: FileNode): void {
  const parent = f.parent;
  if (!parent) throw new StatusWordError(SW.COMMAND_NOT_ALLOWED, 'the MF cannot be deleted');
  const i = parent.children.indexOf(f);
  if (i >= 0) nv.splice(parent.children, i, 1);
}

/** True when `f` is `ancestor` or lies below it. */
export function isWithin(f: FileNode, ancestor: DedicatedFile): boolean {
  for (let x: FileNode | null = f; x !== null; x = x.parent) if (x === ancestor) return true;
  return false;
}
