/**
 * Active Authentication, card side (ICAO 9303-11 §6.1): INTERNAL AUTHENTICATE with the 8-byte
 * challenge RND.IFD, answered with a signature by the key whose public key is in EF.DG15.
 *
 *     00 88 00 00 08 <RND.IFD> 00    → signature, 9000
 *
 * - RSA key: ISO/IEC 9796-2 scheme 1, partial recovery; the nonce M1 is drawn from the card RNG
 *   (so an Appendix F replay feeds it); SHA-1 with trailer BC unless `hash` says otherwise
 *   (trailer hh CC). Answer: k/8 bytes.
 * - EC key: ECDSA over H(RND.IFD), plain r ‖ s; `hash` (default SHA-256) must be what DG14's
 *   ActiveAuthenticationInfo announces — {@link activeAuthSecurityInfo} builds that entry.
 *
 * The key is a slot of the key store with usage `active-authentication`; its `use` condition
 * applies (usually ALWAYS, or SM to answer only under BAC/PACE). Errors: P1-P2 other than 0000 →
 * 6A86; data not 8 bytes → 6700; the key's checks (6A88, 6984, 6985, 6982, `key-store.ts`).
 *
 * INS 88 is shared with client authentication (`client-auth.ts`); this handler is meant when P2 is
 * 00 and no AT of the key store is current, and is the fallback when tables are composed.
 *
 * @example
 * commands: composeTables(paceCommands(source), activeAuthCommands({ key: 0x01 }))
 */
import { SW, StatusWordError } from '../../apdu/status.js';
import type { CommandApdu } from '../../apdu/command.js';
import { INS } from '../../apdu/ins.js';
import { AA_CHALLENGE_LENGTH, aaNonceLength, aaSecurityInfo, aaSign, dg15Content } from '../../crypto/aa.js';
import { AsymmetricCryptoError, HASHES, type HashName } from '../../crypto/asymmetric.js';
import type { Iso9796Hash } from '../../crypto/iso9796-2.js';
import type { OtherSecurityInfo } from '../../crypto/security-infos.js';
import type { CommandContext } from '../context.js';
import { defineInsTable, type InsTable } from '../dispatch.js';
import type { DedicatedFile } from '../fs/file.js';
import type { RoutedHandler } from '../route.js';
import { hexRef, type AsymmetricKeyObject } from '../security/objects.js';
import { authorizeKey, consumeKeyUse, findAsymmetricKey, privateMaterial } from './key-store.js';
import { currentTemplate } from './mse.js';

/** Which key signs and with which hash. */
export interface ActiveAuthConfig {
  /** Reference of the key slot (usage `active-authentication`), found from the current DF upwards. */
  readonly key: number;
  /**
   * RSA: the ISO/IEC 9796-2 hash (default SHA-1, trailer BC; others use trailer hh CC).
   * ECDSA: SHA-1/224/256/384/512 (default SHA-256), as DG14's ActiveAuthenticationInfo says.
   */
  readonly hash?: Iso9796Hash;
}

function hashFor(config: ActiveAuthConfig, key: AsymmetricKeyObject): Iso9796Hash {
  return config.hash ?? (key.type === 'rsa' ? 'sha1' : 'sha256');
}

function activeAuthenticate(config: ActiveAuthConfig): RoutedHandler['run'] {
  return (cmd: CommandApdu, ctx: CommandContext): Uint8Array => {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2, 'INTERNAL AUTHENTICATE (Active Authentication): P1-P2 must be 0000');
    if (cmd.data.length !== AA_CHALLENGE_LENGTH) {
      throw new StatusWordError(SW.WRONG_LENGTH, `INTERNAL AUTHENTICATE (Active Authentication): RND.IFD is 8 bytes, got ${cmd.data.length}`);
    }
    const loc = authorizeKey(ctx, ctx.channel.df, config.key, 'active-authentication');
    const hash = hashFor(config, loc.key);
    const material = privateMaterial(loc.key);
    consumeKeyUse(ctx, loc);
    try {
      if (material.type === 'ec') return aaSign(material, cmd.data, { hash });
      const nonce = ctx.rng.bytes(aaNonceLength(loc.key.bits!, hash));
      return aaSign(material, cmd.data, { hash, nonce });
    } catch (e) {
      if (e instanceof AsymmetricCryptoError) throw new StatusWordError(SW.INCORRECT_DATA, e.message);
      throw e;
    }
  };
}

/**
 * Active Authentication's INTERNAL AUTHENTICATE for an applet's INS table.
 *
 * @example activeAuthCommands({ key: 0x01, hash: 'sha256' })
 */
export function activeAuthCommands(config: ActiveAuthConfig): InsTable {
  const handler: RoutedHandler = {
    name: 'INTERNAL AUTHENTICATE',
    when: (cmd, ctx) => cmd.p1 === 0 && cmd.p2 === 0 && currentTemplate(ctx, 'at') === undefined,
    run: activeAuthenticate(config),
  };
  return defineInsTable([INS.INTERNAL_AUTHENTICATE, handler]);
}

/**
 * The Active Authentication public key as a SubjectPublicKeyInfo (DER) — what EF.DG15 wraps; the
 * slot must hold a key pair (generate it first, or load one).
 *
 * @example encodeDg15({ publicKeyInfo: activeAuthPublicKeyInfo(df, { key: 0x01 }) }) // lds/dg15.ts
 */
export function activeAuthPublicKeyInfo(df: DedicatedFile, config: ActiveAuthConfig): Uint8Array {
  const loc = findAsymmetricKey(df, config.key);
  if (loc?.key.publicKey === undefined) throw new Error(`Active Authentication key ${hexRef(config.key)}: no key pair in the store`);
  return loc.key.publicKey.slice();
}

/**
 * EF.DG15 content for the Active Authentication key (`6F` ‖ SubjectPublicKeyInfo).
 *
 * @example attach(nv, df, newTransparentEf(0x010f, dg15.length, { sfi: 0x0f, data: dg15 }))
 */
export function activeAuthDg15(df: DedicatedFile, config: ActiveAuthConfig): Uint8Array {
  return dg15Content(activeAuthPublicKeyInfo(df, config));
}

/**
 * The DG14 entry ECDSA Active Authentication needs (ActiveAuthenticationInfo, ICAO 9303-11
 * §9.2.9); `undefined` for RSA keys, which announce nothing in DG14.
 *
 * @example const infos = [...chipAuthSecurityInfos(df, ca), ...[activeAuthSecurityInfo(df, aa)].filter(Boolean)]
 */
export function activeAuthSecurityInfo(df: DedicatedFile, config: ActiveAuthConfig): OtherSecurityInfo | undefined {
  const loc = findAsymmetricKey(df, config.key);
  if (loc === undefined) throw new Error(`Active Authentication key ${hexRef(config.key)}: no such key slot`);
  if (loc.key.type === 'rsa') return undefined;
  const hash = hashFor(config, loc.key);
  if (!(HASHES as readonly string[]).includes(hash)) throw new Error(`Active Authentication: ECDSA cannot use ${hash}`);
  return aaSecurityInfo(hash as HashName);
}
