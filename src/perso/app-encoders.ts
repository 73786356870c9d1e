/**
 * Encoders of the ID card's own applications, so that a profile personalizes them over APDUs
 * into exactly the files their readers expect (`apps/health`, `apps/licence`, `apps/finance`):
 * the same record codecs and data groups as `buildIdCard`, one encoder per file.
 *
 * | name | content | from |
 * |---|---|---|
 * | `health.insurance` | EF.INSURANCE: one insurance record (template E1) | healthInsurance |
 * | `health.dependants` | EF.DEPENDANTS: one record (E2) per dependant, the other slots empty (`00`) | healthInsurance |
 * | `licence.dg1` | the licence DG1 (ISO/IEC 18013-2 §C: holder, licence, categories) | drivingLicence, identity |
 * | `licence.dg6` | the licence DG6: a reference to the portrait file `portrait: application/file` with its SHA-256 | — |
 * | `finance.accounts` | EF.ACCOUNTS: one record (E3) per current or savings account | financialAccounts |
 * | `finance.cards` | EF.CARDS: one record (E3) per payment card (masked PAN only) | financialAccounts |
 * | `icao.dg14` | DG14 (ICAO 9303-11 §9.2): ChipAuthenticationInfo (ECDH, AES-128) and ChipAuthenticationPublicKeyInfo of the key pair `chipAuthentication`, and ActiveAuthenticationInfo (SHA-256) when `activeAuthentication` names an EC key pair — made during the run from the keys generated on the card | — |
 * | `icao.dg15` | DG15 (ICAO 9303-11 §6.1): the public key of the key pair `keyPair` — made during the run | — |
 * | `eservices.keys` | EF.KEYS: one record (E4) per key pair of the application this holder gets: label, usage, algorithm, key reference, certificate FID, PIN reference | eServices |
 *
 * Importing this module registers them (`profile.ts` does).
 */
import { AppDataError } from '../apps/health/common.js';
import { healthRecords } from '../apps/health/records.js';
import { encodeLicenceDg1 } from '../apps/licence/dg1.js';
import { holderLicenceDg1 } from '../apps/licence/data.js';
import { encodePortraitReference, portraitReference } from '../apps/licence/dg6.js';
import { financeRecords } from '../apps/finance/records.js';
import { encodeKeyRecord, type KeyDescriptor } from '../apps/eservices/records.js';
import { conditionPins } from '../card/security/access.js';
import type { EServiceKeyPair } from '../holder/types.js';
import { aaSecurityInfo, dg15Content } from '../crypto/aa.js';
import { encodeDg14 } from '../lds/dg14.js';
import { encodeSubjectPublicKeyInfo, type PublicKeyInfo } from '../crypto/asymmetric.js';
import { CA_OID, PK_OID, chipAuthenticationInfo, chipAuthenticationPublicKeyInfo, encodeSecurityInfos, type SecurityInfo } from '../crypto/security-infos.js';
import { PrepareError, registerEncoder, type Encoder, type EncoderContext, type EncoderProblem } from './encoders.js';

/** Runs an application codec, turning its data errors into a {@link PrepareError} for the file. */
function guarded<T>(ctx: EncoderContext, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof AppDataError) throw new PrepareError(ctx.holderId, `${ctx.application.name}/${ctx.file.name}`, e.message);
    throw e;
  }
}

/** An encoder with no `content` keys of its own. */
function noArgs(name: string): (content: { readonly args: Readonly<Record<string, unknown>> }) => EncoderProblem | undefined {
  return (content) => {
    const k = Object.keys(content.args)[0];
    return k === undefined ? undefined : { key: k, message: `not a key of the ${name} encoder`, hint: 'it takes none' };
  };
}

/** For record EFs only. */
function recordFile(name: string): Encoder['check'] {
  return (content, file) => (file.type === 'transparent' ? { message: `${name} makes records`, hint: 'type: linear-variable' } : noArgs(name)(content));
}

