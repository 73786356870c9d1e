/**
 * SELECT (ISO/IEC 7816-4:2013 §11.2.2): by FID (P1 00/01/02), parent (03), DF name with first,
 * last, next and previous occurrence of partial names (04), path from the MF (08) or from the
 * current DF (09); response FCI, FCP, FMD or nothing (P2 b4–b3).
 *
 * Selection is never subject to access rules (the rules govern what is done with the file), but
 * reports a deactivated file with 6283 and a terminated one with 6285 (ISO/IEC 7816-9).
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import type { ResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { equalBytes } from '../../bytes/index.js';
import { defineInsTable, type InsTable } from '../dispatch.js';
import type { CommandContext } from '../context.js';
import { LCS, MF_FID, isTerminated, type DedicatedFile, type FileNode } from '../fs/file.js';
import { childByFid, dfsByName, findByFid, resolvePath } from '../fs/tree.js';
import { encodeFci, encodeFcp, encodeFmd } from '../fs/fcp.js';

const EMPTY = new Uint8Array(0);

function fid(cmd: CommandApdu): number {
  if (cmd.data.length !== 2) throw new StatusWordError(SW.NC_INCONSISTENT_WITH_P1P2, 'FID must be 2 bytes');
  return (cmd.data[0]! << 8) | cmd.data[1]!;
}

function path(data: Uint8Array): number[] {
  if (data.length === 0 || data.length % 2 !== 0) {
    throw new StatusWordError(SW.NC_INCONSISTENT_WITH_P1P2, 'path must be a non-empty sequence of FIDs');
  }
  const out: number[] = [];
  for (let i = 0; i < data.length; i += 2) out.push((data[i]! << 8) | data[i + 1]!);
  return out;
}

function notFound(): never {
  throw new StatusWordError(SW.FILE_NOT_FOUND);
}

/** Occurrence among DFs matching a (partial) name: P2 b2–b1 00 first, 01 last, 10 next, 11 previous. */
function byName(ctx: CommandContext, name: Uint8Array, occurrence: number): DedicatedFile {
  if (name.length > 16) throw new StatusWordError(SW.NC_INCONSISTENT_WITH_P1P2, 'DF name longer than 16 bytes');
  if (name.length === 0) return ctx.mf;
  // A locked applet does not answer SELECT (GlobalPlatform card spec §5.3.1 "LOCKED").
  const locked = ctx.state.applets.filter((r) => r.lifeCycle === 'locked');
  const candidates = dfsByName(ctx.mf, name).filter(
    (df) => !locked.some((r) => df.name !== undefined && equalBytes(r.aid, df.name)),
  );
  if (candidates.length === 0) notFound();
  const here = candidates.indexOf(ctx.channel.df);
  let pick: DedicatedFile | undefined;
  switch (occurrence) {
    case 0:
      pick = candidates[0];
      break;
    case 1:
      pick = candidates[candidates.length - 1];
      break;
    case 2:
      pick = here < 0 ? candidates[0] : candidates[here + 1];
      break;
    default:
      pick = here < 0 ? candidates[candidates.length - 1] : here > 0 ? candidates[here - 1] : undefined;
  }
  return pick ?? notFound();
}

function resolve(cmd: CommandApdu, ctx: CommandContext): FileNode {
  const current = ctx.channel.df;
  const occurrence = cmd.p2 & 0x03;
  if (cmd.p1 !== 0x04 && occurrence !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'occurrence only with P1=04');
  switch (cmd.p1) {
    case 0x00:
      if (cmd.data.length === 0) return ctx.mf;
      return findByFid(current, fid(cmd)) ?? notFound();
    case 0x01: {
      const f = childByFid(current, fid(cmd));
      return f?.kind === 'DF' ? f : notFound();
    }
    case 0x02: {
      const f = childByFid(current, fid(cmd));
      return f?.kind === 'EF' ? f : notFound();
    }
    case 0x03:
      if (cmd.data.length !== 0) throw new StatusWordError(SW.NC_INCONSISTENT_WITH_P1P2, 'P1=03 takes no data');
      return current.parent ?? notFound();
    case 0x04:
      return byName(ctx, cmd.data, occurrence);
    case 0x08: {
      const p = path(cmd.data);
      // The path excludes the MF's FID (§11.2.2); a leading 3F00 is tolerated, as many hosts send it.
      if (p[0] === MF_FID) p.shift();
      return p.length === 0 ? ctx.mf : (resolvePath(ctx.mf, p) ?? notFound());
    }
    case 0x09:
      return resolvePath(current, path(cmd.data)) ?? notFound();
    default:
      throw new StatusWordError(SW.INCORRECT_P1P2, `P1=${cmd.p1.toString(16)}`);
  }
}

function select(cmd: CommandApdu, ctx: CommandContext): Uint8Array | ResponseApdu {
  if ((cmd.p2 & 0xf0) !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'P2 b8-b5 must be 0');
  const f = resolve(cmd, ctx);
  if (f.kind === 'DF') ctx.setCurrentDf(f);
  else ctx.setCurrentEf(f);
  let data: Uint8Array;
  switch (cmd.p2 & 0x0c) {
    case 0x00:
      data = encodeFci(f);
      break;
    case 0x04:
      data = encodeFcp(f);
      break;
    case 0x08:
      data = encodeFmd(f);
      break;
    default:
      data = EMPTY;
  }
  if (isTerminated(f)) return { data, sw: SW.WARN_FILE_TERMINATED };
  if (f.lcs === LCS.DEACTIVATED) return { data, sw: SW.WARN_FILE_DEACTIVATED };
  return data;
}

export const SELECT_COMMANDS: InsTable = defineInsTable([INS.SELECT, { name: 'SELECT', run: select }]);
