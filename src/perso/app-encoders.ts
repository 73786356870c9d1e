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
 *
 * Importing this module registers them (`profile.ts` does).
 */
import { AppDataError } from '../apps/health/common.js';
import { healthRecords } from '../apps/health/records.js';
import { encodeLicenceDg1 } from '../apps/licence/dg1.js';
import { holderLicenceDg1 } from '../apps/licence/data.js';
import { encodePortraitReference, portraitReference } from '../apps/licence/dg6.js';
import { financeRecords } from '../apps/finance/records.js';
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
];

for (const e of APP_ENCODERS) registerEncoder(e);
