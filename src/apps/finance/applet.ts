/**
 * The finances applet: nothing but the OS's record and binary commands over its files (read
 * PACE AND PIN(03) AND SM: `layout.ts`). No command writes after personalization.
 *
 * @example card.install(FINANCE_AID, FINANCE_TYPE)
 */
import type { AppletFactory } from '../../card/applet.js';
import { FINANCE_TYPE } from './layout.js';

/** The finances applet factory (type `finance`). */
export const FINANCE_APPLET: AppletFactory = Object.freeze({ type: FINANCE_TYPE, create: () => ({}) });
