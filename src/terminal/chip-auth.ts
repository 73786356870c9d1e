/**
 * Chip Authentication version 1, terminal side (ICAO 9303-11 §6.2): reads the chip's static key
 * from EF.DG14, sends an ephemeral public key and returns a {@link SecureMessagingTransport} with
 * the keys derived from the shared secret (SSC 0). The old session is closed.
 *
 * The command form follows ICAO 9303-11 §6.2.4 (and JMRTD): MSE:Set KAT for the 3DES protocols,
 * MSE:Set AT + GENERAL AUTHENTICATE for AES — `command` overrides it. The chip is authenticated
 * implicitly: only the holder of the DG14 private key derives the same keys, so the first
 * response under the new session verifies (or fails with a SecureMessagingError). DG14 itself is
 * authenticated by Passive Authentication (EF.SOD), which is not done here.
 *
 * Which key: the protocol and keyId from `protocol` / `keyId`, else the strongest session cipher
 * DG14 offers with an ECDH key (explicit curves too). Failures throw {@link ChipAuthError}.
 *
 * @example
 * const sm = await performBac(t, mrz);
 * const dg14 = await readFile(sm, 0x0e);
 * const ca = await performChipAuthentication(sm, { dg14 }); // use `ca` from now on
 */
import { ByteInputError, concatBytes, uintToBytes, zeroize } from '../bytes/index.js';
import { parseResponseApdu } from '../apdu/response.js';
import { encodeTlv, tlvConstructed } from '../tlv/ber.js';
import { AsymmetricCryptoError, decodeSubjectPublicKeyInfo, ecGroup, ecdhSharedSecret, type PublicKeyInfo } from '../crypto/asymmetric.js';
import { caSessionKeys, caSuite, dg14SecurityInfos, wipeSmKeys, type CaSuite } from '../crypto/ca.js';
import { EcPointError, customGroup, randomScalar, scalarBytes, type EcGroup } from '../crypto/curves.js';
import {
  CA_OID,
  PK_OID,
  SecurityInfoError,
  chipAuthenticationInfos,
  chipAuthenticationPublicKeyInfos,
  type ChipAuthenticationInfo,
  type ChipAuthenticationPublicKeyInfo,
} from '../crypto/security-infos.js';
import { SecureMessagingTransport } from '../transport/secure-messaging.js';
import { randomSource, type RandomOption } from './random.js';
import type { Transport } from '../transport/types.js';

export type ChipAuthFailure = 'parameters' | 'refused' | 'card-not-authenticated';

export class ChipAuthError extends Error {
  override readonly name = 'ChipAuthError';
  constructor(
    readonly reason: ChipAuthFailure,
    message: string,
    readonly sw?: number,
  ) {
    super(message);
  }
}

export interface ChipAuthOptions {
  /** EF.DG14 as read from the chip. */
  readonly dg14: Uint8Array;
  /** A CA protocol OID (dotted) to use; default: the strongest offered. */
  readonly protocol?: string;
  /** The keyId to use when DG14 has several keys. */
  readonly keyId?: number;
  /** `kat`: MSE:Set KAT; `at`: MSE:Set AT + GENERAL AUTHENTICATE. Default: KAT for 3DES, AT for AES. */
  readonly command?: 'kat' | 'at';
  /** The terminal's randomness (SK_IFD); bytes handed out first, or a function. Default: secure. */
  readonly random?: RandomOption;
}

/** What {@link performChipAuthentication} chose, for reports. */
export interface ChipAuthChoice {
  readonly suite: CaSuite;
  readonly keyId: number | undefined;
  readonly group: EcGroup;
}

const STRENGTH: Readonly<Record<string, number>> = { '3des': 0, 'aes-128': 1, 'aes-192': 2, 'aes-256': 3 };

/**
 * The CA protocol, key and group DG14 offers (options narrow it). Throws {@link ChipAuthError}.
 *
 * @example chooseChipAuthentication(dg14).suite.name // 'id-CA-ECDH-AES-CBC-CMAC-128'
 */
