/**
 * The health insurance applet: nothing but the OS's record and binary commands over its files
 * (their rules need PACE: `layout.ts`), and GET CHALLENGE / EXTERNAL AUTHENTICATE from the OS for
 * the insurer's key. Files and the key are created by {@link installHealth}, as personalization
 * will do over APDUs.
 *
 * @example
 * const card = createCard({ applets: [HEALTH_APPLET] });
 * card.install(HEALTH_AID, HEALTH_TYPE);
 */
import type { AppletFactory } from '../../card/applet.js';
import { HEALTH_TYPE } from './layout.js';

/** The health insurance applet factory (type `health-insurance`). */
export const HEALTH_APPLET: AppletFactory = Object.freeze({ type: HEALTH_TYPE, create: () => ({}) });
