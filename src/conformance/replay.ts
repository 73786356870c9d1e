/**
 * Replaying many vector files: each on a fresh simulated card (from its `card:` header, or the
 * card the caller overrides it with) unless one card is shared, or all on one transport (a card in
 * a reader). Everything a run needs — card images, applet modules, secrets — is prepared and
 * checked for every file before the first APDU is sent, so a bad file is reported with its line
 * and nothing runs.
 */
import { BUILTIN_APPLETS } from '../apps/builtin.js';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseAtr } from '../atr/index.js';
import { CardImageError, loadCard } from '../card/image.js';
import { createCard, type Card } from '../card/os.js';
import type { AppletFactory } from '../card/applet.js';
import { AppletModuleError, combineAppletModules, importAppletModule, type AppletModule } from '../apps/modules.js';
import { InProcessTransport } from '../transport/in-process.js';
import type { Transport } from '../transport/types.js';
import { CONFORMANCE_APPLETS } from './fixtures.js';
import { checkVectorInputs, runVector, VectorSetupError, type RunOptions, type StepResult, type VectorRun } from './runner.js';
import { personalizeProfileCard, ProfileCardError, type ProfileCard } from './profile-card.js';
import { VectorError, type Capability, type CardSpec, type Vector } from './vector.js';

/** A profile and holder data to personalize the card from (`--profile P --data D`). */
export interface ProfileSource {
  readonly profile: string;
  readonly data: string;
}

/** Where the files run. */
export type ReplayTarget =
  /**
   * Simulated cards; `card` (`--card IMAGE`) or `profile` (`--profile P --data D`) replaces every
   * file's `card:` header.
   */
  | {
      readonly kind: 'simulator';
      readonly card?: { readonly path: string; readonly text: string };
      readonly profile?: ProfileSource;
      readonly shared?: boolean;
    }
  /** One connected transport for all files (a card in a reader); each file starts with a warm reset. */
  | { readonly kind: 'transport'; readonly transport: Transport; readonly name: string };

export interface ReplayOptions extends Omit<RunOptions, 'onStep' | 'onEcho'> {
  readonly target: ReplayTarget;
  /** Bytes the simulated card's RNG hands out first; overrides the files' `rng:`. */
  readonly rng?: Uint8Array;
  /** Applet types from the caller's modules (`--applet`), besides the built-in fixtures. */
  readonly applets?: readonly AppletFactory[];
  /** The key card images' storage keys are wrapped under (`CardImageOptions`), for `card: image` and `--card`. */
  readonly imageKey?: Uint8Array;
  /** Capabilities to treat as absent (`--without`): files requiring them are skipped. */
  readonly without?: readonly string[];
  /** Wraps each file's base transport (tracing, recording). */
  readonly wrap?: (t: Transport, v: Vector) => Transport;
  readonly onFileStart?: (v: Vector) => void;
  readonly onStep?: (r: StepResult, v: Vector) => void;
  readonly onEcho?: (text: string, line: number, v: Vector) => void;
  readonly onFileEnd?: (r: FileResult) => void;
}

export type FileVerdict = 'pass' | 'fail' | 'skipped';

export interface FileResult {
  readonly vector: Vector;
  readonly verdict: FileVerdict;
  /** Why the file did not run (a capability). */
  readonly skipReason: string | undefined;
  readonly atr: Uint8Array | undefined;
  readonly run: VectorRun | undefined;
}

export interface ReplayResult {
  readonly files: readonly FileResult[];
  readonly steps: { readonly passed: number; readonly failed: number; readonly errors: number; readonly skipped: number; readonly sent: number };
  readonly ms: number;
  /** True when no file failed (skipped files do not fail a replay). */
  readonly ok: boolean;
  /** The transport failure that ended a run on a shared transport, if one did. */
  readonly aborted: Error | undefined;
}

/** What {@link prepareReplay} resolved for one file. */
interface Prepared {
  readonly vector: Vector;
  readonly makeCard: (() => Card) | undefined;
  readonly personalization: boolean | undefined;
  /**
   * Values the card defines for the file (a profile card's PINs and test CSCA): given to the run
   * as secrets, so commands use them and reports mask them.
   */
  readonly values?: Readonly<Record<string, Uint8Array>>;
}

export interface ReplayPlan {
  readonly files: readonly Prepared[];
}

/** What {@link prepareReplay} needs to know: the run's options, and whether cards are simulated. */
export type PrepareOptions = Pick<ReplayOptions, 'secrets' | 'rng' | 'applets' | 'imageKey'> & {
  /** Simulated cards (optionally all from one image), or a transport given to {@link runReplay}. */
  readonly target:
    | { readonly kind: 'simulator'; readonly card?: { readonly path: string; readonly text: string }; readonly profile?: ProfileSource }
    | { readonly kind: 'transport' };
};

/**
 * Checks and resolves everything the files need: card images (read and validated), applet
 * modules, the secrets. Returns every problem found, each naming the file and line.
 */