export function chooseChipAuthentication(dg14: Uint8Array, opts: Pick<ChipAuthOptions, 'protocol' | 'keyId'> = {}): ChipAuthChoice & { readonly publicKey: PublicKeyInfo } {
  let infos: ChipAuthenticationInfo[];
  let keys: ChipAuthenticationPublicKeyInfo[];
  try {
    const all = dg14SecurityInfos(dg14);
    infos = chipAuthenticationInfos(all);
    keys = chipAuthenticationPublicKeyInfos(all).filter((k) => k.protocol === PK_OID.ECDH);
  } catch (e) {
    if (e instanceof SecurityInfoError) throw new ChipAuthError('parameters', `EF.DG14: ${e.message}`);
    throw e;
  }
  // EAC 1.11-era DG14s may carry the key without a ChipAuthenticationInfo: that means 3DES (as JMRTD assumes).
  if (infos.length === 0 && keys.length > 0) infos = [{ type: 'ChipAuthenticationInfo', protocol: CA_OID.ECDH_3DES, version: 1 }];
  const usable: { info: ChipAuthenticationInfo; suite: CaSuite; key: ChipAuthenticationPublicKeyInfo }[] = [];
  for (const info of infos) {
    const suite = caSuite(info.protocol);
    if (suite === undefined || !suite.supported || info.version !== 1) continue;
    if (opts.protocol !== undefined && suite.oid !== opts.protocol) continue;
    if (opts.keyId !== undefined && info.keyId !== undefined && info.keyId !== opts.keyId) continue;
    const key = keys.find((k) => k.keyId === info.keyId) ?? (keys.length === 1 && info.keyId === undefined ? keys[0] : undefined);
    if (key !== undefined) usable.push({ info, suite, key });
  }
  if (usable.length === 0) throw new ChipAuthError('parameters', 'EF.DG14 offers no ECDH Chip Authentication (version 1) with a matching public key');
  usable.sort((a, b) => STRENGTH[b.suite.kdf]! - STRENGTH[a.suite.kdf]!);
  const pick = usable[0]!;
  let publicKey: PublicKeyInfo;
  try {
    publicKey = decodeSubjectPublicKeyInfo(pick.key.subjectPublicKeyInfo);
  } catch (e) {
    if (e instanceof AsymmetricCryptoError) throw new ChipAuthError('parameters', `EF.DG14 chip authentication public key: ${e.message}`);
    throw e;
  }
  if (publicKey.type !== 'ec') throw new ChipAuthError('parameters', 'EF.DG14: the id-PK-ECDH key is not an EC key');
  const group = publicKey.curve !== undefined ? ecGroup(publicKey.curve) : customGroup(publicKey.parameters);
  return { suite: pick.suite, keyId: pick.info.keyId, group, publicKey };
}

function apdu(header: readonly number[], data: Uint8Array, le?: number): Uint8Array {
  if (data.length > 255) throw new ByteInputError('Chip Authentication command data longer than a short APDU');
  return concatBytes(new Uint8Array([...header, data.length]), data, le === undefined ? new Uint8Array(0) : new Uint8Array([le]));
}

async function send(transport: Transport, command: Uint8Array, name: string): Promise<Uint8Array> {
  const r = parseResponseApdu(await transport.transmit(command));
  if (r.sw !== 0x9000) throw new ChipAuthError('refused', `${name} answered ${r.sw.toString(16).toUpperCase().padStart(4, '0')}`, r.sw);
  return r.data;
}

/**
 * Runs Chip Authentication over the current secure-messaging session and returns the new one.
 *
 * @example const ca = await performChipAuthentication(sm, { dg14, command: 'at' });
 */
export async function performChipAuthentication(transport: SecureMessagingTransport, opts: ChipAuthOptions): Promise<SecureMessagingTransport> {
  if (!(transport instanceof SecureMessagingTransport)) throw new ByteInputError('transport: Chip Authentication runs under secure messaging (BAC or PACE first)');
  const { suite, keyId, group, publicKey } = chooseChipAuthentication(opts.dg14, opts);
  let pkIc;
  try {
    pkIc = group.decodePoint((publicKey as PublicKeyInfo & { type: 'ec' }).point);
  } catch (e) {
    if (e instanceof EcPointError) throw new ChipAuthError('parameters', `EF.DG14 chip authentication public key: ${e.message}`);
    throw e;
  }
  const sk = randomScalar(group, randomSource(opts.random));
  const pkIfd = group.encodePoint(group.baseMultiply(sk));
  let k: Uint8Array;
  if (publicKey.type === 'ec' && publicKey.curve !== undefined) {
    // A named curve: OpenSSL with the point known (one scalar multiplication, not two).
    const d = scalarBytes(sk, group.orderLength);
    try {
      k = ecdhSharedSecret(publicKey.curve, d, publicKey.point, pkIfd);
    } finally {
      zeroize(d);
    }
  } else {
    k = group.sharedX(sk, pkIc);
  }
  const keys = caSessionKeys(suite, k);
  zeroize(k);
  try {
    const keyRef = keyId === undefined ? new Uint8Array(0) : encodeTlv(0x84, uintToBytes(keyId));
    const command = opts.command ?? (suite.cipher === '3des' ? 'kat' : 'at');
    if (command === 'kat') {
      await send(transport, apdu([0x00, 0x22, 0x41, 0xa6], concatBytes(encodeTlv(0x91, pkIfd), keyRef)), 'MSE:Set KAT');
    } else {
      await send(transport, apdu([0x00, 0x22, 0x41, 0xa4], concatBytes(encodeTlv(0x80, suite.oidBytes), keyRef)), 'MSE:Set AT');
      await send(transport, apdu([0x00, 0x86, 0x00, 0x00], tlvConstructed(0x7c, encodeTlv(0x80, pkIfd)), 0x00), 'GENERAL AUTHENTICATE');
    }
    const below = transport.inner;
    transport.close();
    return new SecureMessagingTransport(below, keys);
  } finally {
    wipeSmKeys(keys);
  }
}
