/**
 * MANAGE CHANNEL (ISO/IEC 7816-4:2013 §11.1.2): P1 = 00 opens a channel (P2 = 00: the card
 * assigns and returns its number in one byte; P2 = 01–13: the terminal names it), P1 = 80 closes
 * the channel named in P2 (00: the channel the command came on). The basic channel 0 never closes.
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import { INS } from '../../apdu/ins.js';
import { defineInsTable, type InsTable } from '../dispatch.js';

export const CHANNEL_COMMANDS: InsTable = defineInsTable([
  INS.MANAGE_CHANNEL,
  {
    name: 'MANAGE CHANNEL',
    run: (cmd, ctx) => {
      if (cmd.data.length !== 0) throw new StatusWordError(SW.WRONG_LENGTH, 'MANAGE CHANNEL takes no data');
      if (cmd.p1 === 0x00) {
        if (cmd.p2 > 19) throw new StatusWordError(SW.INCORRECT_P1P2, `channel ${cmd.p2}`);
        if (cmd.p2 === 0 && cmd.ne === 0) throw new StatusWordError(SW.WRONG_LENGTH, 'Le needed to return the channel number');
        const n = ctx.card.openChannel(ctx.channel, cmd.p2);
        return cmd.p2 === 0 ? new Uint8Array([n]) : undefined;
      }
      if (cmd.p1 === 0x80) {
        if (cmd.p2 > 19) throw new StatusWordError(SW.INCORRECT_P1P2, `channel ${cmd.p2}`);
        ctx.card.closeChannel(cmd.p2 === 0 ? ctx.channel.id : cmd.p2);
        return undefined;
      }
      throw new StatusWordError(SW.INCORRECT_P1P2, `P1=${cmd.p1.toString(16)}`);
    },
  },
]);
