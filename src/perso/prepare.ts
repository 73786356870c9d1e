/**
 * Data preparation (pure: no card): a validated profile and holder → every file's bytes, the
 * security objects signed by the document signer, PIN values (from holder data or generated),
 * symmetric keys from the operator's key material, and the list of key pairs to generate on the
 * card. The result feeds the plan (`plan.ts`); generated PINs also go to the PIN mailer and
 * nowhere else.
 *
 * @example
 * const prepared = prepareCard(profile, holder, { signers: { 'document-signer': pki.documentSigner } });
 * prepared.applications[1].files.map((f) => [f.spec.name, f.size])
 */
import { randomInt } from 'node:crypto';
import { concatBytes } from '../bytes/index.js';
import { buildSod } from '../lds/sod.js';
import type { CertifiedKey } from '../lds/pki.js';
import type { Holder } from '../holder/types.js';
import { getEncoder, holderField, PrepareError, type EncoderContext } from './encoders.js';
import { operatorKey, type OperatorKeys } from './operator-keys.js';
import type { ApplicationSpec, FileSpec, KeyPairSpec, ProfilePinSpec, Profile, SecretKeySpec, SecurityObjectSpec, SIGNERS } from './profile.js';

export type SignerName = keyof typeof SIGNERS;

export interface PrepareOptions {
  /** document-signer (EF.SOD), card-issuer (certificates of on-card keys). */
  readonly signers?: Readonly<Partial<Record<SignerName, CertifiedKey>>>;
  readonly operatorKeys?: OperatorKeys;
  /** DG12's personalization time and EF.SOD's signing time (default: now). */
  readonly now?: Date;
  /** Default: identity.idNumber. */
  readonly holderId?: string;
  /** Random digit source for generated PINs (default: crypto.randomInt). */
  readonly randomDigit?: () => number;
}

export interface PreparedFile {
  readonly spec: FileSpec;
  /** Transparent EF content (undefined for a certificate written at run time). */
  readonly data: Uint8Array | undefined;
  /** Record EF content, record 1 first as appended. */
  readonly records: readonly Uint8Array[] | undefined;
  /** Transparent EF size in bytes (for a certificate: unknown until issued, 0). */
  readonly size: number;
  /** Written at run time from a key generated on the card. */
  readonly certificateOf?: KeyPairSpec;
  /** Made during the run by its encoder's `runtime` from the keys generated on the card (DG14, DG15). */
  readonly runtime?: true;
  /**
   * A security object that covers files made at run time (certificates of on-card keys, DG14,
   * DG15): signed by the runner once they exist. `known` holds the data groups prepared now;
   * `later` maps the run-time files to their data group numbers.
   */
  readonly signLater?: {
    readonly securityObject: SecurityObjectSpec;
    readonly signer: CertifiedKey;
    readonly known: ReadonlyMap<number, Uint8Array>;
    readonly later: ReadonlyMap<string, number>;
  };
}

export interface PreparedApplication {
  readonly spec: ApplicationSpec;
  /** DF FID: given, or assigned in profile order from 7F00. */
  readonly dfFid: number;
  readonly files: readonly PreparedFile[];
  /** Key pairs to generate for this holder. */
  readonly keyPairs: readonly KeyPairSpec[];
}

export interface PreparedPin {
  readonly spec: ProfilePinSpec;
  readonly value: Uint8Array;
  readonly generated: boolean;
}

export interface PreparedKey {
  readonly spec: SecretKeySpec;
  readonly value: Uint8Array;
}

export interface PreparedCard {
  readonly profile: Profile;
  /** The holder document (run-time encoders read it). */
  readonly holder: Holder;
  readonly holderId: string;
  /** Latin name as printed ("SPECIMEN, AMINA HASSAN"). */
  readonly holderName: string;
  readonly applications: readonly PreparedApplication[];
  /** PUKs before the PINs they unblock. */
  readonly pins: readonly PreparedPin[];
  readonly keys: readonly PreparedKey[];
  /** The certifier of on-card keys, when the profile certifies any. */
  readonly cardIssuer: CertifiedKey | undefined;
  readonly now: Date;
}

/** DF FIDs of the profile's applications (card-level: the MF). Same rule as `card.install`. */
export function applicationDfFids(profile: Profile): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>(profile.applications.flatMap((a) => (a.fid !== undefined ? [a.fid] : [])));
  let next = 0x7f00;
  for (const a of profile.applications) {
    if (a.aid.length === 0) {
      out.set(a.name, 0x3f00);
      continue;
    }
    if (a.fid !== undefined) {
      out.set(a.name, a.fid);
      continue;
    }
    while (used.has(next)) next++;
    used.add(next);
    out.set(a.name, next);
  }
  return out;
}

