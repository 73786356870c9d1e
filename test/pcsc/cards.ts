/**
 * Cards for the PC/SC tests and benchmark: a 1 KiB transparent EF 0101 (SFI 1, bytes 00..FF
 * repeating, no security attributes: read and update ALWAYS) and PIN 01 = "123456" in the MF.
 */
import { saveCardImage } from '../../src/card/image.js';
import { createCard, type Card } from '../../src/card/os.js';
import { newTransparentEf } from '../../src/card/fs/file.js';
import { attach } from '../../src/card/fs/tree.js';
import { newPin } from '../../src/card/security/objects.js';

export const EF_SIZE = 1024;
export const EF_DATA: Uint8Array = new Uint8Array(EF_SIZE).map((_, i) => i & 0xff);
export const PIN = new TextEncoder().encode('123456');

export function testCard(): Card {
  const card = createCard();
  attach(card.nv, card.state.mf, newTransparentEf(0x0101, EF_SIZE, { sfi: 1, data: EF_DATA }));
  card.nv.splice(card.state.mf.pins, 0, 0, newPin({ ref: 0x01, value: PIN, minLength: 4, maxLength: 8 }));
  card.nv.commit();
  return card;
}

/** Writes a fresh {@link testCard} image to `path`; returns the card. */
export function writeTestCard(path: string): Card {
  const card = testCard();
  saveCardImage(card, path);
  return card;
}
