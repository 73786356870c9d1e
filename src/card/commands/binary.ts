/**
 * Transparent EFs (ISO/IEC 7816-4:2013 §11.3.3–11.3.7): READ BINARY (B0, B1), UPDATE BINARY
 * (D6, D7) and ERASE BINARY (0E).
 *
 * Addressing, even INS: P1 b8 = 1 → SFI in b5–b1 (b7–b6 = 00) and offset 0–255 in P2;
 * P1 b8 = 0 → 15-bit offset in P1-P2 on the current EF.
 * Odd INS: P1-P2 = 0000 current EF; P1 = 00 and P2 = 000x xxxx → SFI; otherwise a FID under the
 * current DF; the offset travels in DO '54' and the data in DO '53' (§11.3.1).
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import type { ResponseApdu } from '../../apdu/response.js';
import { INS } from '../../apdu/ins.js';
import { readUintBE } from '../../bytes/index.js';
import { encodeTlv, parseTlvList, type Tlv } from '../../tlv/ber.js';
import { defineInsTable, type AccessTarget, type InsTable } from '../dispatch.js';
import type { CommandContext } from '../context.js';
import type { FileNode, TransparentEf } from '../fs/file.js';
import { childByFid, efBySfi } from '../fs/tree.js';
import type { AccessOp } from '../security/access.js';

interface BinaryRef {
  readonly ef: TransparentEf;
  readonly offset: number;
}

function transparent(f: FileNode | undefined): TransparentEf {
  if (f === undefined) throw new StatusWordError(SW.FILE_NOT_FOUND);
  if (f.kind !== 'EF' || f.structure !== 'transparent') {
    throw new StatusWordError(SW.COMMAND_INCOMPATIBLE_WITH_FILE, 'not a transparent EF');
  }
  return f;
}

/** Resolves the EF and offset of an even-INS command (B0, D6, 0E). Side-effect free. */
function evenRef(cmd: CommandApdu, ctx: CommandContext): BinaryRef {
  if ((cmd.p1 & 0x80) !== 0) {
    if ((cmd.p1 & 0x60) !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'P1 b7-b6 must be 00 with an SFI');
    const sfi = cmd.p1 & 0x1f;
    if (sfi === 0 || sfi === 0x1f) throw new StatusWordError(SW.INCORRECT_P1P2, `SFI ${sfi}`);
    return { ef: transparent(efBySfi(ctx.channel.df, sfi)), offset: cmd.p2 };
  }
  return { ef: transparent(ctx.currentEf()), offset: (cmd.p1 << 8) | cmd.p2 };
}

/** The EF of an odd-INS command (B1, D7). */
function oddEf(cmd: CommandApdu, ctx: CommandContext): TransparentEf {
  if (cmd.p1 === 0 && cmd.p2 === 0) return transparent(ctx.currentEf());
  if (cmd.p1 === 0 && cmd.p2 < 0x20) {
    const sfi = cmd.p2 & 0x1f;
    return transparent(efBySfi(ctx.channel.df, sfi));
  }
  const fid = (cmd.p1 << 8) | cmd.p2;
  return transparent(childByFid(ctx.channel.df, fid));
}

/** Parses the odd-INS data field: DO '54' offset (1–3 bytes), then optionally DO '53'/'73' data. */
function oddData(cmd: CommandApdu, needData: boolean): { offset: number; data: Uint8Array } {
  let list: Tlv[];
  try {
    list = parseTlvList(cmd.data);
  } catch {
    throw new StatusWordError(SW.NC_INCONSISTENT_WITH_TLV, 'data field is not BER-TLV');
  }
  const off = list[0];
  if (off === undefined || off.tag !== 0x54 || off.value.length < 1 || off.value.length > 3) {
    throw new StatusWordError(SW.INCORRECT_DATA, "offset DO '54' (1..3 bytes) expected first");
  }
  const body = list[1];
  if (needData) {
    if (body === undefined || (body.tag !== 0x53 && body.tag !== 0x73) || list.length !== 2) {
      throw new StatusWordError(SW.INCORRECT_DATA, "discretionary data DO '53' expected after '54'");
    }
  } else if (list.length !== 1) {
    throw new StatusWordError(SW.INCORRECT_DATA, "only the offset DO '54' is expected");
  }
  return { offset: readUintBE(off.value), data: needData && body !== undefined ? body.value : new Uint8Array(0) };
}

function target(ef: TransparentEf, op: AccessOp): AccessTarget {
  return { file: ef, op };
}

/**
 * Le '00' / '0000' asks for "all the bytes until the end of the file, within the limit of 256 /
 * 65536" (ISO/IEC 7816-4 §11.3.3), so reaching the end is the expected outcome, not a warning.
 */
function wildcardLe(cmd: CommandApdu): boolean {
  return cmd.ne === 65536 || (cmd.ne === 256 && !cmd.extended);
}

