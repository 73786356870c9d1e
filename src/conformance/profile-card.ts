/**
 * The card of `card: profile PROFILE DATA` (and `chipwright replay --profile P --data D`): a blank
 * simulated card for the profile, personalized with the holder data by the personalization
 * toolkit (`src/perso`: prepare → plan → personalize over the personalization channel), its data
 * groups signed by a fresh test PKI. A replay personalizes once per distinct (profile, data) and
 * gives every file a clone loaded from the card's image, so a suite costs one personalization.
 *
 * What perso generated and the vectors need — the PIN values (CAN, PIN, PUK: by the profile's
 * names) and the test CSCA certificate for passive authentication — comes back as named values the
 * runner treats as secrets given to it: `{PIN}` in a command or `pin={PIN}` in a session works
 * without `--secrets`, and every report masks the bytes. A generated value is never all zeros, so
 * vectors may use `000000` as the wrong one.
 *
 * @example
 * const card = await personalizeProfileCard('profiles/icao-td1.yaml', 'profiles/samples/specimen-full.yaml');
 * const c = loadCard(card.image, { applets: card.applets });  // a fresh copy, operational
 * card.values.CAN;                                             // ASCII digits, for PACE
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AppletFactory } from '../card/applet.js';
import { serializeCard } from '../card/image.js';
import { HolderError } from '../holder/validate.js';
import { createTestPki } from '../lds/pki.js';
import { LdsError } from '../lds/errors.js';
import { createBlankCard, profileApplets, profileTransportKey } from '../perso/applications.js';
import { PrepareError } from '../perso/encoders.js';
import { loadOneHolder } from '../perso/holders.js';
import { ProfileError } from '../perso/issues.js';
import { OperatorKeyError, operatorKeyNames } from '../perso/operator-keys.js';
import { buildPlan } from '../perso/plan.js';
import { prepareCard } from '../perso/prepare.js';
import { loadProfile } from '../perso/profile.js';
import { PersoChannelError } from '../perso/channel.js';
import { PersoError, personalize } from '../perso/runner.js';
import { SignerError, createTestCardIssuer } from '../perso/signers.js';
import type { Card } from '../card/os.js';
import { CardMuteError, type Transport } from '../transport/types.js';

/**
 * The card as a transport for personalization only. Not {@link InProcessTransport}: `chipwright
 * record -- replay …` wraps that class to record the replay, and personalization happens "at the
 * factory", before the card the recording starts from (its snapshot is the personalized card).
 */
class FactoryTransport implements Transport {
  constructor(private readonly card: Card) {}
  connect(): Promise<Uint8Array> {
    return Promise.resolve(this.card.powerOn());
  }
  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const r = this.card.transmit(apdu);
    return r.length < 2 ? Promise.reject(new CardMuteError('the card being personalized did not answer')) : Promise.resolve(r);
  }
  reset(): Promise<Uint8Array> {
    return Promise.resolve(this.card.reset());
  }
  disconnect(): Promise<void> {
    this.card.powerOff();
    return Promise.resolve();
  }
}

/** Name of the predefined value holding the test CSCA certificate (DER). */
export const CSCA_VALUE = 'CSCA';

/** A personalized card, as an image to clone, and the values its vectors may refer to. */
export interface ProfileCard {
  /** The card image (JSON text) after personalization. */
  readonly image: string;
  /** Applet types the image needs (the profile's). */
  readonly applets: readonly AppletFactory[];
  /** `PIN`, `CAN`, `PUK` (the profile's PIN names; ASCII as presented) and `CSCA` (DER). */
  readonly values: Readonly<Record<string, Uint8Array>>;
  /** Milliseconds personalization took (reports may show it). */
  readonly ms: number;
}

/** The profile, the holder data or personalization failed; the message says which and why. */
export class ProfileCardError extends Error {
  override readonly name = 'ProfileCardError';
}

const KNOWN_ERRORS = [ProfileError, HolderError, PrepareError, OperatorKeyError, SignerError, PersoError, PersoChannelError, LdsError] as const;

/**
 * Personalizes a simulated card from `profilePath` and the first holder of `dataPath` with a
 * fresh test PKI (document signer, card issuer) and random test operator keys.
 */
export async function personalizeProfileCard(profilePath: string, dataPath: string): Promise<ProfileCard> {
  const t0 = performance.now();
  const stage = { now: 'profile' as 'profile' | 'data' | 'personalization' };
  try {
    const profile = loadProfile(profilePath);
    stage.now = 'data';
    const holder = await loadOneHolder(dataPath);
    stage.now = 'personalization';
    const pki = createTestPki();
    // Test cards: operator keys (purse, door) are random and known to nobody outside the card.
    const operatorKeys = new Map(operatorKeyNames(profile).map((n) => [n, new Uint8Array(randomBytes(16))]));
    const signers = { 'document-signer': pki.documentSigner, 'card-issuer': createTestCardIssuer() };
    // Vectors write all zeros as the wrong PIN or CAN: a generated all-zero value (one card in a
    // million) is drawn again rather than making such a vector fail once in a while.
    let prepared = prepareCard(profile, holder, { signers, operatorKeys });
    while (prepared.pins.some((p) => p.generated && p.value.every((b) => b === 0x30))) prepared = prepareCard(profile, holder, { signers, operatorKeys });
    const card = createBlankCard(profile, { operatorKeys, holderId: prepared.holderId });
    const t = new FactoryTransport(card);
    const atr = await t.connect();
    await personalize(t, buildPlan(prepared, { apdu: profile.channel.apdu === 'short' ? 'short' : 'extended' }), { transportKey: profileTransportKey(profile, operatorKeys), atr });
    await t.disconnect();
    const values: Record<string, Uint8Array> = { [CSCA_VALUE]: pki.csca.certificate };
    for (const p of prepared.pins) values[p.spec.name] = p.value.slice();
    return { image: serializeCard(card), applets: profileApplets(profile), values, ms: performance.now() - t0 };
  } catch (e) {
    const what = stage.now === 'profile' ? `profile ${profilePath}` : stage.now === 'data' ? `holder data ${dataPath}` : `personalizing ${profilePath} with ${dataPath}`;
    const code = (e as NodeJS.ErrnoException).code;
    // Some readers let the file system's error through as is.
    if (stage.now !== 'personalization' && typeof code === 'string') throw new ProfileCardError(`${what}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code})`}`);
    if (!KNOWN_ERRORS.some((k) => e instanceof k)) throw e;
    throw new ProfileCardError(`${what}: ${(e as Error).message}`);
  }
}
