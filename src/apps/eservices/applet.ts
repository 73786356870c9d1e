/**
 * The e-services applet: the key store's commands (`card/protocols/on-card-keys.ts`) — MSE:SET
 * (DST, CT, AT), PSO COMPUTE DIGITAL SIGNATURE and DECIPHER, INTERNAL AUTHENTICATE (client
 * authentication), GENERATE ASYMMETRIC KEY PAIR — over the key slots of its DF, with the OS's
 * VERIFY for its two PINs and READ RECORD / READ BINARY for its files.
 *
 * Select it after PACE or BAC. PACE still runs while it is selected: its MSE takes only the key
 * store's templates (41B6, 41B8, 41A4 without a CA OID) and declines the rest (`when`), which the OS
 * then gives to the card-level applet.
 *
 * @example card.install(ESERVICES_AID, ESERVICES_TYPE)
 */
import type { AppletFactory } from '../../card/applet.js';
import { keyStoreCommands } from '../../card/protocols/on-card-keys.js';
import { ESERVICES_TYPE } from './layout.js';

const commands = keyStoreCommands();

/** The e-services applet factory (type `e-services`). */
export const ESERVICES_APPLET: AppletFactory = Object.freeze({ type: ESERVICES_TYPE, create: () => ({ commands }) });
