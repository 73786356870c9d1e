/**
 * The driving licence applet: nothing but the OS's SELECT and READ BINARY over its files (every
 * rule is SM: after BAC or PACE, run before this application is selected).
 *
 * @example card.install(LICENCE_AID, LICENCE_TYPE)
 */
import type { AppletFactory } from '../../card/applet.js';
import { LICENCE_TYPE } from './layout.js';

/** The driving licence applet factory (type `driving-licence`). */
export const LICENCE_APPLET: AppletFactory = Object.freeze({ type: LICENCE_TYPE, create: () => ({}) });
