/**
 * GENERATE ASYMMETRIC KEY PAIR (ISO/IEC 7816-8 §5.1) into a key slot of the key store, answering
 * the public key in a `7F49` data object — never the private key, which does not leave the card.
 *
 *     00 46 P1 00 Lc <CRT> Le        CRT = B6 | B8 | A4 { 84 01 kk [80 01 aa] }, or DO 84 alone
 *
 * | P1 | effect |
 * |---|---|
 * | 00 | generate, answer `7F49 { 81 n, 82 e }` (RSA) or `7F49 { 86 point }` (EC) |
 * | 01 | generate, EC answers with the domain parameters too: `7F49 { 81 p, 82 a, 83 b, 84 G, 85 n, 86 point, 87 h }` (TR-03110-3 §D.3.3) |
 * | 80 / 81 | no generation: the slot's current public key, as with 00 / 01 (chipwright's choice for reading it back) |
 *
 * The slot fixes the kind and size (RSA bits, EC curve); a CRT DO 80 must fit the key (as in
 * MSE:SET) and is otherwise ignored. Generation needs the slot's `generate` condition (6982; a
 * transport-key channel in personalization passes), replaces the key pair (the use counter restarts
 * at 0) and is journalled. EC scalars are drawn from the card RNG (`--rng` replays them); RSA keys
 * come from OpenSSL (RSA-2048 takes some 50–500 ms). Reading needs no condition (a public key);
 * an empty slot answers 6984. Other errors: unknown key 6A88, malformed CRT 6A80, P1/P2 6A86.
 *
 * @example
 * card.transmit(hexToBytes('00460000 05 B6 03 840101 00')) // 7F49 43 86 41 04 … 9000
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import type { Tlv } from '../../tlv/ber.js';
import { commandTlv } from '../command-data.js';
import { encodePublicKeyTemplate } from '../../crypto/asymmetric.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type InsTable } from '../dispatch.js';
import type { RoutedHandler } from '../route.js';
import { hexRef } from '../security/objects.js';
import { findAsymmetricKey, generateInSlot, keyConditionHolds, keyPublicInfo } from './key-store.js';
import { algorithmFor, type KeyTemplate } from './mse.js';

const CRT: ReadonlyMap<number, KeyTemplate> = new Map([
  [0xb6, 'dst'],
  [0xb8, 'ct'],
  [0xa4, 'at'],
]);

function oneByte(dos: readonly Tlv[], tag: number): number | undefined {
  const d = dos.find((x) => x.tag === tag);
  if (d === undefined) return undefined;
  if (d.value.length !== 1) throw new StatusWordError(SW.INCORRECT_DATA, `GENERATE ASYMMETRIC KEY PAIR: DO ${tag.toString(16).toUpperCase()} must be one byte`);
  return d.value[0]!;
}

/** The key reference, the template (if a CRT was given) and the requested algorithm. */
function parseCrt(data: Uint8Array): { ref: number; template: KeyTemplate | undefined; algorithm: number | undefined } {
  const t = commandTlv(data, 'GENERATE ASYMMETRIC KEY PAIR data');
  const template = CRT.get(t.tag);
  const dos = template !== undefined ? (t.children ?? []) : [t];
  for (const d of dos) {
    if (d.tag !== 0x84 && d.tag !== 0x80 && d.tag !== 0x95) {
      throw new StatusWordError(SW.INCORRECT_DATA, `GENERATE ASYMMETRIC KEY PAIR: DO ${d.tag.toString(16).toUpperCase()} is not used here (CRT B6/B8/A4 with 84, 80)`);
    }
  }
  const ref = oneByte(dos, 0x84);
  if (ref === undefined) throw new StatusWordError(SW.INCORRECT_DATA, 'GENERATE ASYMMETRIC KEY PAIR: DO 84 (key reference) is required');
  return { ref, template, algorithm: oneByte(dos, 0x80) };
}

function generate(cmd: CommandApdu, ctx: CommandContext): Uint8Array {
  if (cmd.p2 !== 0 || (cmd.p1 & 0x7e) !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'GENERATE ASYMMETRIC KEY PAIR: P1 00/01/80/81, P2 00');
  const readOnly = (cmd.p1 & 0x80) !== 0;
  const domainParameters = (cmd.p1 & 0x01) !== 0;
  const { ref, template, algorithm } = parseCrt(cmd.data);
  const loc = findAsymmetricKey(ctx.channel.df, ref);
  if (loc === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `GENERATE ASYMMETRIC KEY PAIR: no key slot ${hexRef(ref)}`);
  const { key, df } = loc;
  const templates: readonly KeyTemplate[] = template !== undefined ? [template] : ['dst', 'ct', 'at'];
  if (algorithm !== undefined && !templates.some((t) => algorithmFor(key, t, algorithm) !== undefined)) {
    throw new StatusWordError(SW.INCORRECT_DATA, `GENERATE ASYMMETRIC KEY PAIR: algorithm ${hexRef(algorithm)} does not fit key ${hexRef(ref)}`);
  }
  if (readOnly) return encodePublicKeyTemplate(keyPublicInfo(key), { domainParameters });
  if (!keyConditionHolds(ctx, df, key.generate)) {
    throw new StatusWordError(SW.SECURITY_STATUS_NOT_SATISFIED, `key ${hexRef(ref)} (${key.label}): generate condition not satisfied`);
  }
  return encodePublicKeyTemplate(generateInSlot(ctx.nv, key, ctx.rng), { domainParameters });
}

/** GENERATE ASYMMETRIC KEY PAIR into the key store. */
export const GENERATE_KEY_PAIR: RoutedHandler = Object.freeze({
  name: 'GENERATE ASYMMETRIC KEY PAIR',
  when: (cmd: CommandApdu) => cmd.p2 === 0 && (cmd.p1 & 0x7e) === 0,
  run: generate,
});

/**
 * GENERATE ASYMMETRIC KEY PAIR for an applet's INS table.
 *
 * @example composeTables(mseCommands(), psoCommands(), keygenCommands())
 */
export function keygenCommands(): InsTable {
  return defineInsTable([INS.GENERATE_ASYMMETRIC_KEY_PAIR, GENERATE_KEY_PAIR]);
}
