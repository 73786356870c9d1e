/**
 * Personalization figures (issue 6): `qatar-id` for a holder with a 20 KB face image, data
 * preparation (encoders, EF.SOD signing) + APDUs under the perso channel + read-back + on-card
 * keys and certificates + activation, in-process on one core; the APDU count per card; peak RSS
 * while preparing many holders streamed from JSON Lines (100,000 in a full run). The batch over 1
 * and 2 virtual readers (pcscd + vpcd) needs the PC/SC stack (bench/pcsc.ts's pattern): without
 * it the figure is left out with a note.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki } from '../src/lds/pki.js';
import { loadHolder } from '../src/holder/validate.js';
import type { Holder } from '../src/holder/types.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { createBlankCard, profileTransportKey } from '../src/perso/applications.js';
import { readHolders } from '../src/perso/holders.js';
import { buildPlan } from '../src/perso/plan.js';
import { prepareCard } from '../src/perso/prepare.js';
import { loadProfile } from '../src/perso/profile.js';
import { personalize } from '../src/perso/runner.js';
import { createTestCardIssuer } from '../src/perso/signers.js';
import { demoOperatorKeys } from '../src/script/demo.js';
import { summarize, type Figure } from './lib.js';

/** A JPEG padded with a COM segment to `size` bytes (the face's pixels do not matter here). */
function jpegOf(size: number, base: Uint8Array): Uint8Array {
  const pad = size - base.length;
  if (pad <= 4) return base;
  const com = new Uint8Array(pad);
  com.set([0xff, 0xfe, ((pad - 2) >>> 8) & 0xff, (pad - 2) & 0xff]);
  const out = new Uint8Array(size);
  out.set(base.subarray(0, 2));
  out.set(com, 2);
  out.set(base.subarray(2), 2 + pad);
  return out;
}

export async function persoFigures(opts: { ms: number; rounds: number; smoke: boolean }): Promise<Figure[]> {
  const profile = loadProfile('profiles/qatar-id.yaml');
  const sample = loadHolder('profiles/samples/specimen-full.yaml');
  const holder: Holder = { ...sample, face: { ...sample.face!, image: jpegOf(20_000, sample.face!.image) } };
  const pki = createTestPki();
  const issuer = createTestCardIssuer();
  const operatorKeys = demoOperatorKeys();
  const signers = { 'document-signer': pki.documentSigner, 'card-issuer': issuer };
  let apdus = 0;
  const one = async (): Promise<void> => {
    const prepared = prepareCard(profile, holder, { signers, operatorKeys });
    const card = createBlankCard(profile, { operatorKeys, holderId: prepared.holderId });
    const t = new InProcessTransport(card);
    const atr = await t.connect();
    const r = await personalize(t, buildPlan(prepared, { apdu: 'extended' }), { transportKey: profileTransportKey(profile), atr });
    apdus = r.apdus;
  };
  for (let i = 0; i < 5; i++) await one();
  const rates: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < opts.ms) {
      await one();
      n++;
    }
    rates.push(n / ((performance.now() - start) / 1000));
  }
  const figures: Figure[] = [
    summarize('perso qatar-id in-process (20 KB face; prep + APDUs + read-back + 4 on-card keys, 2 certificates)', 'cards/s', rates, `${apdus} APDUs per card`),
  ];

  // Peak RSS while preparing N holders streamed from JSON Lines.
  const n = opts.smoke ? 500 : 100_000;
  const dir = mkdtempSync(join(tmpdir(), 'cw-bench-'));
  const base = JSON.parse(readFileSync('profiles/samples/specimen-minimal.json', 'utf8')) as Record<string, { idNumber?: string; number?: string }>;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({ identity: { ...base.identity, idNumber: String(10_000_000_000 + i) }, document: { ...base.document, number: `T${String(i).padStart(8, '0')}` } }));
  }
  writeFileSync(join(dir, 'h.jsonl'), lines.join('\n') + '\n');
  lines.length = 0;
  const td1 = loadProfile('profiles/icao-td1.yaml');
  let peak = process.memoryUsage().rss;
  let done = 0;
  const t0 = performance.now();
  for await (const r of readHolders(join(dir, 'h.jsonl'))) {
    if (r.holder === undefined) continue;
    buildPlan(prepareCard(td1, r.holder, { signers, holderId: r.id }), { apdu: 'extended' });
    if (++done % 100 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const secs = (performance.now() - t0) / 1000;
  figures.push(summarize(`peak RSS preparing ${n} holders streamed (icao-td1, JSON Lines)`, 'MiB', [peak / 2 ** 20], `${(done / secs).toFixed(0)} holders/s`));
  // Personalization over 1 and 2 virtual readers (pcscd + vpcd) is not measured yet (issue 8).
  return figures;
}
