/**
 * Asymmetric operations of the card (issue: SM, BAC, PACE, chip authentication and on-card
 * cryptography), card and terminal in one process over the in-process transport, milliseconds per
 * operation (lower is better):
 *
 * - Active Authentication (INTERNAL AUTHENTICATE + verification by the terminal): ECDSA P-256
 *   (SHA-256), with RSA-2048 / ISO/IEC 9796-2 (SHA-256) as the peer figure.
 * - Chip Authentication (MSE:Set AT + GENERAL AUTHENTICATE, id-CA-ECDH-AES-CBC-CMAC-128) on
 *   brainpoolP256r1, with NIST P-256 as the peer (OpenSSL optimizes P-256 only), under an AES
 *   session installed directly.
 * - PSO COMPUTE DIGITAL SIGNATURE with "PIN always": VERIFY + PSO per signature, ECDSA P-256,
 *   with RSA-2048 PKCS#1 v1.5 as the peer.
 * - GENERATE ASYMMETRIC KEY PAIR: EC P-256 (card RNG, @noble/curves), with RSA-2048 (OpenSSL
 *   prime search, highly variable) as the peer.
 *
 * Wiring (bench/run.ts): `import { asymmetricFigures } from './asymmetric.js'` and
 * `...(await asymmetricFigures(opts))`.
 */
import { hexToBytes } from '../src/bytes/index.js';
import { createCard, type Card } from '../src/card/os.js';
import type { AppletFactory } from '../src/card/applet.js';
import { newTransparentEf } from '../src/card/fs/file.js';
import { attach } from '../src/card/fs/tree.js';
import { ALWAYS, pin } from '../src/card/security/access.js';
import { newAsymmetricKey, newPin, type AsymmetricKeySpec } from '../src/card/security/objects.js';
import { addKeySlot, generateInSlot, storeAsymmetricKey } from '../src/card/protocols/key-store.js';
import { activeAuthCommands, activeAuthDg15, activeAuthSecurityInfo } from '../src/card/protocols/active-auth.js';
import { chipAuthCommands, chipAuthSecurityInfos } from '../src/card/protocols/chip-auth.js';
import { keyStoreCommands } from '../src/card/protocols/on-card-keys.js';
import { CardSmSession } from '../src/card/protocols/secure-messaging.js';
import { composeTables } from '../src/card/route.js';
import { generateRsaKeyPair, type EcCurveName } from '../src/crypto/asymmetric.js';
import { dg14Content } from '../src/crypto/ca.js';
import { CA_OID } from '../src/crypto/security-infos.js';
import type { SmKeys } from '../src/crypto/sm.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { SecureMessagingTransport } from '../src/transport/secure-messaging.js';
import { performActiveAuthentication } from '../src/terminal/active-auth.js';
import { performChipAuthentication } from '../src/terminal/chip-auth.js';
import { median, msPerCall, type Figure } from './lib.js';

const AID = hexToBytes('F0000000A5A5');
const PIN = hexToBytes('31323334');
const SM_KEYS: SmKeys = { cipher: 'aes', kEnc: new Uint8Array(16).fill(1), kMac: new Uint8Array(16).fill(2), ssc: new Uint8Array(16) };