const APP_ENCODERS: readonly Encoder[] = [
  {
    name: 'health.insurance',
    description: 'EF.INSURANCE: the insurance record (insurer, member number, class, validity)',
    check: recordFile('health.insurance'),
    encode: (ctx) => guarded(ctx, () => healthRecords({ ...ctx.holder.healthInsurance!, dependants: [] }, 0).insurance),
  },
  {
    name: 'health.dependants',
    description: 'EF.DEPENDANTS: a record per dependant, the remaining slots empty',
    check: recordFile('health.dependants'),
    encode: (ctx) => guarded(ctx, () => healthRecords(ctx.holder.healthInsurance!, ctx.file.records ?? 0).dependants),
  },
  {
    name: 'licence.dg1',
    description: 'driving licence DG1 (ISO/IEC 18013-2): holder, licence and category data; typeApprovalNumber optional',
    check: (content) => {
      for (const [k, v] of Object.entries(content.args)) {
        if (k !== 'typeApprovalNumber') return { key: k, message: 'not a key of the licence.dg1 encoder', hint: 'typeApprovalNumber' };
        if (typeof v !== 'string') return { key: k, message: 'expected text' };
      }
      return undefined;
    },
    encode: (ctx, content) => guarded(ctx, () => encodeLicenceDg1(holderLicenceDg1(ctx.holder, content.args.typeApprovalNumber as string | undefined))),
  },
  {
    name: 'licence.dg6',
    description: 'driving licence DG6: the portrait by reference (portrait: application/file, e.g. identity/DG2) and its SHA-256',
    check: (content) => {
      const p = content.args.portrait;
      if (typeof p !== 'string' || !/^[^/]+\/[^/]+$/.test(p)) return { key: 'portrait', message: `expected application/file, got ${JSON.stringify(p)}`, hint: 'e.g. identity/DG2 (an application written before this one)' };
      const k = Object.keys(content.args).find((x) => x !== 'portrait');
      return k === undefined ? undefined : { key: k, message: 'not a key of the licence.dg6 encoder', hint: 'portrait' };
    },
    encode: (ctx, content) => {
      const ref = content.args.portrait as string;
      const portrait = ctx.earlier(ref);
      if (portrait === undefined) throw new PrepareError(ctx.holderId, `${ctx.application.name}/${ctx.file.name}`, `the portrait ${ref} is not on this card (no face, or that application comes later in the profile)`);
      return guarded(ctx, () => encodePortraitReference(portraitReference(portrait.application.aid, portrait.spec.fid, portrait.bytes)));
    },
  },
  {
    name: 'finance.accounts',
    description: 'EF.ACCOUNTS: a record per current or savings account',
    check: recordFile('finance.accounts'),
    encode: (ctx) => guarded(ctx, () => financeRecords(ctx.holder.financialAccounts).accounts),
  },
  {
    name: 'finance.cards',
    description: 'EF.CARDS: a record per payment card (masked PAN only)',
    check: recordFile('finance.cards'),
    encode: (ctx) => guarded(ctx, () => financeRecords(ctx.holder.financialAccounts).cards),
  },
  {
    name: 'eservices.keys',
    description: 'EF.KEYS: a record per key pair of the application (label, usage, algorithm, reference, certificate FID, PIN)',
    check: recordFile('eservices.keys'),
    encode: (ctx) =>
      guarded(ctx, () => {
        const held = ctx.holder.eServices?.keyPairs ?? [];
        return ctx.application.keyPairs.flatMap((k) => {
          const h = held.find((x) => x.label === (k.holderKeyPair ?? k.name));
          if (h === undefined) return [];
          const cert = k.certify === undefined ? undefined : ctx.application.files.find((f) => f.name === k.certify!.file);
          const pinRef = conditionPins(k.use)[0];
          if (pinRef === undefined) throw new PrepareError(ctx.holderId, `${ctx.application.name}/${ctx.file.name}`, `key pair ${k.name}: its use condition names no PIN`);
          const d: KeyDescriptor = { label: h.label, usage: h.usage, algorithm: algorithmOf(k, h), keyRef: k.ref, ...(cert !== undefined ? { certificateFid: cert.fid } : {}), pinRef };
          return [encodeKeyRecord(d)];
        });
      }),
  },
  {
    name: 'icao.dg14',
    description: 'DG14: Chip Authentication (chipAuthentication: key pair) and ECDSA Active Authentication (activeAuthentication: key pair) infos, from the keys generated on the card',
    check: (content, file) => {
      for (const [k, v] of Object.entries(content.args)) {
        if (k !== 'chipAuthentication' && k !== 'activeAuthentication') return { key: k, message: 'not a key of the icao.dg14 encoder', hint: 'chipAuthentication, activeAuthentication (key pair names)' };
        const unknown = keyPairProblem(k, v, file.keyPairs);
        if (unknown !== undefined) return unknown;
      }
      return content.args.chipAuthentication === undefined ? { key: 'chipAuthentication', message: 'the icao.dg14 encoder needs chipAuthentication: the key pair name' } : undefined;
    },
    encode: (ctx) => runtimeOnly(ctx),
    runtime: (ctx, content, keys) => {
      const ca = publicKey(ctx, keys, content.args.chipAuthentication as string);
      // ICAO 9303-11 §9.2.5/§9.2.6: the CA key with explicit domain parameters, as a reader needs them for brainpool curves.
      const infos: SecurityInfo[] = [
        chipAuthenticationInfo({ protocol: CA_OID.ECDH_AES_128, version: 1 }),
        chipAuthenticationPublicKeyInfo({ protocol: PK_OID.ECDH, subjectPublicKeyInfo: encodeSubjectPublicKeyInfo(ca, { explicit: true }) }),
      ];
      const aa = content.args.activeAuthentication as string | undefined;
      if (aa !== undefined && publicKey(ctx, keys, aa).type === 'ec') infos.push(aaSecurityInfo('sha256'));
      return encodeDg14({ securityInfos: encodeSecurityInfos(infos) });
    },
  },
  {
    name: 'icao.dg15',
    description: 'DG15: the Active Authentication public key (keyPair: key pair), from the key generated on the card',
    check: (content, file) => {
      if (content.args.keyPair === undefined) return { key: 'keyPair', message: 'the icao.dg15 encoder needs keyPair: the key pair name' };
      const k = Object.keys(content.args).find((x) => x !== 'keyPair');
      if (k !== undefined) return { key: k, message: 'not a key of the icao.dg15 encoder', hint: 'keyPair' };
      return keyPairProblem('keyPair', content.args.keyPair, file.keyPairs);
    },
    encode: (ctx) => runtimeOnly(ctx),
    runtime: (ctx, content, keys) => dg15Content(encodeSubjectPublicKeyInfo(publicKey(ctx, keys, content.args.keyPair as string))),
  },
];

