/**
 * INTERNAL AUTHENTICATE for client authentication (ISO/IEC 7816-4 §11.5.10): the card signs the
 * terminal's challenge or a handshake hash with a key of usage `authenticate` — the e-service
 * login of an eID card (TLS client authentication, challenge–response).
 *
 *     00 22 41 A4 Lc 84 01 kk [80 01 aa]     MSE:SET AT (mse.ts), then
 *     00 88 00 00 Lc <data> Le              → signature
 *     00 88 aa kk Lc <data> Le              the key (P2) and algorithm (P1, 00 = the key's default) named directly
 *
 * The data is what the algorithm takes (`mse.ts`), except that RSASSA-PKCS1-v1_5 with algorithm
 * 02 signs any data up to k − 11 bytes (a TLS 1.0/1.1 MD5 ‖ SHA-1 hash, or a DigestInfo). The
 * key's checks, "PIN always" and the errors are those of PSO COMPUTE DIGITAL SIGNATURE.
 *
 * INS 88 is shared with Active Authentication (ICAO 9303-11 §6.1, P1-P2 0000, no key named):
 * this handler is meant when P2 names a key or an AT of the key store is current on the channel.
 *
 * @example
 * card.transmit(hexToBytes('002241A406840102800104')); // AT: key 02, ECDSA
 * card.transmit(hexToBytes(`0088000020${hashHex}00`));   // r ‖ s
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type InsTable } from '../dispatch.js';
import type { RoutedHandler } from '../route.js';
import { hexRef } from '../security/objects.js';
import { authorizeKey, consumeKeyUse, findAsymmetricKey, privateMaterial } from './key-store.js';
import { algorithmFor, currentTemplate } from './mse.js';
import { computeSignature, signatureInput } from './pso.js';

function isClientAuth(cmd: CommandApdu, ctx: CommandContext): boolean {
  return cmd.p2 !== 0 || currentTemplate(ctx, 'at') !== undefined;
}

function internalAuthenticate(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
  let ref: number;
  let algorithm: number;
  if (cmd.p2 !== 0) {
    ref = cmd.p2;
    const loc = findAsymmetricKey(ctx.channel.df, ref);
    if (loc === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `INTERNAL AUTHENTICATE: no asymmetric key ${hexRef(ref)}`);
    const a = algorithmFor(loc.key, 'at', cmd.p1 === 0 ? undefined : cmd.p1);
    if (a === undefined) throw new StatusWordError(SW.INCORRECT_P1P2, `INTERNAL AUTHENTICATE: algorithm ${hexRef(cmd.p1)} does not fit key ${hexRef(ref)}`);
    algorithm = a;
  } else {
    const at = currentTemplate(ctx, 'at');
    if (at === undefined) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'INTERNAL AUTHENTICATE: no AT set (MSE:SET 41A4 first) and no key in P2');
    if (cmd.p1 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'INTERNAL AUTHENTICATE: P1 must be 00 when the AT names the algorithm');
    ref = at.ref;
    algorithm = at.algorithm;
  }
  const loc = authorizeKey(ctx, ctx.channel.df, ref, 'authenticate');
  if (cmd.data.length === 0) throw new StatusWordError(SW.INCORRECT_DATA, 'INTERNAL AUTHENTICATE: no data to sign');
  const input = signatureInput(algorithm, cmd.data, true);
  const material = privateMaterial(loc.key);
  consumeKeyUse(ctx, loc);
  return computeSignature(ctx, algorithm, material, input);
}

/** INTERNAL AUTHENTICATE with a key of the key store; routed ahead of Active Authentication. */
export const CLIENT_AUTHENTICATE: RoutedHandler = Object.freeze({
  name: 'INTERNAL AUTHENTICATE',
  when: isClientAuth,
  run: internalAuthenticate,
});

/**
 * INTERNAL AUTHENTICATE (client authentication) for an applet's INS table.
 *
 * @example composeTables(activeAuthCommands(aa), clientAuthCommands(), mseCommands())
 */
export function clientAuthCommands(): InsTable {
  return defineInsTable([INS.INTERNAL_AUTHENTICATE, CLIENT_AUTHENTICATE]);
}