function present(holder: Holder, from: readonly string[]): string | undefined {
  return from.find((f) => holderField(holder, f) === undefined);
}

function pinValue(p: ProfilePinSpec, holder: Holder, holderId: string, digit: () => number): PreparedPin {
  if (p.value === 'generated') {
    let s = '';
    for (let i = 0; i < p.digits; i++) s += String(digit());
    return { spec: p, value: new TextEncoder().encode(s), generated: true };
  }
  const raw = holderField(holder, p.value.holder);
  if (raw === undefined) throw new PrepareError(holderId, `pins.${p.name}`, `holder field ${p.value.holder} is missing`);
  let digits = String(raw).replace(/\D/g, '');
  if (p.value.last !== undefined) digits = digits.slice(-p.value.last);
  if (digits.length < p.minLength || digits.length > p.maxLength) {
    throw new PrepareError(holderId, `pins.${p.name}`, `${p.value.holder} gives ${digits.length} digits, the PIN takes ${p.minLength}..${p.maxLength}`);
  }
  return { spec: p, value: new TextEncoder().encode(digits), generated: false };
}

function recordsFor(spec: FileSpec, out: Uint8Array | readonly Uint8Array[], holderId: string, where: string): Uint8Array[] {
  const list = out instanceof Uint8Array ? [out] : [...out];
  const len = spec.recordLength!;
  if (list.length > spec.records!) throw new PrepareError(holderId, where, `${list.length} records, the file holds ${spec.records}`);
  return list.map((r, i) => {
    if (r.length > len) throw new PrepareError(holderId, where, `record ${i + 1} is ${r.length} bytes, records are at most ${len}`);
    if (spec.type === 'linear-variable' || r.length === len) return r;
    // Fixed-size records: padded with 00, which ISO/IEC 7816-4 §6.3 allows around BER-TLV objects.
    const p = new Uint8Array(len);
    p.set(r);
    return p;
  });
}

