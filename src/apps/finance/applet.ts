/**
 * The finances applet: the OS's record and binary commands behind the PACE gate (every file here
 * needs a PACE session on top of PIN(03) AND SM). No command writes after personalization.
 *
 * @example card.install(FINANCE_AID, FINANCE_TYPE)
 */
import type { AppletFactory } from '../../card/applet.js';
import { gatedFiles, paceGatedCommands } from '../health/common.js';
import { FINANCE_AID, FINANCE_FILES, FINANCE_TYPE } from './layout.js';

const commands = paceGatedCommands(gatedFiles(FINANCE_AID, FINANCE_FILES));

/** The finances applet factory (type `finance`). */
export const FINANCE_APPLET: AppletFactory = Object.freeze({ type: FINANCE_TYPE, create: () => ({ commands }) });
