/**
 * Reading figures (issue 8: "passive authentication of a full card"): a `qatar-id` card
 * personalized once for the specimen holder, then
 * - passive authentication of the whole card: every application's EF.SOD (identity, health,
 *   licence, finances, e-services) verified against the files as read — signature, chain to the
 *   CSCA or card-issuer CA, validity, every file hash — the reader's work without the APDUs;
 * - the whole read as `chipwright read` does it, in-process: PACE with the CAN, then with the PIN,
 *   Chip and Active Authentication, every file of every application under AES SM, passive
 *   authentication, decoding to the holder model.
 */
import { createTestPki } from '../src/lds/pki.js';
import { verifySod } from '../src/lds/passive-auth.js';
import { recordFileBytes } from '../src/apps/health/common.js';
import { readIdCard, type IdCardReadResult } from '../src/apps/id-card.js';
import { loadHolder } from '../src/holder/validate.js';
import { createBlankCard, profileTransportKey } from '../src/perso/applications.js';
import { buildPlan } from '../src/perso/plan.js';
import { prepareCard } from '../src/perso/prepare.js';
import { loadProfile } from '../src/perso/profile.js';
import { personalize } from '../src/perso/runner.js';
import { createTestCardIssuer } from '../src/perso/signers.js';
import { demoOperatorKeys } from '../src/script/demo.js';
import { InProcessTransport } from '../src/transport/in-process.js';
import { summarize, type Figure } from './lib.js';

/** Every EF.SOD of a read card with the files it covers, as read. */
function securityObjects(r: IdCardReadResult): { sod: Uint8Array; files: Map<number, Uint8Array> }[] {
  const out: { sod: Uint8Array; files: Map<number, Uint8Array> }[] = [];
  if (r.identity.raw.sod !== undefined) out.push({ sod: r.identity.raw.sod, files: new Map(r.identity.raw.dataGroups) });
  if (r.licence?.raw.sod !== undefined) out.push({ sod: r.licence.raw.sod, files: new Map(r.licence.raw.dataGroups) });
  const h = r.health?.raw;
  if (h?.sod !== undefined) out.push({ sod: h.sod, files: new Map([[1, recordFileBytes(h.insurance ?? [])], [2, recordFileBytes(h.dependants ?? [])]]) });
  const f = r.finance?.raw;
  if (f?.sod !== undefined) out.push({ sod: f.sod, files: new Map([[1, recordFileBytes(f.accounts ?? [])], [2, recordFileBytes(f.cards ?? [])]]) });
  return out;
}

export async function readFigures(opts: { ms: number; rounds: number }): Promise<Figure[]> {
  const profile = loadProfile('profiles/qatar-id.yaml');
  const holder = loadHolder('profiles/samples/specimen-full.yaml');
  const pki = createTestPki();
  const issuer = createTestCardIssuer();
  const operatorKeys = demoOperatorKeys();
  const prepared = prepareCard(profile, holder, { signers: { 'document-signer': pki.documentSigner, 'card-issuer': issuer }, operatorKeys });
  const pin = (n: string): string => new TextDecoder().decode(prepared.pins.find((p) => p.spec.name === n)!.value);
  const card = createBlankCard(profile, { operatorKeys, holderId: prepared.holderId });
  const t = new InProcessTransport(card);
  const atr = await t.connect();
  await personalize(t, buildPlan(prepared, { apdu: 'extended' }), { transportKey: profileTransportKey(profile), atr });
  const anchors = [pki.csca.certificate, issuer.certificate];
  const read = async (): Promise<IdCardReadResult> => {
    await t.disconnect();
    await t.connect();
    return readIdCard(t, { can: pin('CAN'), pin: pin('PIN'), cscas: anchors });
  };
  const first = await read();
  if (first.verdict !== 'valid') throw new Error(`bench/read: the personalized card reads ${first.verdict}`);
  const sods = securityObjects(first);
  const files = sods.reduce((n, s) => n + s.files.size, 0);

  const pa: number[] = [];
  const whole: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    let n = 0;
    let start = performance.now();
    while (performance.now() - start < opts.ms) {
      for (const s of sods) if (verifySod(s.sod, s.files, anchors).verdict !== 'valid') throw new Error('bench/read: passive authentication failed');
      n++;
    }
    pa.push((performance.now() - start) / n);
    n = 0;
    start = performance.now();
    while (performance.now() - start < opts.ms) {
      await read();
      n++;
    }
    whole.push((performance.now() - start) / n);
  }
  return [
    summarize('passive authentication of a full qatar-id card (EF.SOD signatures, chains, validity, file hashes)', 'ms', pa, `${sods.length} security objects over ${files} files`),
    summarize('chipwright read of a full qatar-id card in-process (PACE CAN+PIN, CA, AA, every file under AES SM, PA, decode)', 'ms', whole),
  ];
}
