/**
 * Terminal side of the personalization channel (card side and the scheme:
 * `card/protocols/perso-sm.ts`): transport-key authentication (GET CHALLENGE + EXTERNAL
 * AUTHENTICATE P2=00), then OPEN PERSONALIZATION CHANNEL with a fresh RND.IFD, the card's tag
 * checked, and a {@link SecureMessagingTransport} that protects every command after it.
 *
 * @example
 * const perso = await openPersoChannel(transport, { algorithm: '3des', value: DEFAULT_TRANSPORT_KEY });
 * await perso.transmit(createFileApdu); // under SM
 */
import { randomBytes } from 'node:crypto';
import { encodeCommandApdu } from '../apdu/command.js';
import { parseResponseApdu } from '../apdu/response.js';
import { constantTimeEqual, zeroize } from '../bytes/index.js';
import { PERSO_SM_CLA, PERSO_SM_INS, PERSO_SM_RANDOM_LENGTH, PERSO_SM_TAG_LENGTH, persoSessionKeys } from '../card/protocols/perso-sm.js';
import { externalAuthenticateApdu, getChallengeApdu, transportCryptogram, type TransportKey } from '../script/transport-auth.js';
import { SecureMessagingTransport } from '../transport/secure-messaging.js';
import type { Transport } from '../transport/types.js';

export type ChannelFailure = 'operational' | 'transport-key' | 'no-perso-sm' | 'card-not-authentic';

/** The channel could not be opened; `sw` is the card's answer. */
export class PersoChannelError extends Error {
  override readonly name = 'PersoChannelError';
  constructor(
    readonly reason: ChannelFailure,
    message: string,
    readonly sw?: number,
  ) {
    super(message);
  }
}

const swHex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');

/** GET CHALLENGE + EXTERNAL AUTHENTICATE with the transport key (P2 = 00). */
export async function authenticateTransportKey(t: Transport, key: TransportKey): Promise<void> {
  const ch = parseResponseApdu(await t.transmit(getChallengeApdu()));
  if (ch.sw !== 0x9000) throw new PersoChannelError('transport-key', `GET CHALLENGE answered ${swHex(ch.sw)}`, ch.sw);
  const cryptogram = transportCryptogram(key, ch.data);
  let r;
  try {
    r = parseResponseApdu(await t.transmit(externalAuthenticateApdu(cryptogram)));
  } finally {
    zeroize(cryptogram);
  }
  if (r.sw === 0x6a88) throw new PersoChannelError('operational', 'the card is past personalization (the transport key is gone): refused', r.sw);
  if (r.sw === 0x6985) throw new PersoChannelError('operational', 'the card is not in personalization state: refused', r.sw);
  if (r.sw !== 0x9000) {
    const left = (r.sw & 0xfff0) === 0x63c0 ? `; ${r.sw & 0x0f} tries left` : r.sw === 0x6983 ? '; the transport key is blocked' : '';
    throw new PersoChannelError('transport-key', `EXTERNAL AUTHENTICATE with the transport key answered ${swHex(r.sw)}${left}: wrong transport key?`, r.sw);
  }
}

/**
 * Authenticates with the transport key and, with `secureMessaging` (default), opens the SM
 * channel. Returns the transport to personalize through.
 */
export async function openPersoChannel(t: Transport, key: TransportKey, opts: { readonly secureMessaging?: boolean; readonly rndIfd?: Uint8Array } = {}): Promise<Transport> {
  await authenticateTransportKey(t, key);
  if (opts.secureMessaging === false) return t;
  const rndIfd = opts.rndIfd ?? new Uint8Array(randomBytes(PERSO_SM_RANDOM_LENGTH));
  const r = parseResponseApdu(await t.transmit(encodeCommandApdu({ cla: PERSO_SM_CLA, ins: PERSO_SM_INS, data: rndIfd, ne: 256 })));
  if (r.sw === 0x6d00 || r.sw === 0x6e00) {
    throw new PersoChannelError('no-perso-sm', `OPEN PERSONALIZATION CHANNEL answered ${swHex(r.sw)}: the card has no personalization channel (card-level applet without perso-sm)`, r.sw);
  }
  if (r.sw !== 0x9000 || r.data.length !== PERSO_SM_RANDOM_LENGTH + PERSO_SM_TAG_LENGTH) {
    throw new PersoChannelError('no-perso-sm', `OPEN PERSONALIZATION CHANNEL answered ${swHex(r.sw)}`, r.sw);
  }
  const rndIcc = r.data.subarray(0, PERSO_SM_RANDOM_LENGTH);
  const { sm, cardTag } = persoSessionKeys(key.value, rndIfd, rndIcc);
  if (!constantTimeEqual(cardTag, r.data.subarray(PERSO_SM_RANDOM_LENGTH))) {
    zeroize(sm.kEnc);
    zeroize(sm.kMac);
    throw new PersoChannelError('card-not-authentic', "the card's channel tag does not verify: it does not hold this transport key");
  }
  const wrapped = new SecureMessagingTransport(t, sm);
  zeroize(sm.kEnc);
  zeroize(sm.kMac);
  return wrapped;
}