export async function prepareReplay(vectors: readonly Vector[], opts: PrepareOptions): Promise<{ plan: ReplayPlan; errors: Error[] }> {
  const errors: Error[] = [];
  const images = new Map<string, string>();
  const modules = new Map<string, AppletModule>();
  const profiles = new Map<string, Promise<ProfileCard>>();
  const files: Prepared[] = [];
  for (const v of vectors) {
    try {
      const applets = await appletsFor(v, opts, modules);
      const card = await cardFor(v, opts, applets, images, profiles);
      checkVectorInputs(v, { secrets: withCardValues(opts.secrets, card.values) });
      files.push({ vector: v, ...card });
    } catch (e) {
      if (e instanceof VectorError || e instanceof VectorSetupError) errors.push(e);
      else throw e;
    }
  }
  return { plan: { files }, errors };
}

async function appletsFor(v: Vector, opts: PrepareOptions, cache: Map<string, AppletModule>): Promise<AppletFactory[]> {
  const loaded: AppletModule[] = [];
  for (const path of v.header.applets) {
    let m = cache.get(path);
    if (m === undefined) {
      try {
        m = await importAppletModule(path);
      } catch (e) {
        if (e instanceof AppletModuleError) throw new VectorError(v.source, 0, `applet module ${e.message}`);
        throw e;
      }
      cache.set(path, m);
    }
    loaded.push(m);
  }
  // chipwright's own applications and the conformance fixtures, unless a module redefines a type.
  const explicit = new Set([...(opts.applets ?? []), ...loaded.flatMap((m) => m.factories)].map((f) => f.type));
  const builtIn: AppletModule = {
    specifier: '(chipwright built-in applets)',
    url: '',
    factories: [...CONFORMANCE_APPLETS, ...BUILTIN_APPLETS].filter((f) => !explicit.has(f.type)),
  };
  const given: AppletModule = { specifier: '--applet', url: '', factories: opts.applets ?? [] };
  try {
    return combineAppletModules([builtIn, given, ...loaded]);
  } catch (e) {
    if (e instanceof AppletModuleError) throw new VectorError(v.source, 0, e.message);
    throw e;
  }
}

/** The run's secrets with the card's values; the card's win (they are what the card holds). */
function withCardValues(secrets: Readonly<Record<string, Uint8Array>> | undefined, values: Readonly<Record<string, Uint8Array>> | undefined): Readonly<Record<string, Uint8Array>> | undefined {
  return values === undefined ? secrets : { ...secrets, ...values };
}

