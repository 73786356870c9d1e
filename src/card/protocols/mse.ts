/**
 * MANAGE SECURITY ENVIRONMENT for the key store (ISO/IEC 7816-4 §11.5.11, ISO/IEC 7816-8 §5):
 * MSE:SET of a control reference template naming a private key (DO 84) and an algorithm (DO 80)
 * for the commands that follow on the channel:
 *
 * | command | template | used by | key usage |
 * |---|---|---|---|
 * | `00 22 41 B6 Lc 84 01 kk [80 01 aa]` | DST | PSO COMPUTE DIGITAL SIGNATURE | `sign` |
 * | `00 22 41 B8 Lc 84 01 kk [80 01 aa]` | CT | PSO DECIPHER (RSA-OAEP or ECDH) | `decipher` / `key-agreement` |
 * | `00 22 41 A4 Lc 84 01 kk [80 01 aa]` | AT | INTERNAL AUTHENTICATE (client authentication) | `authenticate` |
 *
 * DO 95 (usage qualifier) is accepted and not interpreted. A template is replaced by the next
 * MSE:SET of the same kind; a refused MSE:SET leaves that template unset. Errors: a missing or
 * malformed DO 84, an unknown DO or an algorithm that does not fit the key → 6A80; no key with that
 * reference → 6A88; a key not meant for the template's use → 6A80. The environment is per channel
 * and transient (reset, power-off and channel close clear it).
 *
 * Algorithm references (DO 80). ISO/IEC 7816-4 leaves their values to the card; chipwright's:
 *
 * | 80 | algorithm | key | input to the command |
 * |---|---|---|---|
 * | 02 | RSASSA-PKCS1-v1_5 | RSA | DST: a DER DigestInfo; AT: any data up to k − 11 bytes (TLS-style client authentication) |
 * | 12 | RSASSA-PKCS1-v1_5 | RSA | a hash (SHA-1/224/256/384/512 by its length); the card builds the DigestInfo |
 * | 05 | RSASSA-PSS, MGF1 with the same hash, salt = hash length (RFC 8017 §8.1) | RSA | a hash, by its length |
 * | 04 | ECDSA, plain r ‖ s (BSI TR-03111 §5.2.1) | EC | a hash, 20/28/32/48/64 bytes |
 * | 0A | RSAES-OAEP with SHA-1 (RFC 8017 §7.1) | RSA | CT: 00 ‖ cryptogram |
 * | 1A | RSAES-OAEP with SHA-256 | RSA | CT: 00 ‖ cryptogram |
 * | 0B | ECKA-DH, the shared secret x (TR-03111 §4.3.1) | EC | CT: 00 ‖ peer public point (04 ‖ x ‖ y) |
 *
 * Without DO 80: DST and AT take 12 (RSA) or 04 (EC), CT takes 1A (RSA) or 0B (EC). A key's
 * `algorithms` list, when not empty, restricts these further.
 *
 * @example
 * card.transmit(hexToBytes('002241B606840101800104')) // DST: key 01, ECDSA
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import { startsWith } from '../../bytes/index.js';
import { parseTlvList, type Tlv } from '../../tlv/ber.js';
import { commandTlvList } from '../command-data.js';
import { CA_OID, oidToBytes } from '../../crypto/security-infos.js';
import type { Channel } from '../channel.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type InsTable } from '../dispatch.js';
import { lastRoute, type RoutedHandler } from '../route.js';
import { hexRef, type AsymmetricKeyObject, type AsymmetricKeyUsage } from '../security/objects.js';
import { findAsymmetricKey } from './key-store.js';

/** chipwright's algorithm references (module comment). */
export const ALGORITHM = Object.freeze({
  RSA_PKCS1_DIGEST_INFO: 0x02,
  RSA_PKCS1_HASH: 0x12,
  RSA_PSS: 0x05,
  ECDSA: 0x04,
  RSA_OAEP_SHA1: 0x0a,
  RSA_OAEP_SHA256: 0x1a,
  ECDH: 0x0b,
} as const);

/** The three templates of the key store's security environment. */
export type KeyTemplate = 'dst' | 'ct' | 'at';