/** 6B00 unless `offset` addresses a byte of the EF (§11.3.3: "offset outside the EF"). */
function checkOffset(ef: TransparentEf, offset: number): void {
  const size = ef.data.length;
  if (offset >= size) throw new StatusWordError(SW.WRONG_P1P2, `offset ${offset} outside EF of ${size} bytes`);
}

/**
 * Reads up to `max` bytes at `offset`. Fewer available than an explicit Le asked for → the bytes
 * read and 6282; with a wildcard Le the end of the file ends the read normally.
 */
function read(ef: TransparentEf, offset: number, max: number, wildcard: boolean): Uint8Array | ResponseApdu {
  checkOffset(ef, offset);
  const n = Math.min(max, ef.data.length - offset);
  // A view, not a copy: the OS encodes (copies) the response before anything can write the EF,
  // and keeps a copy of whatever it holds back for GET RESPONSE.
  const data = ef.data.subarray(offset, offset + n);
  return n < max && !wildcard ? { data, sw: SW.WARN_EOF } : data;
}

function write(ctx: CommandContext, ef: TransparentEf, offset: number, data: Uint8Array): void {
  if (data.length === 0) throw new StatusWordError(SW.WRONG_LENGTH, 'no data to write');
  // An offset at the end is outside the EF like for READ BINARY (6B00); only data running past
  // the end is "not enough memory space in the file" (6A84).
  checkOffset(ef, offset);
  if (offset + data.length > ef.data.length) {
    throw new StatusWordError(SW.NOT_ENOUGH_MEMORY, `${offset + data.length - ef.data.length} bytes past the end of the EF`);
  }
  ctx.nv.writeBytes(ef.data, offset, data);
}

export const BINARY_COMMANDS: InsTable = defineInsTable(
  [
    INS.READ_BINARY,
    {
      name: 'READ BINARY',
      access: (cmd, ctx) => target(evenRef(cmd, ctx).ef, 'read'),
      run: (cmd, ctx) => {
        if (cmd.data.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'READ BINARY takes no data');
        if (cmd.ne === 0) throw new StatusWordError(SW.WRONG_LENGTH, 'Le missing');
        const { ef, offset } = evenRef(cmd, ctx);
        ctx.setCurrentEf(ef);
        return read(ef, offset, cmd.ne, wildcardLe(cmd));
      },
    },
  ],
  [
    INS.READ_BINARY_ODD,
    {
      name: 'READ BINARY',
      access: (cmd, ctx) => target(oddEf(cmd, ctx), 'read'),
      run: (cmd, ctx) => {
        if (cmd.ne === 0) throw new StatusWordError(SW.WRONG_LENGTH, 'Le missing');
        const ef = oddEf(cmd, ctx);
        const { offset } = oddData(cmd, false);
        ctx.setCurrentEf(ef);
        // Room for the '53' header: 2 bytes up to 127 data bytes, 3 up to 255, 4 beyond.
        const room = cmd.ne - (cmd.ne <= 129 ? 2 : cmd.ne <= 258 ? 3 : 4);
        const r = read(ef, offset, Math.max(0, room), wildcardLe(cmd));
        const data = r instanceof Uint8Array ? r : r.data;
        const wrapped = encodeTlv(0x53, data);
        return r instanceof Uint8Array ? wrapped : { data: wrapped, sw: r.sw };
      },
    },
  ],
  [
    INS.UPDATE_BINARY,
    {
      name: 'UPDATE BINARY',
      chaining: true,
      access: (cmd, ctx) => target(evenRef(cmd, ctx).ef, 'update'),
      run: (cmd, ctx) => {
        const { ef, offset } = evenRef(cmd, ctx);
        write(ctx, ef, offset, cmd.data);
        ctx.setCurrentEf(ef);
      },
    },
  ],
  [
    INS.UPDATE_BINARY_ODD,
    {
      name: 'UPDATE BINARY',
      chaining: true,
      access: (cmd, ctx) => target(oddEf(cmd, ctx), 'update'),
      run: (cmd, ctx) => {
        const ef = oddEf(cmd, ctx);
        const { offset, data } = oddData(cmd, true);
        write(ctx, ef, offset, data);
        ctx.setCurrentEf(ef);
      },
    },
  ],
  [
    INS.ERASE_BINARY,
    {
      name: 'ERASE BINARY',
      access: (cmd, ctx) => target(evenRef(cmd, ctx).ef, 'erase'),
      run: (cmd, ctx) => {
        const { ef, offset } = evenRef(cmd, ctx);
        const size = ef.data.length;
        checkOffset(ef, offset);
        // Optional data: the offset of the first byte NOT to erase (§11.3.7); default: to the end.
        let end = size;
        if (cmd.data.length === 2) end = (cmd.data[0]! << 8) | cmd.data[1]!;
        else if (cmd.data.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'end offset must be 2 bytes');
        if (end > size || end < offset) throw new StatusWordError(SW.INCORRECT_DATA, `end offset ${end}`);
        if (end > offset) ctx.nv.fillBytes(ef.data, offset, end - offset, 0x00);
        ctx.setCurrentEf(ef);
      },
    },
  ],
);
