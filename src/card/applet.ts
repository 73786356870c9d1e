/**
 * Applets: the simulator's extension point. An applet is installed under an AID (which becomes
 * a DF name under the MF), is told when it is selected and deselected on a channel, may bring its
 * own frozen INS table (consulted before the OS table while it is selected), and otherwise relies
 * on the OS's ISO commands over the files it created at install.
 *
 * @example
 * const echo: AppletFactory = {
 *   type: 'echo',
 *   create: () => ({ commands: defineInsTable([0x01, { name: 'ECHO', run: (cmd) => cmd.data.slice() }]) }),
 * };
 * const card = createCard({ applets: [echo] });
 * card.install(hexToBytes('F0000000010101'), 'echo');
 */
import type { InsTable } from './dispatch.js';
import type { CommandContext, InstallContext } from './context.js';

export interface Applet {
  /** Called once when installed: create the applet's files, PINs and keys under its DF. */
  install?(ctx: InstallContext): void;
  /** Called when SELECT by AID selects this applet on a channel. May throw StatusWordError. */
  select?(ctx: CommandContext): void;
  /** Called when another DF or applet is selected on the channel, or the channel closes. */
  deselect?(ctx: CommandContext): void;
  /** Commands this applet adds or overrides while selected. */
  readonly commands?: InsTable;
}

/** Makes applet instances; registered with the card by `type` so images can be reloaded. */
export interface AppletFactory {
  readonly type: string;
  /** `params` are the install parameters (also stored in the image). */
  create(params: Uint8Array): Applet;
}