/** What each algorithm reference is for. */
const ALGORITHMS: ReadonlyMap<number, { readonly key: 'rsa' | 'ec'; readonly templates: readonly KeyTemplate[] }> = new Map([
  [ALGORITHM.RSA_PKCS1_DIGEST_INFO, { key: 'rsa', templates: ['dst', 'at'] }],
  [ALGORITHM.RSA_PKCS1_HASH, { key: 'rsa', templates: ['dst', 'at'] }],
  [ALGORITHM.RSA_PSS, { key: 'rsa', templates: ['dst', 'at'] }],
  [ALGORITHM.ECDSA, { key: 'ec', templates: ['dst', 'at'] }],
  [ALGORITHM.RSA_OAEP_SHA1, { key: 'rsa', templates: ['ct'] }],
  [ALGORITHM.RSA_OAEP_SHA256, { key: 'rsa', templates: ['ct'] }],
  [ALGORITHM.ECDH, { key: 'ec', templates: ['ct'] }],
]);

/** P2 (the CRT tag) of each template. */
export const TEMPLATE_TAG: Readonly<Record<KeyTemplate, number>> = Object.freeze({ dst: 0xb6, ct: 0xb8, at: 0xa4 });

/**
 * The usage a key needs for each template (CT: by the key's type).
 *
 * @example templateUsage('ct', 'ec') // 'key-agreement'
 */
export function templateUsage(template: KeyTemplate, keyType: 'rsa' | 'ec'): AsymmetricKeyUsage {
  if (template === 'dst') return 'sign';
  if (template === 'at') return 'authenticate';
  return keyType === 'rsa' ? 'decipher' : 'key-agreement';
}

/**
 * The algorithm a key uses for a template: `requested` (DO 80) when it fits the key, else the
 * default (module comment); `undefined` when the request does not fit.
 *
 * @example algorithmFor(rsaKey, 'dst', undefined) // 0x12 (PKCS#1 v1.5 over a hash)
 */
export function algorithmFor(key: AsymmetricKeyObject, template: KeyTemplate, requested: number | undefined): number | undefined {
  let alg = requested;
  if (alg === undefined) {
    if (template === 'ct') alg = key.type === 'rsa' ? ALGORITHM.RSA_OAEP_SHA256 : ALGORITHM.ECDH;
    else alg = key.type === 'rsa' ? ALGORITHM.RSA_PKCS1_HASH : ALGORITHM.ECDSA;
  }
  const spec = ALGORITHMS.get(alg);
  if (spec === undefined || spec.key !== key.type || !spec.templates.includes(template)) return undefined;
  if (key.algorithms.length > 0 && !key.algorithms.includes(alg)) return undefined;
  return alg;
}

/** One template of the environment: the key reference and the algorithm. */
export interface KeyTemplateSetting {
  readonly ref: number;
  readonly algorithm: number;
}

/** The key store's part of a channel's current security environment. */
export interface KeySecurityEnvironment {
  dst?: KeyTemplateSetting;
  ct?: KeyTemplateSetting;
  at?: KeyTemplateSetting;
}

const environments = new WeakMap<Channel, KeySecurityEnvironment>();

/**
 * The key store's security environment of a channel (empty when nothing was set).
 *
 * @example keySecurityEnvironment(ctx.channel).dst?.ref
 */
export function keySecurityEnvironment(channel: Channel): KeySecurityEnvironment {
  let se = environments.get(channel);
  if (se === undefined) {
    se = {};
    environments.set(channel, se);
  }
  return se;
}

const CA_PREFIX = oidToBytes(CA_OID.CA);

/**
 * The DO 80 of an MSE:Set AT names a Chip Authentication protocol (then it is not the key store's).
 *
 * @example namesChipAuthentication(parseCommandApdu(hexToBytes('002241A40C800A04007F00070202030202'))) // true
 */
export function namesChipAuthentication(cmd: CommandApdu): boolean {
  try {
    const oid = parseTlvList(cmd.data).find((d) => d.tag === 0x80)?.value;
    return oid !== undefined && oid.length > CA_PREFIX.length && startsWith(oid, CA_PREFIX);
  } catch {
    return false;
  }
}

const SETS: ReadonlyMap<number, KeyTemplate> = new Map([
  [0x41b6, 'dst'],
  [0x41b8, 'ct'],
  [0x41a4, 'at'],
]);

