/**
 * Command data made of BER-TLV data objects (MSE, GENERAL AUTHENTICATE, GENERATE ASYMMETRIC KEY
 * PAIR) that is not BER-TLV: 6A80 (ISO/IEC 7816-4 §5.6), from src/card/command-data.ts, on every
 * command that parses such data — never 6F00, never an exception out of the card.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StatusWordError } from '../src/apdu/status.js';
import { bytesToHex, hexToBytes } from '../src/bytes/index.js';
import { commandTlv, commandTlvList } from '../src/card/command-data.js';
import { buildIdCard } from '../src/apps/id-card.js';
import { ESERVICES_AID } from '../src/apps/eservices/layout.js';
import { SPECIMEN_OPTS, holder } from './helpers/specimen.js';

function swOf(f: () => unknown): string {
  try {
    f();
    return 'none';
  } catch (e) {
    if (e instanceof StatusWordError) return `${e.sw.toString(16).toUpperCase()} ${e.detail ?? ''}`;
    throw e;
  }
}

describe('commandTlv / commandTlvList', () => {
  it('parse well-formed data as the BER-TLV codec does', () => {
    expect(commandTlv(hexToBytes('7C028100'), 'GA data').tag).toBe(0x7c);
    expect(commandTlvList(hexToBytes('800101 8401 02'.replace(/ /g, '')), 'MSE data').map((d) => d.tag)).toEqual([0x80, 0x84]);
    expect(commandTlvList(new Uint8Array(0), 'MSE data')).toEqual([]);
  });

  it('turn malformed data into 6A80 naming what was parsed', () => {
    expect(swOf(() => commandTlv(hexToBytes('7C05'), 'GENERAL AUTHENTICATE data'))).toMatch(/^6A80 GENERAL AUTHENTICATE data: /);
    expect(swOf(() => commandTlvList(hexToBytes('8001'), 'MSE:SET data'))).toMatch(/^6A80 MSE:SET data: /);
    // One object, not two.
    expect(swOf(() => commandTlv(hexToBytes('80010184'), 'GENERATE ASYMMETRIC KEY PAIR data'))).toMatch(/^6A80 /);
  });

  it('any prefix of a valid DO list that cuts an object short is 6A80', () => {
    const whole = hexToBytes('800A04007F0007020204020283010284020001');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: whole.length - 1 }), (n) => {
        const cut = whole.subarray(0, n);
        // Cuts between objects (after 12, 15 bytes) are well-formed shorter lists.
        if (n === 12 || n === 15) expect(commandTlvList(cut, 'MSE data').length).toBe(n === 12 ? 1 : 2);
        else expect(swOf(() => commandTlvList(cut, 'MSE data'))).toMatch(/^6A80 /);
      }),
    );
  });
});

describe('on the card: truncated data objects answer 6A80', () => {
  const card = buildIdCard(holder, SPECIMEN_OPTS);
  card.powerOn();
  const tx = (apdu: string): string => bytesToHex(card.transmit(hexToBytes(apdu.replace(/ /g, '')))).slice(-4);
  const selectEServices = `00A4040C ${ESERVICES_AID.length.toString(16).padStart(2, '0')} ${bytesToHex(ESERVICES_AID)}`;

  it('MSE:Set AT for PACE and PACE GENERAL AUTHENTICATE (in the MF)', () => {
    expect(tx('0022C1A4 02 8003')).toBe('6A80');
    // A well-formed MSE:Set AT (PACE-ECDH-GM-AES-128, CAN) is taken; then a cut 7C template is 6A80.
    expect(tx('0022C1A4 0F 800A04007F00070202040202 830102')).toBe('9000');
    expect(tx('10860000 02 7C05')).toBe('6A80');
  });

  it('MSE:SET and GENERATE ASYMMETRIC KEY PAIR (in the e-services application)', () => {
    expect(tx(selectEServices)).toBe('9000');
    expect(tx('002241B6 02 8405')).toBe('6A80');
    expect(tx('002241A4 02 8405')).toBe('6A80');
    expect(tx('00460000 02 B605')).toBe('6A80');
    // The same commands with well-formed data get past the parse (whatever they answer then).
    expect(tx('002241B6 03 840181')).not.toBe('6A80');
  });
});
