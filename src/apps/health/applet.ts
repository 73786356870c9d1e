/**
 * The health insurance applet: the OS's record and binary commands over its files, behind the
 * PACE gate of `common.ts` (every file of this application needs a PACE session), and GET
 * CHALLENGE / EXTERNAL AUTHENTICATE from the OS for the insurer's key. Files and the key are
 * created by {@link installHealth}, as personalization will do over APDUs.
 *
 * @example
 * const card = createCard({ applets: [HEALTH_APPLET] });
 * card.install(HEALTH_AID, HEALTH_TYPE);
 */
import type { AppletFactory } from '../../card/applet.js';
import { gatedFiles, paceGatedCommands } from './common.js';
import { HEALTH_AID, HEALTH_FILES, HEALTH_TYPE } from './layout.js';

const commands = paceGatedCommands(gatedFiles(HEALTH_AID, HEALTH_FILES));

/** The health insurance applet factory (type `health-insurance`). */
export const HEALTH_APPLET: AppletFactory = Object.freeze({ type: HEALTH_TYPE, create: () => ({ commands }) });
