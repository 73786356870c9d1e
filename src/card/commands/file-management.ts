/**
 * File management and life cycle (ISO/IEC 7816-9:2017 §7, ISO/IEC 7816-4:2013 §7.4.10):
 * CREATE FILE (E0), DELETE FILE (E4), ACTIVATE FILE (44), DEACTIVATE FILE (04),
 * TERMINATE DF (E6) and TERMINATE EF (E8).
 *
 * The card life cycle rides on the MF: while the card is in personalization, ACTIVATE FILE on the
 * MF (by a channel authenticated with the transport key) moves it to operational for ever;
 * TERMINATE DF on the MF terminates the card.
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import { defineInsTable, type AccessTarget, type InsTable } from '../dispatch.js';
import type { CommandContext } from '../context.js';
import { LCS, fileFootprint, isTerminated, type FileNode } from '../fs/file.js';
import { attach, childByFid, detach, findByFid, usedBytes } from '../fs/tree.js';
import { fileFromFcp } from '../fs/fcp.js';
import type { AccessOp } from '../security/access.js';

function p1p2Zero(cmd: CommandApdu): void {
  if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2);
}

/**
 * The file a life-cycle command names: no data → the current EF, else the current DF;
 * two bytes → a FID resolved as SELECT P1=00 does (§7.2 of ISO/IEC 7816-9 allows P1=00 only here).
 */
function named(cmd: CommandApdu, ctx: CommandContext): FileNode {
  p1p2Zero(cmd);
  if (cmd.data.length === 0) return ctx.channel.ef ?? ctx.channel.df;
  if (cmd.data.length !== 2) throw new StatusWordError(SW.NC_INCONSISTENT_WITH_P1P2, 'FID must be 2 bytes');
  const f = findByFid(ctx.channel.df, (cmd.data[0]! << 8) | cmd.data[1]!);
  if (f === undefined) throw new StatusWordError(SW.FILE_NOT_FOUND);
  return f;
}

function lifeCycleTarget(op: AccessOp, kind?: 'DF' | 'EF') {
  return (cmd: CommandApdu, ctx: CommandContext): AccessTarget => {
    const file = named(cmd, ctx);
    if (kind !== undefined && file.kind !== kind) {
      throw new StatusWordError(SW.COMMAND_INCOMPATIBLE_WITH_FILE, `not a${kind === 'EF' ? 'n EF' : ' DF'}`);
    }
    if (file.parent === null && op !== 'terminate') {
      // The MF's activation is the card life-cycle transition (see `activateMf`).
      throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'MF life cycle: use ACTIVATE during personalization');
    }
    return { file, op };
  };
}

/** ACTIVATE FILE on the MF: personalization → operational, only with the transport key. */
function activateMf(ctx: CommandContext): void {
  if (ctx.lifeCycle !== 'personalization') {
    throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'card already past personalization');
  }
  if (!ctx.channel.persoAuthenticated) {
    throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, 'transport key not authenticated');
  }
  ctx.nv.set(ctx.state, 'lifeCycle', 'operational');
  ctx.nv.set(ctx.mf, 'lcs', LCS.ACTIVATED);
  // The transport key's work is done; nothing may authenticate with it again.
  ctx.channel.persoAuthenticated = false;
}

export const FILE_MANAGEMENT_COMMANDS: InsTable = defineInsTable(
  [
    INS.CREATE_FILE,
    {
      name: 'CREATE FILE',
      personalization: true,
      chaining: true,
      access: (cmd, ctx) => {
        p1p2Zero(cmd);
        return { file: ctx.channel.df, op: 'create' };
      },
      run: (cmd, ctx) => {
        const parent = ctx.channel.df;
        const f = fileFromFcp(cmd.data);
        if (usedBytes(ctx.mf) + fileFootprint(f) > ctx.state.capacity) {
          throw new StatusWordError(SW.NOT_ENOUGH_MEMORY, 'card capacity exceeded');
        }
        attach(ctx.nv, parent, f);
        // ISO/IEC 7816-9 §7.1.1: the created file becomes the current file.
        if (f.kind === 'DF') ctx.setCurrentDf(f);
        else ctx.setCurrentEf(f);
      },
    },
  ],
  [
    INS.DELETE_FILE,
    {
      name: 'DELETE FILE',
      access: (cmd, ctx) => {
        const file = named(cmd, ctx);
        if (file.parent === null) throw new StatusWordError(SW.COMMAND_NOT_ALLOWED, 'the MF cannot be deleted');
        return { file, op: 'delete' };
      },
      run: (_cmd, ctx, file) => {
        const f = file!;
        const parent = f.parent!;
        detach(ctx.nv, f);
        ctx.card.fileDeleted(f, parent);
        ctx.setCurrentDf(parent);
      },
    },
  ],
  [
    INS.ACTIVATE_FILE,
    {
      name: 'ACTIVATE FILE',
      access: (cmd, ctx) => {
        const file = named(cmd, ctx);
        return file.parent === null ? undefined : { file, op: 'activate' };
      },
      run: (cmd, ctx, file) => {
        if (file === undefined) return activateMf(ctx);
        if (isTerminated(file)) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'file terminated');
        if (file.lcs !== LCS.ACTIVATED) ctx.nv.set(file, 'lcs', LCS.ACTIVATED);
        void cmd;
      },
    },
  ],
  [
    INS.DEACTIVATE_FILE,
    {
      name: 'DEACTIVATE FILE',
      access: lifeCycleTarget('deactivate'),
      run: (_cmd, ctx, file) => {
        if (file!.lcs !== LCS.DEACTIVATED) ctx.nv.set(file!, 'lcs', LCS.DEACTIVATED);
      },
    },
  ],
  [
    INS.TERMINATE_DF,
    {
      name: 'TERMINATE DF',
      access: lifeCycleTarget('terminate', 'DF'),
      run: (_cmd, ctx, file) => {
        ctx.nv.set(file!, 'lcs', LCS.TERMINATED);
        if (file!.parent === null) ctx.nv.set(ctx.state, 'lifeCycle', 'terminated');
      },
    },
  ],
  [
    INS.TERMINATE_EF,
    {
      name: 'TERMINATE EF',
      access: lifeCycleTarget('terminate', 'EF'),
      run: (_cmd, ctx, file) => {
        ctx.nv.set(file!, 'lcs', LCS.TERMINATED);
      },
    },
  ],
);

export { childByFid };