/** Prepares one card for one holder. Throws {@link PrepareError} naming holder, file and field. */
export function prepareCard(profile: Profile, holder: Holder, opts: PrepareOptions = {}): PreparedCard {
  const holderId = opts.holderId ?? holder.identity.idNumber;
  const now = opts.now ?? new Date();
  const fids = applicationDfFids(profile);
  const signer = (name: string, where: string): CertifiedKey => {
    const s = opts.signers?.[name as SignerName];
    if (s === undefined) throw new PrepareError(holderId, where, `signer ${name} not given (${name === 'document-signer' ? '--signer' : '--issuer'})`);
    return s;
  };

  // Files of the applications prepared so far, for encoders that refer to them (licence DG6).
  const earlier = new Map<string, { spec: FileSpec; application: ApplicationSpec; bytes: Uint8Array }>();
  const applications: PreparedApplication[] = profile.applications.map((app) => {
    const keyPairs = app.keyPairs.filter(
      (k) => k.holderKeyPair === undefined || (holder.eServices?.keyPairs ?? []).some((h) => h.label === k.holderKeyPair),
    );
    // Which files this holder gets: content fields present (or optional), certificates of
    // generated keys, security objects over at least one present file.
    const names = new Set<string>();
    for (const f of app.files) {
      if (f.content !== undefined) {
        const missing = present(holder, f.content.from);
        if (missing === undefined) names.add(f.name);
        else if (!f.content.optional) throw new PrepareError(holderId, `${app.name}/${f.name}`, `holder field ${missing} is missing (the file is made from it)`);
      } else if (!app.securityObjects.some((s) => s.file === f.name) && !app.keyPairs.some((k) => k.certify?.file === f.name)) {
        names.add(f.name); // an empty file the profile asks for
      }
    }
    for (const k of keyPairs) if (k.certify !== undefined) names.add(k.certify.file);
    for (const s of app.securityObjects) if ([...s.covers.keys()].some((n) => names.has(n))) names.add(s.file);

    const encoded = new Map<string, PreparedFile>();
    for (const f of app.files) {
      if (!names.has(f.name) || app.securityObjects.some((s) => s.file === f.name)) continue;
      const where = `${app.name}/${f.name}`;
      const cert = keyPairs.find((k) => k.certify?.file === f.name);
      if (cert !== undefined) {
        encoded.set(f.name, { spec: f, data: undefined, records: undefined, size: f.size === 'fit' ? 0 : f.size, certificateOf: cert });
        continue;
      }
      if (f.content !== undefined && getEncoder(f.content.encoder)!.runtime !== undefined) {
        if (f.type !== 'transparent') throw new PrepareError(holderId, where, `the ${f.content.encoder} encoder makes a transparent EF`);
        encoded.set(f.name, { spec: f, data: undefined, records: undefined, size: f.size === 'fit' ? 0 : f.size, runtime: true });
        continue;
      }
      let out: Uint8Array | readonly Uint8Array[] = new Uint8Array(0);
      if (f.content !== undefined) {
        const ctx: EncoderContext = { holder, holderId, application: app, file: f, present: names, now, earlier: (ref) => earlier.get(ref) };
        out = getEncoder(f.content.encoder)!.encode(ctx, f.content);
      }
      if (f.type !== 'transparent') {
        encoded.set(f.name, { spec: f, data: undefined, records: recordsFor(f, out, holderId, where), size: 0 });
        continue;
      }
      const data = out instanceof Uint8Array ? out : (out[0] ?? new Uint8Array(0));
      const size = f.size === 'fit' ? data.length : f.size;
      if (data.length > size) throw new PrepareError(holderId, where, `content is ${data.length} bytes, the file holds ${size}`);
      if (size > 0x7fff) throw new PrepareError(holderId, where, `content is ${size} bytes, a transparent EF holds at most 32767`);
      encoded.set(f.name, { spec: f, data, records: undefined, size });
    }
    for (const s of app.securityObjects) {
      if (!names.has(s.file)) continue;
      const dgs = new Map<number, Uint8Array>();
      const later = new Map<string, number>();
      for (const [name, n] of s.covers) {
        const f = encoded.get(name);
        // A record EF is hashed as its records concatenated, in record order.
        if (f?.data !== undefined) dgs.set(n, f.data);
        else if (f?.records !== undefined) dgs.set(n, concatBytes(...f.records));
        else if (f?.certificateOf !== undefined || f?.runtime === true) later.set(name, n);
      }
      const spec = app.files.find((f) => f.name === s.file)!;
      if (later.size > 0) {
        const signLater = { securityObject: s, signer: signer(s.signer, `${app.name}/${s.file}`), known: dgs, later };
        encoded.set(s.file, { spec, data: undefined, records: undefined, size: spec.size === 'fit' ? 0 : spec.size, signLater });
        continue;
      }
      const data = buildSod(dgs, signer(s.signer, `${app.name}/${s.file}`), { hashAlgorithm: s.hash, signingTime: now });
      const size = spec.size === 'fit' ? data.length : spec.size;
      if (data.length > size) throw new PrepareError(holderId, `${app.name}/${s.file}`, `the security object is ${data.length} bytes, the file holds ${size}`);
      encoded.set(s.file, { spec, data, records: undefined, size });
    }
    // Profile order.
    const files = app.files.flatMap((f) => {
      const e = encoded.get(f.name);
      return e === undefined ? [] : [e];
    });
    for (const f of files) {
      const bytes = f.data ?? (f.records !== undefined ? concatBytes(...f.records) : undefined);
      if (bytes !== undefined) earlier.set(`${app.name}/${f.spec.name}`, { spec: f.spec, application: app, bytes });
    }
    return { spec: app, dfFid: fids.get(app.name)!, files, keyPairs };
  });

  const digit = opts.randomDigit ?? ((): number => randomInt(10));
  const pukNames = new Set(profile.pins.flatMap((p) => (p.puk !== undefined ? [p.puk] : [])));
  const ordered = [...profile.pins.filter((p) => pukNames.has(p.name)), ...profile.pins.filter((p) => !pukNames.has(p.name))];
  const pins = ordered.map((p) => pinValue(p, holder, holderId, digit));
  const keys = profile.keys.map((k) => ({ spec: k, value: operatorKey(opts.operatorKeys ?? new Map(), k.value, holderId) }));
  const certifies = applications.some((a) => a.keyPairs.some((k) => k.certify !== undefined));
  const i = holder.identity;
  return {
    profile,
    holder,
    holderId,
    holderName: `${i.primaryIdentifier}${i.secondaryIdentifier !== undefined ? `, ${i.secondaryIdentifier}` : ''}`,
    applications,
    pins,
    keys,
    cardIssuer: certifies ? signer('card-issuer', 'keyPairs.certify') : undefined,
    now,
  };
}

/** The PIN mailer entry of a prepared card: generated values only (holder-derived ones the holder knows). */
export function pinMailerEntry(p: PreparedCard, chipSerial?: string): { holderId: string; name: string; serial?: string; pins: Record<string, string> } | undefined {
  const gen = p.pins.filter((x) => x.generated);
  if (gen.length === 0) return undefined;
  return {
    holderId: p.holderId,
    name: p.holderName,
    ...(chipSerial !== undefined ? { serial: chipSerial } : {}),
    pins: Object.fromEntries(gen.map((x) => [x.spec.name, new TextDecoder().decode(x.value)])),
  };
}