/** The MSE:SET variants this handler takes: 41B6, 41B8, and 41A4 without a CA protocol OID. */
function isKeyMse(cmd: CommandApdu): boolean {
  const p1p2 = (cmd.p1 << 8) | cmd.p2;
  if (!SETS.has(p1p2)) return false;
  return p1p2 !== 0x41a4 || !namesChipAuthentication(cmd);
}

function dos(data: Uint8Array): Tlv[] {
  return commandTlvList(data, 'MSE:SET data');
}

function oneByte(list: readonly Tlv[], tag: number, what: string): number | undefined {
  const d = list.find((x) => x.tag === tag);
  if (d === undefined) return undefined;
  if (d.value.length !== 1) throw new StatusWordError(SW.INCORRECT_DATA, `MSE:SET: DO ${tag.toString(16).toUpperCase()} (${what}) must be one byte`);
  return d.value[0]!;
}

function mseSet(cmd: CommandApdu, ctx: CommandContext): void {
  const template = SETS.get((cmd.p1 << 8) | cmd.p2);
  if (template === undefined) throw new StatusWordError(SW.INCORRECT_P1P2, 'MSE: only SET of DST (41B6), CT (41B8) or AT (41A4) for the key store');
  const se = keySecurityEnvironment(ctx.channel);
  delete se[template];
  const list = dos(cmd.data);
  const seen = new Set<number>();
  for (const d of list) {
    if (d.tag !== 0x80 && d.tag !== 0x84 && d.tag !== 0x95) {
      throw new StatusWordError(SW.INCORRECT_DATA, `MSE:SET: DO ${d.tag.toString(16).toUpperCase()} is not used here (80, 84, 95)`);
    }
    if (seen.has(d.tag)) throw new StatusWordError(SW.INCORRECT_DATA, `MSE:SET: DO ${d.tag.toString(16).toUpperCase()} given twice`);
    seen.add(d.tag);
  }
  const ref = oneByte(list, 0x84, 'key reference');
  if (ref === undefined) throw new StatusWordError(SW.INCORRECT_DATA, 'MSE:SET: DO 84 (private key reference) is required');
  const requested = oneByte(list, 0x80, 'algorithm reference');
  const loc = findAsymmetricKey(ctx.channel.df, ref);
  if (loc === undefined) throw new StatusWordError(SW.REFERENCE_NOT_FOUND, `MSE:SET: no asymmetric key ${hexRef(ref)}`);
  const usage = templateUsage(template, loc.key.type);
  if (!loc.key.usage.includes(usage)) {
    throw new StatusWordError(SW.INCORRECT_DATA, `MSE:SET: key ${hexRef(ref)} (${loc.key.label}) is not for ${usage}`);
  }
  const algorithm = algorithmFor(loc.key, template, requested);
  if (algorithm === undefined) {
    throw new StatusWordError(SW.INCORRECT_DATA, `MSE:SET: algorithm ${requested === undefined ? '(default)' : hexRef(requested)} does not fit key ${hexRef(ref)}`);
  }
  se[template] = { ref, algorithm };
}

/** MSE:SET for the key store; routed ahead of PACE's and Chip Authentication's MSE. */
export const KEY_STORE_MSE: RoutedHandler = Object.freeze({
  name: 'MANAGE SECURITY ENVIRONMENT',
  when: isKeyMse,
  run: mseSet,
});

/**
 * The template set on a channel, when it is still the current one. DST and CT are the key
 * store's alone; the AT is shared with PACE and Chip Authentication, so it counts only while no
 * other protocol's MSE ran on the channel after the key store's (`lastRoute`; when MSE is not
 * routed, the key store's is the only one).
 *
 * @example currentTemplate(ctx, 'at')?.ref
 */
export function currentTemplate(ctx: CommandContext, template: KeyTemplate): KeyTemplateSetting | undefined {
  const setting = environments.get(ctx.channel)?.[template];
  if (setting === undefined || template !== 'at') return setting;
  const lastMse = lastRoute(ctx.channel, INS.MANAGE_SECURITY_ENVIRONMENT);
  return lastMse === undefined || lastMse === KEY_STORE_MSE ? setting : undefined;
}

/**
 * MSE:SET (DST, CT, AT) for an applet's INS table.
 *
 * @example composeTables(mseCommands(), psoCommands(), keygenCommands(), clientAuthCommands())
 */
export function mseCommands(): InsTable {
  return defineInsTable([INS.MANAGE_SECURITY_ENVIRONMENT, KEY_STORE_MSE]);
}