/** One card with the slots `specs` (filled), AA on key 01, CA on key 02, the key store commands. */
function benchCard(specs: readonly AsymmetricKeySpec[], rsaPkcs8?: Uint8Array, aaHash?: 'sha256'): Card {
  const applet: AppletFactory = {
    type: 'bench',
    create: () => ({
      install: (ctx) => {
        ctx.nv.splice(ctx.df.pins, 0, 0, newPin({ ref: 0x81, value: PIN }));
        for (const s of specs) {
          const k = addKeySlot(ctx.nv, ctx.df, newAsymmetricKey(s));
          if (s.type === 'rsa' && rsaPkcs8 !== undefined) storeAsymmetricKey(ctx.nv, k, { type: 'rsa', pkcs8: rsaPkcs8 });
          else generateInSlot(ctx.nv, k, ctx.rng);
        }
        const aa = { key: 0x01, ...(aaHash ? { hash: aaHash } : {}) };
        const dg15 = activeAuthDg15(ctx.df, aa);
        attach(ctx.nv, ctx.df, newTransparentEf(0x010f, dg15.length, { sfi: 0x0f, data: dg15 }));
        const infos = [...chipAuthSecurityInfos(ctx.df, { keys: [{ key: 0x02, protocol: CA_OID.ECDH_AES_128 }] })];
        const aaInfo = activeAuthSecurityInfo(ctx.df, aa);
        if (aaInfo) infos.push(aaInfo);
        const dg14 = dg14Content(infos);
        attach(ctx.nv, ctx.df, newTransparentEf(0x010e, dg14.length, { sfi: 0x0e, data: dg14 }));
      },
      commands: composeTables(
        activeAuthCommands({ key: 0x01, ...(aaHash ? { hash: aaHash } : {}) }),
        chipAuthCommands({ keys: [{ key: 0x02, protocol: CA_OID.ECDH_AES_128 }] }),
        keyStoreCommands(),
      ),
    }),
  };
  const card = createCard({ applets: [applet] });
  card.install(AID, 'bench');
  card.powerOn();
  const sel = card.transmit(hexToBytes('00A4040C06F0000000A5A5'));
  if (sel[0] !== 0x90) throw new Error('bench setup: SELECT failed');
  return card;
}

function file(card: Card, fid: number): Uint8Array {
  const df = card.state.mf.children.find((c) => c.kind === 'DF');
  const ef = df?.kind === 'DF' ? df.children.find((c) => c.fid === fid) : undefined;
  if (ef?.kind !== 'EF' || ef.structure !== 'transparent') throw new Error(`bench setup: no EF ${fid.toString(16)}`);
  return ef.data;
}

/** Milliseconds per call of `once` over about `ms` (after a short warm-up). */
async function msPer(once: () => Promise<void> | void, ms: number, warmup = 3): Promise<number> {
  return (await msPerCall(once, ms, warmup)).wall;
}

function ecSpecs(curve: EcCurveName): AsymmetricKeySpec[] {
  return [
    { ref: 0x01, type: 'ec', curve: 'P-256', usage: ['active-authentication'] },
    { ref: 0x02, type: 'ec', curve, usage: ['chip-authentication'] },
    { ref: 0x03, type: 'ec', curve: 'P-256', usage: ['sign'], use: pin(0x81), pinAlways: true, generate: ALWAYS },
  ];
}

async function aa(card: Card, ms: number): Promise<number> {
  const t = new InProcessTransport(card);
  const dg15 = file(card, 0x010f).slice();
  const dg14 = file(card, 0x010e).slice();
  return msPer(async () => {
    await performActiveAuthentication(t, { dg15, dg14 });
  }, ms);
}

async function ca(card: Card, ms: number): Promise<number> {
  const inner = new InProcessTransport(card);
  const dg14 = file(card, 0x010e).slice();
  const channel = (card as unknown as { channels: { sm: unknown }[] }).channels[0]!;
  return msPer(async () => {
    channel.sm = new CardSmSession(SM_KEYS);
    const sm = new SecureMessagingTransport(inner, SM_KEYS);
    const next = await performChipAuthentication(sm, { dg14 });
    next.close();
  }, ms);
}

function signatures(card: Card, ref: number, alg: number, ms: number): Promise<number> {
  const verify = hexToBytes('002000810431323334');
  const hash = new Uint8Array(32).fill(0x42);
  const mse = hexToBytes(`002241B6068401${ref.toString(16).padStart(2, '0')}8001${alg.toString(16).padStart(2, '0')}`);
  if (card.transmit(mse)[0] !== 0x90) throw new Error('bench setup: MSE failed');
  const cds = new Uint8Array([0x00, 0x2a, 0x9e, 0x9a, 0x20, ...hash, 0x00]);
  return msPer(() => {
    card.transmit(verify);
    const r = card.transmit(cds);
    if (r[r.length - 2] !== 0x90) throw new Error('bench: signature refused');
  }, ms);
}

