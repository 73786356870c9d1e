/**
 * The purse as an applet module (`src/apps/modules.ts`), for the CLI commands that load applet
 * types with `--applet`: `chipwright send --card purse.json --applet node_modules/chipwright/dist/src/apps/purse/module.js ...`
 * (`chipwright purse ...` registers the purse by itself).
 */
import { PURSE_APPLET } from './applet.js';

export const applet = PURSE_APPLET;
