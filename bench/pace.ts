/**
 * PACE handshake cost (issue 3: under 5 ms): one full PACE run — MSE:Set AT and the four GENERAL
 * AUTHENTICATE steps, id-PACE-ECDH-GM-AES-CBC-CMAC-128 on brainpoolP256r1 with the CAN — card and
 * terminal in one process over the in-process transport, milliseconds per handshake. A P-256 run is
 * measured alongside as the peer figure (OpenSSL has an optimized P-256; brainpool curves run on
 * its generic code), so the ratio shows what the curve costs.
 *
 * Wall-clock time and the process's CPU time (`process.cpuUsage`) are both reported: on a machine
 * shared with other work the wall clock also counts the time the scheduler gave to others, while
 * CPU time is what the handshake itself costs (it runs on one thread; garbage-collector helper
 * threads add a little).
 */
import { hexToBytes } from '../src/bytes/index.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { paceCardAccess, paceCommands, pacePasswords, type PaceProtocol } from '../src/card/protocols/pace.js';
import { PACE_OID } from '../src/crypto/security-infos.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { performPace } from '../src/terminal/pace.js';
import { median, msPerCall, type Figure } from './lib.js';

const AID = hexToBytes('A0000002471001');
const CAN = '500540';

function paceCard(protocol: PaceProtocol): { card: Card; cardAccess: Uint8Array } {
  const applet: AppletFactory = {
    type: 'pace-bench',
    create: () => ({ commands: paceCommands(pacePasswords({ protocols: [protocol], can: new TextEncoder().encode(CAN) })) }),
  };
  const card = createCard({ applets: [applet] });
  card.install(AID, 'pace-bench');
  const cardAccess = paceCardAccess([protocol]);
  attach(card.nv, card.state.mf, newTransparentEf(0x011c, cardAccess.length, { sfi: 0x1c, data: cardAccess }));
  card.nv.commit();
  card.powerOn();
  if (card.transmit(hexToBytes('00A4040C07A0000002471001'))[0] !== 0x90) throw new Error('bench setup: SELECT failed');
  return { card, cardAccess };
}

/** Wall-clock and CPU milliseconds per handshake over `ms` of repeated handshakes (after a warm-up). */
async function handshakes(protocol: PaceProtocol, ms: number): Promise<{ wall: number; cpu: number }> {
  const { card, cardAccess } = paceCard(protocol);
  const t = new InProcessTransport(card);
  const once = async (): Promise<void> => {
    await performPace(t, { kind: 'can', password: CAN, cardAccess });
  };
  return msPerCall(once, ms, 5);
}

/**
 * `pace-handshake`: ms per full PACE handshake on brainpoolP256r1 (target < 5 ms), with the same
 * handshake on NIST P-256 as the peer; wall clock, then CPU time.
 */
export async function paceFigures(opts: { ms: number; rounds: number }): Promise<Figure[]> {
  const bp: { wall: number; cpu: number }[] = [];
  const p256: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    bp.push(await handshakes({ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 13 }, opts.ms));
    p256.push(await handshakes({ protocol: PACE_OID.ECDH_GM_AES_128, parameterId: 12 }, opts.ms));
  }
  const figure = (what: 'wall' | 'cpu', name: string, note: string): Figure => {
    const xs = bp.map((r) => r[what]);
    const ps = p256.map((r) => r[what]);
    const m = median(xs);
    const pm = median(ps);
    return {
      name,
      unit: 'ms',
      median: m,
      min: Math.min(...xs),
      max: Math.max(...xs),
      rounds: xs.length,
      peer: { name: 'same on NIST P-256', median: pm, min: Math.min(...ps), max: Math.max(...ps) },
      ratio: m / pm,
      note,
    };
  };
  return [
    figure('wall', 'PACE handshake (ECDH-GM-AES-128, brainpoolP256r1, CAN), card + terminal in-process', 'target < 5 ms; lower is better (ratio = brainpoolP256r1 / P-256)'),
    figure('cpu', 'PACE handshake, CPU time (same run)', 'process CPU time per handshake: what the wall clock shows on an idle machine'),
  ];
}