function generation(card: Card, ref: number, ms: number, warmup: number): Promise<number> {
  const cmd = hexToBytes(`00460000000005B60384010${ref.toString(16)}0000`);
  return msPer(() => {
    const r = card.transmit(cmd);
    if (r[r.length - 2] !== 0x90) throw new Error('bench: GENERATE refused');
  }, ms, warmup);
}

function figure(name: string, ours: number[], peerName: string, peer: number[], note: string): Figure {
  const m = median(ours);
  const pm = median(peer);
  return {
    name,
    unit: 'ms',
    median: m,
    min: Math.min(...ours),
    max: Math.max(...ours),
    rounds: ours.length,
    peer: { name: peerName, median: pm, min: Math.min(...peer), max: Math.max(...peer) },
    ratio: m / pm,
    note,
  };
}

/**
 * `asymmetric`: Active Authentication, Chip Authentication, PSO signatures with "PIN always",
 * GENERATE ASYMMETRIC KEY PAIR — ms per operation, card and terminal in-process.
 */
export async function asymmetricFigures(opts: { ms: number; rounds: number }): Promise<Figure[]> {
  const rsa = generateRsaKeyPair(2048);
  const ecCard = benchCard(ecSpecs('brainpoolP256r1'));
  const p256Card = benchCard(ecSpecs('P-256'));
  const rsaCard = benchCard(
    [
      { ref: 0x01, type: 'rsa', bits: 2048, usage: ['active-authentication'] },
      { ref: 0x02, type: 'ec', curve: 'P-256', usage: ['chip-authentication'] },
      { ref: 0x04, type: 'rsa', bits: 2048, usage: ['sign'], use: pin(0x81), pinAlways: true, generate: ALWAYS },
    ],
    rsa.pkcs8,
    'sha256',
  );
  const out = { aaEc: [] as number[], aaRsa: [] as number[], caBp: [] as number[], caP256: [] as number[], sigEc: [] as number[], sigRsa: [] as number[], genEc: [] as number[], genRsa: [] as number[] };
  for (let i = 0; i < opts.rounds; i++) {
    out.aaEc.push(await aa(ecCard, opts.ms));
    out.aaRsa.push(await aa(rsaCard, opts.ms));
    out.caBp.push(await ca(ecCard, opts.ms));
    out.caP256.push(await ca(p256Card, opts.ms));
    out.sigEc.push(await signatures(ecCard, 0x03, 0x04, opts.ms));
    out.sigRsa.push(await signatures(rsaCard, 0x04, 0x12, opts.ms));
    out.genEc.push(await generation(ecCard, 0x03, opts.ms, 3));
    out.genRsa.push(await generation(rsaCard, 0x04, opts.ms, 0));
  }
  return [
    figure('Active Authentication (ECDSA P-256, SHA-256), card + terminal in-process', out.aaEc, 'RSA-2048, ISO/IEC 9796-2 SHA-256', out.aaRsa, 'INTERNAL AUTHENTICATE and OpenSSL verification; lower is better'),
    figure('Chip Authentication (ECDH-AES-128, brainpoolP256r1) under AES SM, card + terminal', out.caBp, 'same on NIST P-256', out.caP256, 'MSE:Set AT + GENERAL AUTHENTICATE, key derivation both sides; lower is better'),
    figure('PSO COMPUTE DIGITAL SIGNATURE with PIN always (VERIFY + PSO), ECDSA P-256', out.sigEc, 'RSA-2048 PKCS#1 v1.5', out.sigRsa, 'card only; lower is better'),
    figure('GENERATE ASYMMETRIC KEY PAIR, EC P-256 (card RNG)', out.genEc, 'RSA-2048 (OpenSSL)', out.genRsa, 'card only, answer 7F49; RSA prime search varies widely; lower is better'),
  ];
}
