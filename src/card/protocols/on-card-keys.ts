/**
 * The key store's commands in one INS table, for an e-services applet: MSE:SET (DST, CT, AT),
 * PSO COMPUTE DIGITAL SIGNATURE and DECIPHER, INTERNAL AUTHENTICATE (client authentication) and
 * GENERATE ASYMMETRIC KEY PAIR. Compose it with other protocols' tables (`card/route.ts`).
 *
 * @example
 * create: () => ({ commands: composeTables(paceCommands(source), keyStoreCommands()) })
 */
import type { InsTable } from '../dispatch.js';
import { composeTables } from '../route.js';
import { clientAuthCommands } from './client-auth.js';
import { keygenCommands } from './keygen.js';
import { mseCommands } from './mse.js';
import { psoCommands } from './pso.js';

/**
 * MSE, PSO, INTERNAL AUTHENTICATE (client) and GENERATE ASYMMETRIC KEY PAIR.
 *
 * @example composeTables(activeAuthCommands({ key: 0x01 }), keyStoreCommands())
 */
export function keyStoreCommands(): InsTable {
  return composeTables(mseCommands(), psoCommands(), clientAuthCommands(), keygenCommands());
}