/**
 * A run-time encoder's key pair must be one of the application's `keyPairs`: checked when the
 * profile loads, since at run time the card is already half written.
 */
function keyPairProblem(key: string, v: unknown, keyPairs: readonly string[]): EncoderProblem | undefined {
  if (typeof v !== 'string') return { key, message: 'expected a key pair name' };
  if (keyPairs.includes(v)) return undefined;
  return { key, message: `no key pair "${v}" in this application`, hint: keyPairs.length > 0 ? `one of: ${keyPairs.join(', ')}` : 'add it under the application\'s keyPairs' };
}

function runtimeOnly(ctx: EncoderContext): never {
  throw new PrepareError(ctx.holderId, `${ctx.application.name}/${ctx.file.name}`, 'made during the run from a key generated on the card; not available in data preparation');
}

function publicKey(ctx: EncoderContext, keys: ReadonlyMap<string, PublicKeyInfo>, name: string): PublicKeyInfo {
  const k = keys.get(name);
  if (k === undefined) throw new PrepareError(ctx.holderId, `${ctx.application.name}/${ctx.file.name}`, `no key pair "${name}" was generated in this application`);
  return k;
}

/** The EF.KEYS algorithm of a profile key pair (the holder's entry names the same one). */
function algorithmOf(k: { readonly type: 'ec' | 'rsa'; readonly curve: string | undefined; readonly bits: number | undefined }, h: EServiceKeyPair): EServiceKeyPair['algorithm'] {
  const a = k.type === 'ec' ? (k.curve === 'P-384' ? 'ecdsa-p384' : 'ecdsa-p256') : k.bits === 3072 ? 'rsa-3072' : 'rsa-2048';
  if (a !== h.algorithm) throw new AppDataError(`eServices.keyPairs ${h.label}: the holder asks for ${h.algorithm}, the profile's key pair is ${a}`);
  return a;
}

for (const e of APP_ENCODERS) registerEncoder(e);