async function cardFor(
  v: Vector,
  opts: PrepareOptions,
  applets: readonly AppletFactory[],
  images: Map<string, string>,
  profiles: Map<string, Promise<ProfileCard>>,
): Promise<Omit<Prepared, 'vector'>> {
  const target = opts.target;
  if (target.kind === 'transport') return { makeCard: undefined, personalization: undefined };
  const rng = opts.rng ?? v.header.rng;
  const cardOpts = { applets, ...(rng !== undefined ? { rng } : {}), ...(opts.imageKey !== undefined ? { imageKey: opts.imageKey } : {}) };
  const fail = (reason: string): never => {
    throw new VectorError(v.source, v.header.cardLine, reason);
  };
  const fromImage = (text: string, path: string, onError: (reason: string) => never, types: readonly AppletFactory[] = applets): { makeCard: () => Card; personalization: boolean } => {
    const o = { ...cardOpts, applets: types };
    let first: Card;
    try {
      first = loadCard(text, o, path);
    } catch (e) {
      if (e instanceof CardImageError) return onError(`card image ${e.message}`);
      throw e;
    }
    // Loaded once to validate; later cards are fresh loads of the same text.
    let spare: Card | undefined = first;
    return {
      makeCard: () => {
        if (spare !== undefined) {
          const c = spare;
          spare = undefined;
          return c;
        }
        return loadCard(text, o, path);
      },
      personalization: first.state.lifeCycle === 'personalization',
    };
  };
  /** Personalizes once per (profile, data) in this replay; every file gets a clone of the image. */
  const fromProfile = async (src: ProfileSource, onError: (reason: string) => never): Promise<Omit<Prepared, 'vector'>> => {
    const key = `${src.profile}\0${src.data}`;
    let pending = profiles.get(key);
    if (pending === undefined) {
      pending = personalizeProfileCard(src.profile, src.data);
      profiles.set(key, pending);
    }
    let pc: ProfileCard;
    try {
      pc = await pending;
    } catch (e) {
      if (e instanceof ProfileCardError) return onError(e.message);
      throw e;
    }
    const types = new Set(applets.map((f) => f.type));
    const withProfile = [...applets, ...pc.applets.filter((f) => !types.has(f.type))];
    const made = fromImage(pc.image, `${src.profile} + ${src.data}`, onError, withProfile);
    return { ...made, values: pc.values };
  };
  if (target.profile !== undefined) {
    return fromProfile(target.profile, (reason) => {
      throw new VectorSetupError(`--profile ${reason}`);
    });
  }
  if (target.card !== undefined) {
    const card = target.card;
    return fromImage(card.text, card.path, (reason) => {
      throw new VectorSetupError(`--card ${reason}`);
    });
  }
  const spec: CardSpec = v.header.card;
  switch (spec.kind) {
    case 'blank':
      return { makeCard: () => createCard(cardOpts), personalization: true };
    case 'image': {
      let text = images.get(spec.path);
      if (text === undefined) {
        try {
          text = readFileSync(spec.path, 'utf8');
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          return fail(`card: image ${spec.written}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(e)})`}`);
        }
        images.set(spec.path, text);
      }
      return fromImage(text, spec.written, fail);
    }
    case 'profile':
      return fromProfile({ profile: spec.profile, data: spec.data }, (reason) => fail(`card: ${reason}`));
    case 'external':
      return fail('card: external: give the card to run on with --card IMAGE or --reader NAME');
  }
}

/** Why a file cannot run on a card with this ATR, or undefined when it can. */
function missingCapability(req: readonly Capability[], atr: Uint8Array, personalization: boolean | undefined, without: readonly string[]): string | undefined {
  let caps;
  try {
    caps = parseAtr(atr).capabilities;
  } catch {
    caps = undefined;
  }
  for (const c of req) {
    if (without.includes(c.name)) return `requires ${c.name}, excluded with --without ${c.name}`;
    switch (c.name) {
      case 'extended-length':
        if (caps !== undefined && !caps.extendedLength) return 'requires extended-length; the card\'s ATR does not announce extended Lc/Le';
        break;
      case 'chaining':
        if (caps !== undefined && !caps.commandChaining) return 'requires chaining; the card\'s ATR does not announce command chaining';
        break;
      case 'logical-channels': {
        const max = caps?.logicalChannels.max;
        // ISO/IEC 7816-4 table 87: the count is coded up to 8, where 8 means "eight or more".
        if (max !== undefined && max < Math.min(c.count ?? 2, 8)) return `requires ${c.count ?? 2} logical channels; the card's ATR announces ${max}`;
        break;
      }
      case 'personalization':
        if (personalization === false) return 'requires a card in personalization state; this card is past it';
        break;
      default:
        break;
    }
  }
  return undefined;
}

/**
 * Runs prepared files in order.
 *
 * @example
 * const { plan, errors } = await prepareReplay(vectors, { target: { kind: 'simulator' } });
 * if (errors.length === 0) { const r = await runReplay(plan, { target: { kind: 'simulator' } }); r.ok; }
 */
export async function runReplay(plan: ReplayPlan, opts: ReplayOptions): Promise<ReplayResult> {
  const t0 = performance.now();
  const out: FileResult[] = [];
  const totals = { passed: 0, failed: 0, errors: 0, skipped: 0, sent: 0 };
  const target = opts.target;
  const shared = target.kind === 'simulator' && target.shared === true;
  let sharedCard: Card | undefined;
  let aborted: Error | undefined;
  for (const p of plan.files) {
    const v = p.vector;
    opts.onFileStart?.(v);
    let base: Transport;
    let card: Card | undefined;
    if (target.kind === 'transport') {
      base = target.transport;
    } else {
      card = shared ? (sharedCard ??= p.makeCard!()) : p.makeCard!();
      base = new InProcessTransport(card);
    }
    const t = opts.wrap?.(base, v) ?? base;
    let atr: Uint8Array;
    try {
      atr = target.kind === 'transport' ? await t.reset() : await t.connect();
    } catch (e) {
      if (target.kind === 'transport') {
        aborted = e instanceof Error ? e : new Error(String(e));
        break;
      }
      throw e;
    }
    const personalization = card !== undefined ? card.state.lifeCycle === 'personalization' : undefined;
    const skip = missingCapability(v.header.requires, atr, personalization, opts.without ?? []);
    let result: FileResult;
    if (skip !== undefined) {
      result = { vector: v, verdict: 'skipped', skipReason: skip, atr, run: undefined };
    } else {
      const run = await runVector(v, t, {
        ...opts,
        secrets: withCardValues(opts.secrets, p.values),
        onStep: opts.onStep ? (r): void => opts.onStep!(r, v) : undefined,
        onEcho: opts.onEcho ? (text, line): void => opts.onEcho!(text, line, v) : undefined,
      } as RunOptions);
      totals.passed += run.passed;
      totals.failed += run.failed;
      totals.errors += run.errors;
      totals.skipped += run.skipped;
      totals.sent += run.sent;
      result = { vector: v, verdict: run.failed + run.errors > 0 ? 'fail' : 'pass', skipReason: undefined, atr, run };
      if (run.aborted !== undefined && target.kind === 'transport') aborted = run.aborted;
    }
    if (card !== undefined && card.isPowered && !shared) await t.disconnect();
    out.push(result);
    opts.onFileEnd?.(result);
    if (aborted !== undefined) break;
  }
  return { files: out, steps: totals, ms: performance.now() - t0, ok: out.every((f) => f.verdict !== 'fail') && aborted === undefined, aborted };
}
